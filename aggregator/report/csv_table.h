#pragma once
// The report's tables as CSV (RFC 4180: header row, CRLF line ends, a field quoted when it holds a comma,
// a quote or a line break, quotes doubled), one file per table, for spreadsheets.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace footfall::aggregator::report {

std::string csv_field(std::string_view text);

// A value of the document as a CSV field: strings as they are, numbers as JSON writes them, null empty,
// objects and arrays as their JSON text.
std::string csv_value(const nlohmann::json& value);

// The CSV text of an array of objects: the `columns` first (always, even when no row has them), then every
// other member found in the rows, in the order first seen. A row that is no object gives an empty line of fields.
std::string csv_table(const nlohmann::json& rows, const std::vector<std::string>& columns);

// Writes `text` to `path`; throws std::runtime_error when it cannot.
void write_text_file(const std::filesystem::path& path, std::string_view text);

}  // namespace footfall::aggregator::report
