#pragma once
// Indicator monitoring over a table of daily figures (shared by daily_alerts and the report document).

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/thresholds.h"
#include "aggregator/aggregate/window_figures.h"

namespace footfall::aggregator {

// A daily figure watched for drops: its key in the figures object and its value (none when undefined).
struct Indicator {
  const char* name;
  std::optional<double> (*of)(const WindowFigures& f);
};

// The indicators monitored.
extern const std::vector<Indicator> monitored_indicators;

// An indicator of local day `day` that fell more than the threshold below its baseline.
struct IndicatorAlert {
  std::int32_t day = 0;
  const char* indicator = "";
  double value = 0;
  double baseline = 0;  // mean of the same weekday over baseline_days
  double change = 0;    // (value - baseline) / baseline
  double threshold = 0;
  std::vector<std::int32_t> baseline_days;
};

// The alert object of docs/schema/alerts.schema.json.
nlohmann::json to_json(const IndicatorAlert& alert);

// day_figures(d) gives the figures of local day d.
std::vector<IndicatorAlert> alerts_on(std::int32_t day, const std::function<WindowFigures(std::int32_t)>& day_figures,
                                      const SiteThresholds& thr);

}  // namespace footfall::aggregator
