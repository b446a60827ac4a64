#include "aggregator/report/report_text.h"

#include <cmath>
#include <cstdio>

namespace footfall::aggregator::report {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const json& array_member(const json& object, std::string_view key) {
  static const json empty = json::array();
  const json* m = member(object, key);
  return m != nullptr && m->is_array() ? *m : empty;
}

std::optional<double> number_member(const json& object, std::string_view key) {
  const json* m = member(object, key);
  if (m == nullptr || !m->is_number()) return std::nullopt;
  const double v = m->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::string text_member(const json& object, std::string_view key) {
  const json* m = member(object, key);
  if (m == nullptr || m->is_null()) return {};
  if (m->is_string()) return m->get<std::string>();
  return m->dump();
}

namespace {

// Inserts thousands separators into the integer digits of a plain number text.
std::string group_thousands(std::string digits) {
  const std::size_t start = (!digits.empty() && digits[0] == '-') ? 1 : 0;
  std::size_t end = digits.find('.');
  if (end == std::string::npos) end = digits.size();
  for (std::size_t i = end; i > start + 3; i -= 3) digits.insert(i - 3, 1, ',');
  return digits;
}

std::string fixed(double value, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  std::string s = buf;
  if (s.starts_with("-") && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);  // no "-0.0"
  return s;
}

}  // namespace

std::string format_count(double value) { return group_thousands(fixed(std::round(value), 0)); }
std::string format_money(double value) { return group_thousands(fixed(value, 2)); }
std::string format_ratio(double value) { return fixed(value * 100.0, 1) + " %"; }
std::string format_decimal(double value, int digits) { return group_thousands(fixed(value, digits)); }
std::string format_change(double value) { return (value > 0 ? "+" : "") + fixed(value * 100.0, 1) + " %"; }

std::string count_of(const json& object, std::string_view key) {
  const auto v = number_member(object, key);
  return v ? format_count(*v) : kNoValue;
}
std::string money_of(const json& object, std::string_view key) {
  const auto v = number_member(object, key);
  return v ? format_money(*v) : kNoValue;
}
std::string ratio_of(const json& object, std::string_view key) {
  const auto v = number_member(object, key);
  return v ? format_ratio(*v) : kNoValue;
}
std::string minutes_of(const json& object, std::string_view key) {
  const auto v = number_member(object, key);
  return v ? format_decimal(*v, 1) + " min" : kNoValue;
}

}  // namespace footfall::aggregator::report
