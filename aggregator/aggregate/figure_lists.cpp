#include "aggregator/aggregate/figure_lists.h"

#include <algorithm>

#include "aggregator/aggregate/window_scratch.h"

namespace footfall::aggregator {

std::vector<IntervalFigures> interval_figures(WindowScratch& scratch, const std::vector<TimeMs>& starts, TimeMs to) {
  std::vector<IntervalFigures> out;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const TimeMs t = starts[i];
    const TimeMs end = i + 1 < starts.size() ? starts[i + 1] : to;
    const WindowFigures f = scratch.figures(t, end, WindowDetail::counts);
    out.push_back({t, f.passers_by(), f.visitors, f.visitor_visits, f.detected_visits, f.peak_occupancy});
  }
  return out;
}

OccupancyPoints occupancy_points(const WindowScratch& scratch, TimeMs from, TimeMs to, TimeMs step_ms, int max_points) {
  const std::vector<std::int64_t> samples = scratch.occupancy().samples(from, to, step_ms);
  std::size_t merge = 1;
  if (max_points > 0) {
    const auto limit = static_cast<std::size_t>(max_points);
    merge = std::max<std::size_t>(1, (samples.size() + limit - 1) / limit);
  }
  OccupancyPoints out{from, step_ms * static_cast<TimeMs>(merge), {}};
  for (std::size_t i = 0; i < samples.size(); i += merge) {
    const auto last = std::min(samples.size(), i + merge);
    out.devices.push_back(*std::max_element(samples.begin() + static_cast<std::ptrdiff_t>(i),
                                            samples.begin() + static_cast<std::ptrdiff_t>(last)));
  }
  return out;
}

nlohmann::json interval_list(const std::vector<IntervalFigures>& intervals, const LocalClock& clock) {
  nlohmann::json out = nlohmann::json::array();
  for (const IntervalFigures& f : intervals) {
    out.push_back({{"start", clock.local_minute(f.start)},
                   {"utc_offset_min", clock.offset_ms(f.start) / 60'000},  // tells the two 02:00 of autumn apart
                   {"passers_by", f.passers_by},
                   {"visitors", f.visitors},
                   {"arrivals", f.arrivals},
                   {"detected", f.detected},
                   {"occupancy_max", f.occupancy_max}});
  }
  return out;
}

nlohmann::json occupancy_list(const OccupancyPoints& occupancy, const LocalClock& clock) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < occupancy.devices.size(); ++i) {
    const TimeMs at = occupancy.from + static_cast<TimeMs>(i) * occupancy.step_ms;
    out.push_back({{"at", clock.local_minute(at)}, {"devices", occupancy.devices[i]}});
  }
  return out;
}

nlohmann::json dwell_histogram_list(const WindowFigures& f) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t b = 0; b < dwell_bucket_names.size(); ++b) {
    out.push_back({{"bucket", dwell_bucket_names[b]},
                   {"min_minutes", dwell_bucket_lower_min[b]},
                   {"max_minutes", b + 1 < dwell_bucket_lower_min.size() ? nlohmann::json(dwell_bucket_lower_min[b + 1])
                                                                         : nlohmann::json(nullptr)},
                   {"visitors", f.dwell_visitors[b]},
                   {"bounces", f.dwell_bounces[b]}});
  }
  return out;
}

nlohmann::json frequency_list(const WindowFigures& f) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [visits, devices] : f.frequency) out.push_back({{"visits", visits}, {"devices", devices}});
  return out;
}

}  // namespace footfall::aggregator
