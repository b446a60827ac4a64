#include "aggregator/aggregate/local_time.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <date/tz.h>

namespace footfall::aggregator {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

std::chrono::year_month_day civil(std::int32_t day) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{day}}};
}

std::int32_t day_number(std::chrono::year_month_day ymd) {
  return static_cast<std::int32_t>(std::chrono::sys_days{ymd}.time_since_epoch().count());
}

date::sys_time<std::chrono::milliseconds> sys_ms(TimeMs t) {
  return date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{t}};
}

}  // namespace

const date::time_zone* find_time_zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::runtime_error&) {
    return nullptr;
  }
}

TimeMs LocalClock::offset_ms(TimeMs t) const {
  if (zone_ == nullptr) return fixed_offset_ms_;
  if (t >= span_begin_ && t < span_end_) return span_offset_;
  const date::sys_info info = zone_->get_info(sys_ms(t));
  const auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  span_offset_ = ms(info.offset);
  span_begin_ = ms(info.begin.time_since_epoch());
  span_end_ = ms(info.end.time_since_epoch());
  return span_offset_;
}

std::int32_t LocalClock::day_of(TimeMs t) const {
  return static_cast<std::int32_t>(floor_div(t + offset_ms(t), day_ms));
}

TimeMs LocalClock::day_start(std::int32_t day) const {
  if (zone_ == nullptr) return TimeMs{day} * day_ms - fixed_offset_ms_;
  const date::local_seconds midnight{date::days{day}};
  const date::local_info info = zone_->get_info(midnight);
  const auto to_ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  // Midnight skipped by a change of offset: the day starts when the clocks jump.
  if (info.result == date::local_info::nonexistent) return to_ms(info.first.end.time_since_epoch());
  // Midnight twice: the day starts at the first one.
  return to_ms(midnight.time_since_epoch() - info.first.offset);
}

TimeMs LocalClock::hour_start_of(TimeMs t) const {
  const TimeMs local = t + offset_ms(t);
  return t - (local - floor_div(local, hour_ms) * hour_ms);
}

int LocalClock::hour_of_day(TimeMs t) const {
  const TimeMs local = t + offset_ms(t);
  return static_cast<int>((local - floor_div(local, day_ms) * day_ms) / hour_ms);
}

std::int32_t LocalClock::weekday(std::int32_t day) {
  const std::int32_t w = (day + 3) % 7;  // 1970-01-01 was a Thursday
  return w < 0 ? w + 7 : w;
}

std::int32_t LocalClock::monday_of(std::int32_t day) { return day - weekday(day); }

std::string LocalClock::date(std::int32_t day) {
  const auto ymd = civil(day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string LocalClock::local_minute(TimeMs t) const {
  const TimeMs local = t + offset_ms(t);
  const auto day = static_cast<std::int32_t>(floor_div(local, day_ms));
  const TimeMs in_day = local - TimeMs{day} * day_ms;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(in_day / hour_ms), static_cast<int>(in_day % hour_ms / 60'000));
  return date(day) + "T" + buf;
}

std::int32_t LocalClock::month_first_day(std::int32_t day) {
  const auto ymd = civil(day);
  return day_number(ymd.year() / ymd.month() / std::chrono::day{1});
}

std::int32_t LocalClock::next_month_first_day(std::int32_t day) {
  const auto ymd = civil(day);
  const auto next = std::chrono::year_month{ymd.year(), ymd.month()} + std::chrono::months{1};
  return day_number(next / std::chrono::day{1});
}

std::vector<TimeMs> LocalClock::hour_starts(TimeMs from, TimeMs to) const {
  std::vector<TimeMs> out;
  for (TimeMs t = from; t < to; t = hour_start_of(t) + hour_ms) out.push_back(t);
  return out;
}

std::vector<TimeMs> LocalClock::day_starts(TimeMs from, TimeMs to) const {
  std::vector<TimeMs> out;
  for (TimeMs t = from; t < to; t = day_start(day_of(t) + 1)) out.push_back(t);
  return out;
}

std::string LocalClock::zone_name() const { return zone_ == nullptr ? std::string() : std::string(zone_->name()); }

std::string utc_iso(TimeMs t) {
  const auto day = static_cast<std::int32_t>(floor_div(t, day_ms));
  const TimeMs in_day = t - TimeMs{day} * day_ms;
  char buf[24];
  std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d.%03dZ", static_cast<int>(in_day / hour_ms),
                static_cast<int>(in_day % hour_ms / 60'000), static_cast<int>(in_day % 60'000 / 1000),
                static_cast<int>(in_day % 1000));
  return LocalClock::date(day) + buf;
}

}  // namespace footfall::aggregator
