#pragma once
// Text of the report: HTML escaping, numbers as an operator reads them, and tolerant access to a report
// document whose members may be missing or of another type.
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace footfall::aggregator::report {

using nlohmann::json;

// Escapes & < > " ' so that text is safe in element content and in quoted attributes.
std::string html_escape(std::string_view text);

// The member `key` of `object`, or nullptr when `object` is no object or lacks it.
const json* member(const json& object, std::string_view key);
// The member as an array (empty when missing or not an array).
const json& array_member(const json& object, std::string_view key);
std::optional<double> number_member(const json& object, std::string_view key);
std::string text_member(const json& object, std::string_view key);  // "" when missing; numbers as text

inline constexpr const char* kNoValue = "\u2013";  // an en dash: no value (null or missing)

// 12345 -> "12,345"; rounds to an integer.
std::string format_count(double value);
// 1234.5 -> "1,234.50"
std::string format_money(double value);
// 0.2345 -> "23.4 %"
std::string format_ratio(double value);
// 12.34 -> "12.3"
std::string format_decimal(double value, int digits);
// A change as "+12.0 %" / "-35.2 %".
std::string format_change(double value);

// The same for a member, kNoValue when missing or null.
std::string count_of(const json& object, std::string_view key);
std::string money_of(const json& object, std::string_view key);
std::string ratio_of(const json& object, std::string_view key);
std::string minutes_of(const json& object, std::string_view key);

}  // namespace footfall::aggregator::report
