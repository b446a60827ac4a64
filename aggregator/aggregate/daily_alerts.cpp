#include "aggregator/aggregate/daily_alerts.h"

#include "aggregator/aggregate/local_time.h"

namespace footfall::aggregator {

// Retention-based figures are left out: a baseline day four weeks back would need another returning window.
const std::vector<const char*> monitored_indicators = {
    "awareness",    "acquisition",  "activation", "capture_rate", "activation_rate",    "dwell_mean_min",
    "peak_occupancy", "transactions", "revenue",    "conversion",   "revenue_per_visitor"};

std::vector<nlohmann::json> alerts_on(std::int32_t day, const std::function<nlohmann::json(std::int32_t)>& day_figures,
                                      const SiteThresholds& thr) {
  std::vector<nlohmann::json> alerts;
  const nlohmann::json today = day_figures(day);
  std::vector<nlohmann::json> before;
  std::vector<std::int32_t> before_days;
  for (std::int32_t w = 1; w <= 4; ++w) {
    nlohmann::json f = day_figures(day - 7 * w);
    // A day the site heard nobody is an outage or a closed day, not a baseline.
    if (f.value("awareness", std::int64_t{0}) <= 0) continue;
    before.push_back(std::move(f));
    before_days.push_back(day - 7 * w);
  }
  for (const char* key : monitored_indicators) {
    const auto& value = today.at(key);
    if (!value.is_number()) continue;
    double sum = 0;
    int n = 0;
    nlohmann::json dates = nlohmann::json::array();
    for (std::size_t i = 0; i < before.size(); ++i) {
      const auto& v = before[i].at(key);
      if (!v.is_number()) continue;
      sum += v.get<double>();
      ++n;
      dates.push_back(LocalClock::date(before_days[i]));
    }
    if (n < thr.alert_min_baseline_days) continue;
    const double baseline = sum / n;
    if (baseline <= 0) continue;
    const double change = (value.get<double>() - baseline) / baseline;
    if (change < -thr.alert_drop) {
      alerts.push_back({{"date", LocalClock::date(day)},
                        {"indicator", key},
                        {"value", value.get<double>()},
                        {"baseline", baseline},
                        {"change", change},
                        {"threshold", thr.alert_drop},
                        {"baseline_dates", std::move(dates)}});
    }
  }
  return alerts;
}

}  // namespace footfall::aggregator
