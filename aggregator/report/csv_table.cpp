#include "aggregator/report/csv_table.h"

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace footfall::aggregator::report {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string csv_value(const nlohmann::json& value) {
  if (value.is_null()) return {};
  if (value.is_string()) return csv_field(value.get_ref<const std::string&>());
  return csv_field(value.dump());
}

std::string csv_table(const nlohmann::json& rows, const std::vector<std::string>& columns) {
  std::vector<std::string> names = columns;
  if (rows.is_array()) {
    for (const auto& row : rows) {
      if (!row.is_object()) continue;
      for (const auto& [key, value] : row.items()) {
        if (std::find(names.begin(), names.end(), key) == names.end()) names.push_back(key);
      }
    }
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + csv_field(names[i]);
  out += "\r\n";
  if (!rows.is_array()) return out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i) out += ',';
      if (!row.is_object()) continue;
      const auto it = row.find(names[i]);
      if (it != row.end()) out += csv_value(*it);
    }
    out += "\r\n";
  }
  return out;
}

void write_text_file(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path.string());
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace footfall::aggregator::report
