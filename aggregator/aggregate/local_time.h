#pragma once
// Site-local calendar arithmetic: days, hours, weeks (Monday) and months in UTC + utc_offset_min.

#include <cstdint>
#include <string>

#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

constexpr TimeMs hour_ms = 3'600'000;
constexpr TimeMs day_ms = 86'400'000;

// A clock of one site: local day numbers count days since 1970-01-01 local.
struct LocalClock {
  TimeMs offset_ms = 0;

  explicit LocalClock(int utc_offset_min) : offset_ms(TimeMs{utc_offset_min} * 60'000) {}
  std::int32_t day_of(TimeMs t) const;
  TimeMs day_start(std::int32_t day) const { return TimeMs{day} * day_ms - offset_ms; }
  std::int64_t hour_of(TimeMs t) const;                      // local hours since the epoch
  TimeMs hour_start(std::int64_t hour) const { return hour * hour_ms - offset_ms; }
  int hour_of_day(TimeMs t) const;                           // 0..23
  static std::int32_t monday_of(std::int32_t day);           // first day of the day's week
  static std::int32_t weekday(std::int32_t day);             // 0 = Monday .. 6 = Sunday
  static std::string date(std::int32_t day);                 // YYYY-MM-DD
  std::string local_minute(TimeMs t) const;                  // YYYY-MM-DDTHH:MM, local
  std::int32_t month_first_day(std::int32_t day) const;      // day number of the 1st of its month
  std::int32_t next_month_first_day(std::int32_t day) const;
};

std::string utc_iso(TimeMs t);  // YYYY-MM-DDTHH:MM:SS.mmmZ

}  // namespace footfall::aggregator
