#include "aggregator/ingest/iso_time.h"

#include <cstdio>

namespace footfall::aggregator {
namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, unsigned& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return true;
}

bool valid_date(unsigned y, unsigned m, unsigned d) {
  static constexpr unsigned kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

}  // namespace

std::optional<TimeMs> parse_date_utc(std::string_view s) {
  unsigned y = 0, mo = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 0, 4, y) || !digits(s, 5, 2, mo) ||
      !digits(s, 8, 2, d) || !valid_date(y, mo, d))
    return std::nullopt;
  return days_from_civil(y, mo, d) * 86'400'000;
}

namespace {

// "+HH:MM" / "-HH:MM" -> minutes east of UTC.
std::optional<int> parse_offset_min(std::string_view s) {
  unsigned oh = 0, om = 0;
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || !digits(s, 1, 2, oh) || !digits(s, 4, 2, om) ||
      oh > 14 || om > 59)
    return std::nullopt;
  const int minutes = static_cast<int>(oh * 60 + om);
  return s[0] == '-' ? -minutes : minutes;
}

}  // namespace

std::optional<TimeMs> parse_iso8601_with_offset(std::string_view s) {
  if (!s.empty() && s.back() == 'Z') return parse_iso8601_utc(s);
  if (s.size() < 6) return std::nullopt;
  const auto offset = parse_offset_min(s.substr(s.size() - 6));
  if (!offset) return std::nullopt;
  std::string utc(s.substr(0, s.size() - 6));
  utc += 'Z';
  const auto local = parse_iso8601_utc(utc);
  if (!local) return std::nullopt;
  return *local - TimeMs{*offset} * 60'000;
}

std::optional<TimeMs> parse_iso8601_utc(std::string_view s) {
  unsigned hh = 0, mi = 0, ss = 0;
  if (s.size() < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || !digits(s, 11, 2, hh) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, ss) || hh > 23 || mi > 59 || ss > 60)
    return std::nullopt;
  const auto day = parse_date_utc(s.substr(0, 10));
  if (!day) return std::nullopt;
  std::size_t i = 19;
  unsigned ms = 0;
  if (s[i] == '.') {
    std::size_t n = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++n)
      if (n < 3) ms = ms * 10 + static_cast<unsigned>(s[i] - '0');
    if (n == 0 || n > 9) return std::nullopt;
    for (; n < 3; ++n) ms *= 10;
  }
  if (i + 1 != s.size() || s[i] != 'Z') return std::nullopt;
  return *day + (static_cast<TimeMs>(hh) * 3600 + mi * 60 + ss) * 1000 + ms;
}

std::string format_iso8601_utc(TimeMs t) {
  const std::int64_t days = floor_div(t, 86'400'000);
  const std::int64_t in_day = t - days * 86'400'000;
  const CivilDate c = civil_from_days(days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(c.year),
                c.month, c.day, static_cast<long long>(in_day / 3'600'000),
                static_cast<long long>(in_day / 60'000 % 60), static_cast<long long>(in_day / 1000 % 60),
                static_cast<long long>(in_day % 1000));
  return buf;
}

}  // namespace footfall::aggregator
