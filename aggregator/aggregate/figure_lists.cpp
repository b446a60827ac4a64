#include "aggregator/aggregate/figure_lists.h"

#include <algorithm>

namespace footfall::aggregator {

nlohmann::json interval_list(WindowScratch& scratch, TimeMs from, TimeMs to, TimeMs interval) {
  nlohmann::json out = nlohmann::json::array();
  for (TimeMs t = from; t < to; t += interval) {
    const TimeMs end = std::min(to, t + interval);
    const WindowFigures f = scratch.figures(t, end, WindowDetail::counts);
    out.push_back({{"start", scratch.table.clock.local_minute(t)},
                   {"passers_by", f.awareness - f.visitors},
                   {"visitors", f.visitors},
                   {"arrivals", f.visitor_visits},
                   {"detected", f.detected_visits},
                   {"occupancy_max", f.peak_occupancy}});
  }
  return out;
}

std::pair<nlohmann::json, TimeMs> occupancy_list(const WindowScratch& scratch, TimeMs from, TimeMs to, TimeMs step_ms,
                                                 int max_points) {
  const std::vector<std::int64_t> samples = scratch.occupancy().samples(from, to, step_ms);
  std::size_t merge = 1;
  if (max_points > 0) {
    const auto limit = static_cast<std::size_t>(max_points);
    merge = std::max<std::size_t>(1, (samples.size() + limit - 1) / limit);
  }
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < samples.size(); i += merge) {
    const auto last = std::min(samples.size(), i + merge);
    const auto highest = *std::max_element(samples.begin() + static_cast<std::ptrdiff_t>(i),
                                           samples.begin() + static_cast<std::ptrdiff_t>(last));
    const TimeMs at = from + static_cast<TimeMs>(i) * step_ms;
    out.push_back({{"at", scratch.table.clock.local_minute(at)}, {"devices", highest}});
  }
  return {std::move(out), step_ms * static_cast<TimeMs>(merge)};
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
