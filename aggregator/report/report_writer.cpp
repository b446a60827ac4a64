#include "aggregator/report/report_writer.h"

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/report/csv_table.h"
#include "aggregator/report/report_page.h"
#include "aggregator/report/report_text.h"

namespace footfall::aggregator {
namespace {

using nlohmann::json;
using report::array_member;
using report::csv_table;
using report::member;

const std::vector<std::string> kFigureColumns = {
    "awareness",     "acquisition",         "activation",     "capture_rate", "activation_rate",
    "retain_rate",   "transactions",        "revenue",        "conversion",   "revenue_per_visitor",
    "refer_estimate", "passers_by",         "visitors",       "bounces",      "new_visitors",
    "returning_visitors", "dwell_mean_min", "dwell_median_min", "peak_hour",  "peak_occupancy",
    "residents"};

// summary.csv: one row per figure, with the period it covers.
json summary_rows(const json& document) {
  json rows = json::array();
  const json* summary = member(document, "summary");
  std::vector<std::string> keys = kFigureColumns;
  if (summary != nullptr && summary->is_object()) {
    for (const auto& [key, value] : summary->items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  for (const auto& key : keys) {
    const json* value = summary != nullptr ? member(*summary, key) : nullptr;
    rows.push_back({{"figure", key}, {"value", value != nullptr ? *value : json(nullptr)}});
  }
  return rows;
}

// overlap.csv: one row per pair of sites.
json overlap_rows(const json& document) {
  json rows = json::array();
  const json* overlap = member(document, "overlap");
  if (overlap == nullptr || !overlap->is_object()) return rows;
  const json& sites = array_member(*overlap, "sites");
  const json& matrix = array_member(*overlap, "matrix");
  const json& shared = array_member(*overlap, "shared");
  for (std::size_t i = 0; i < sites.size() && i < matrix.size(); ++i) {
    if (!matrix[i].is_array()) continue;
    for (std::size_t j = 0; j < sites.size() && j < matrix[i].size(); ++j) {
      json row = {{"site", sites[i]}, {"also_at", sites[j]}, {"share", matrix[i][j]}};
      if (i < shared.size() && shared[i].is_array() && j < shared[i].size()) row["shared"] = shared[i][j];
      rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace

std::vector<ReportCsv> report_csv_files(const json& document) {
  std::vector<std::string> day_columns{"date"};
  day_columns.insert(day_columns.end(), kFigureColumns.begin(), kFigureColumns.end());
  day_columns.push_back("length_h");  // 23 or 25 on the days the clocks change
  const json* zone_flow = member(document, "zone_flow");
  const json no_object = json::object();
  const json& flow = zone_flow != nullptr ? *zone_flow : no_object;
  const json* retention = member(document, "retention");

  struct Table {
    const char* file;
    json rows;
    std::vector<std::string> columns;
  };
  const Table tables[] = {
      {"summary.csv", summary_rows(document), {"figure", "value"}},
      {"days.csv", array_member(document, "days"), day_columns},
      {"hours.csv", array_member(document, "hours"),
       {"start", "utc_offset_min", "passers_by", "visitors", "arrivals", "occupancy_max"}},  // 02:00 twice in autumn
      {"occupancy.csv", array_member(document, "occupancy"), {"at", "devices"}},
      {"dwell.csv", array_member(document, "dwell_histogram"), {"bucket", "visitors"}},
      {"funnel.csv", array_member(document, "funnel"), {"stage", "value"}},
      {"zone_flow.csv", array_member(flow, "transitions"), {"from", "to", "count"}},
      {"zone_entry.csv", array_member(flow, "entry"), {"zone", "count"}},
      {"zone_exit.csv", array_member(flow, "exit"), {"zone", "count"}},
      {"new_vs_returning.csv", array_member(document, "new_vs_returning"), {"date", "new", "returning"}},
      {"retention.csv", retention != nullptr ? array_member(*retention, "cohorts") : json::array(),
       {"cohort", "visitors", "returned", "rate"}},
      {"frequency.csv", array_member(document, "frequency"), {"visits", "devices"}},
      {"alerts.csv", array_member(document, "alerts"), {"date", "indicator", "value", "baseline", "change", "threshold"}},
      {"overlap.csv", overlap_rows(document), {"site", "also_at", "share", "shared"}},
  };
  std::vector<ReportCsv> files;
  for (const Table& t : tables) files.push_back({t.file, csv_table(t.rows, t.columns)});
  return files;
}

void write_report(const json& document, const std::filesystem::path& out_dir) {
  std::filesystem::create_directories(out_dir);
  for (const ReportCsv& f : report_csv_files(document)) report::write_text_file(out_dir / f.file, f.text);
  report::write_text_file(out_dir / "index.html", report::report_page(document));
}

}  // namespace footfall::aggregator
