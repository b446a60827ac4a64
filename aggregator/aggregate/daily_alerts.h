#pragma once
// Indicator monitoring over a table of daily figures (shared by daily_alerts and the report document).

#include <cstdint>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/thresholds.h"

namespace footfall::aggregator {

// The indicators monitored, keys of the daily figures.
extern const std::vector<const char*> monitored_indicators;

// day_figures(d) gives the figures object of local day d (docs/metrics.md keys).
std::vector<nlohmann::json> alerts_on(std::int32_t day, const std::function<nlohmann::json(std::int32_t)>& day_figures,
                                      const SiteThresholds& thr);

}  // namespace footfall::aggregator
