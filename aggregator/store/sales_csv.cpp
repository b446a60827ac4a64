#include "aggregator/store/sales_csv.h"

#include <array>
#include <charconv>
#include <cmath>
#include <optional>

#include "aggregator/ingest/iso_time.h"

namespace footfall::aggregator {
namespace {

// Splits one CSV record (no line breaks inside quotes are supported); false on a stray quote.
bool split_record(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  std::size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') return false;
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') return false;
        field += line[i++];
      }
    }
    fields.push_back(field);
    if (i >= line.size()) return true;
    ++i;  // the comma
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<TimeMs> parse_time(std::string_view s) {
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos) {
    TimeMs v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return v;
    return std::nullopt;
  }
  return parse_iso8601_with_offset(s);
}

// sales.schema.json: sale_id is 1..128 characters, whether it comes by MQTT or from a file.
constexpr std::size_t kMaxSaleIdChars = 128;

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

std::optional<double> parse_amount(std::string_view s) {
  double v = 0;
  if (s.empty()) return std::nullopt;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

SalesCsvResult parse_sales_csv(std::string_view text, const std::string& tenant, const std::string& site) {
  SalesCsvResult out;
  constexpr std::array<std::string_view, 4> kColumns = {"sale_id", "site", "time", "amount"};
  std::array<std::size_t, 4> col{};
  bool header_seen = false;
  std::vector<std::string> fields;
  std::size_t line_no = 0;
  auto reject = [&](std::string_view reason, const std::string& what) {
    ++out.rejected[std::string(reason)];
    if (out.first_errors.size() < 20)
      out.first_errors.push_back("line " + std::to_string(line_no) + ": " + std::string(reason) + ": " + what);
  };
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // spreadsheets like to write a BOM
  while (!text.empty()) {
    const auto nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (line.empty()) continue;
    if (!split_record(line, fields)) {
      if (!header_seen) {
        out.fatal = "line " + std::to_string(line_no) + ": the header is not valid CSV";
        return out;
      }
      reject("columns", "stray quote");
      continue;
    }
    for (auto& f : fields) f = std::string(trim(f));
    if (!header_seen) {
      col.fill(fields.size());
      for (std::size_t i = 0; i < fields.size(); ++i)
        for (std::size_t c = 0; c < kColumns.size(); ++c)
          if (fields[i] == kColumns[c]) col[c] = i;
      for (std::size_t c = 0; c < kColumns.size(); ++c)
        if (col[c] == fields.size()) {
          out.fatal = "line " + std::to_string(line_no) + ": the header must name sale_id,site,time,amount (missing " +
                      std::string(kColumns[c]) + ")";
          return out;
        }
      header_seen = true;
      continue;
    }
    if (fields.size() < col[0] + 1 || fields.size() < col[1] + 1 || fields.size() < col[2] + 1 ||
        fields.size() < col[3] + 1) {
      reject("columns", std::to_string(fields.size()) + " fields");
      continue;
    }
    if (fields[col[1]] != site) {
      ++out.other_site_rows;
      continue;
    }
    const std::string& id = fields[col[0]];
    const auto at = parse_time(fields[col[2]]);
    const auto amount = parse_amount(fields[col[3]]);
    if (id.empty()) reject("empty_sale_id", "");
    else if (code_points(id) > kMaxSaleIdChars) reject("long_sale_id", std::to_string(id.size()) + " bytes");
    else if (!at) reject("bad_time", "'" + fields[col[2]] + "'");
    else if (!amount) reject("bad_amount", "'" + fields[col[3]] + "'");
    else out.sales.push_back(Sale{tenant, site, id, *at, *amount});
  }
  if (!header_seen) out.fatal = "no header line (sale_id,site,time,amount)";
  return out;
}

}  // namespace footfall::aggregator
