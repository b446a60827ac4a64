#include "aggregator/aggregate/residents.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <utility>

namespace footfall::aggregator {

TimeMs resident_min_ms(const SiteThresholds& thr) {
  return static_cast<TimeMs>(std::llround(thr.resident_min_hours * static_cast<double>(hour_ms)));
}

std::vector<std::uint8_t> resident_visits(const std::vector<VisitRow>& rows, std::int32_t devices,
                                          const LocalClock& clock, TimeMs min_ms) {
  std::vector<std::uint8_t> flags(rows.size(), 0);
  if (min_ms <= 0 || rows.empty()) return flags;
  const auto n = static_cast<std::size_t>(devices);
  // Per device: the end of the union of its spans so far, and the time covered on the day being filled. Rows
  // come by arrival, so the new part of each span starts after the previous one: days fill in order.
  std::vector<TimeMs> covered_to(n, LLONG_MIN);
  std::vector<std::int32_t> filling_day(n, INT_MIN);
  std::vector<TimeMs> covered_ms(n, 0);
  std::vector<std::pair<std::int32_t, std::int32_t>> resident_days;  // (device, day)
  for (const VisitRow& r : rows) {
    const auto d = static_cast<std::size_t>(r.device);
    const TimeMs from = std::max(r.arrival, covered_to[d]);
    const TimeMs to = r.departure;
    if (to <= from) continue;  // inside what the device's earlier visits already cover
    covered_to[d] = to;
    for (std::int32_t day = clock.day_of(from);; ++day) {
      const TimeMs day_end = clock.day_start(day + 1);
      const TimeMs piece = std::min(to, day_end) - std::max(from, clock.day_start(day));
      if (filling_day[d] != day) {
        filling_day[d] = day;
        covered_ms[d] = 0;
      }
      const TimeMs before = covered_ms[d];
      covered_ms[d] += piece;
      if (before < min_ms && covered_ms[d] >= min_ms) resident_days.emplace_back(r.device, day);
      if (to <= day_end) break;
    }
  }
  if (resident_days.empty()) return flags;
  std::sort(resident_days.begin(), resident_days.end());
  std::vector<std::uint8_t> some_day(n, 0);  // spares the search for the many devices never resident
  for (const auto& [device, day] : resident_days) some_day[static_cast<std::size_t>(device)] = 1;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const VisitRow& r = rows[i];
    if (some_day[static_cast<std::size_t>(r.device)] == 0) continue;
    // The first resident day of the device not before the arrival day; a resident visit when the visit reaches it.
    const auto it = std::lower_bound(resident_days.begin(), resident_days.end(),
                                     std::pair<std::int32_t, std::int32_t>{r.device, clock.day_of(r.arrival)});
    flags[i] = it != resident_days.end() && it->first == r.device && it->second <= clock.day_of(r.departure);
  }
  return flags;
}

}  // namespace footfall::aggregator
