#include "tools/sim/time_text.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace footfall::sim {
namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;

bool digits(std::string_view text, std::size_t pos, std::size_t count, int& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_utc_timestamp(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || !digits(text, 0, 4, year) || text[4] != '-' || !digits(text, 5, 2, month) ||
      text[7] != '-' || !digits(text, 8, 2, day) || (text[10] != 'T' && text[10] != ' ') ||
      !digits(text, 11, 2, hour) || text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' ||
      !digits(text, 17, 2, second) || text.back() != 'Z') {
    return std::nullopt;
  }
  std::int64_t fraction_ns = 0;
  std::size_t pos = 19;
  if (text[pos] == '.') {
    std::int64_t scale = 100'000'000;
    for (++pos; pos + 1 < text.size(); ++pos, scale /= 10) {
      if (text[pos] < '0' || text[pos] > '9' || scale == 0) return std::nullopt;
      fraction_ns += (text[pos] - '0') * scale;
    }
  }
  if (pos + 1 != text.size()) return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 59 || year < 1970) return std::nullopt;
  const std::int64_t days = sys_days{date}.time_since_epoch().count();
  return ((days * 24 + hour) * 60 + minute) * 60 * kNsPerSecond + second * kNsPerSecond + fraction_ns;
}

std::optional<std::int64_t> parse_duration_ns(std::string_view text) {
  if (text.empty()) return std::nullopt;
  double total_ns = 0.0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t number_start = pos;
    while (pos < text.size() && ((text[pos] >= '0' && text[pos] <= '9') || text[pos] == '.')) ++pos;
    if (pos == number_start) return std::nullopt;
    double number = 0.0;
    const auto parsed = std::from_chars(text.data() + number_start, text.data() + pos, number);
    if (parsed.ec != std::errc{} || parsed.ptr != text.data() + pos) return std::nullopt;
    const std::size_t unit_start = pos;
    while (pos < text.size() && text[pos] >= 'a' && text[pos] <= 'z') ++pos;
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    double unit_ns = 0.0;
    if (unit == "ms") unit_ns = 1e6;
    else if (unit == "s" || (unit.empty() && number_start == 0 && pos == text.size())) unit_ns = 1e9;
    else if (unit == "m" || unit == "min") unit_ns = 60e9;
    else if (unit == "h") unit_ns = 3600e9;
    else if (unit == "d") unit_ns = 86400e9;
    else return std::nullopt;
    total_ns += number * unit_ns;
  }
  if (!(total_ns >= 0.0) || total_ns > 9e18) return std::nullopt;
  return static_cast<std::int64_t>(std::llround(total_ns));
}

std::string format_utc(std::int64_t ns) {
  using namespace std::chrono;
  const std::int64_t seconds = ns >= 0 ? ns / kNsPerSecond : (ns - kNsPerSecond + 1) / kNsPerSecond;
  const std::int64_t fraction = ns - seconds * kNsPerSecond;
  const sys_days days{std::chrono::days{seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400}};
  const std::int64_t in_day = seconds - days.time_since_epoch().count() * 86400;
  const year_month_day date{days};
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(date.year()),
                        static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                        static_cast<int>(in_day / 3600), static_cast<int>(in_day / 60 % 60),
                        static_cast<int>(in_day % 60));
  if (fraction != 0) n += std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), ".%09lld",
                                        static_cast<long long>(fraction));
  std::snprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), "Z");
  return buf;
}

}  // namespace footfall::sim
