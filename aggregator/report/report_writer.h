#pragma once
// The operator report of one site: index.html (self-contained, viewable offline: inline CSS and SVG, no
// external URL) and one CSV per table, rendered from a report document (docs/schema/report-document.schema.json).
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace footfall::aggregator {

// Creates out_dir if missing and (over)writes index.html and the CSV files. Missing or mistyped members of
// the document show as "no data"; unknown members are ignored (tables keep their extra scalar columns).
// Throws std::runtime_error when a file cannot be written.
// One CSV file of the report: its name (days.csv, ...) and its text.
struct ReportCsv {
  std::string file;
  std::string text;
};

// The report's tables as CSV, in the order the page shows them (what write_report writes).
std::vector<ReportCsv> report_csv_files(const nlohmann::json& document);

void write_report(const nlohmann::json& document, const std::filesystem::path& out_dir);

}  // namespace footfall::aggregator
