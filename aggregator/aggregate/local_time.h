#pragma once
// Site-local calendar arithmetic: days, hours, weeks (Monday) and months in the site's time zone (the system's
// tz database, with summer time: a local day lasts 23, 24 or 25 hours) or at a fixed UTC offset.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aggregator/model/site_records.h"

namespace date {
class time_zone;
}

namespace footfall::aggregator {

constexpr TimeMs hour_ms = 3'600'000;
constexpr TimeMs day_ms = 86'400'000;

// The named zone of the tz database, or nullptr when the system does not know it.
const date::time_zone* find_time_zone(const std::string& name);

// A clock of one site: local day numbers count local calendar days since 1970-01-01.
class LocalClock {
 public:
  explicit LocalClock(int utc_offset_min) : fixed_offset_ms_(TimeMs{utc_offset_min} * 60'000) {}
  explicit LocalClock(const date::time_zone& zone) : zone_(&zone) {}

  TimeMs offset_ms(TimeMs t) const;  // local time - UTC at t
  std::int32_t day_of(TimeMs t) const;
  // First instant of the local day (local midnight; the end of the gap when midnight is skipped).
  TimeMs day_start(std::int32_t day) const;
  TimeMs hour_start_of(TimeMs t) const;                      // start of the local hour containing t
  int hour_of_day(TimeMs t) const;                           // 0..23, local
  static std::int32_t monday_of(std::int32_t day);           // first day of the day's week
  static std::int32_t weekday(std::int32_t day);             // 0 = Monday .. 6 = Sunday
  static std::string date(std::int32_t day);                 // YYYY-MM-DD
  std::string local_minute(TimeMs t) const;                  // YYYY-MM-DDTHH:MM, local
  static std::int32_t month_first_day(std::int32_t day);     // day number of the 1st of its month
  static std::int32_t next_month_first_day(std::int32_t day);
  // Starts of the local hours / local days in [from, to), from itself first.
  std::vector<TimeMs> hour_starts(TimeMs from, TimeMs to) const;
  std::vector<TimeMs> day_starts(TimeMs from, TimeMs to) const;
  // The zone's name ("Europe/Paris"), or "" at a fixed offset.
  std::string zone_name() const;

 private:
  const date::time_zone* zone_ = nullptr;  // the tz database lives as long as the program
  TimeMs fixed_offset_ms_ = 0;
  // The zone's last looked-up span of one offset: visits come sorted, so most look-ups fall in it. A clock
  // is therefore not shared between threads (each computation has its own copy).
  mutable TimeMs span_begin_ = 0;
  mutable TimeMs span_end_ = 0;
  mutable TimeMs span_offset_ = 0;
};

std::string utc_iso(TimeMs t);  // YYYY-MM-DDTHH:MM:SS.mmmZ

}  // namespace footfall::aggregator
