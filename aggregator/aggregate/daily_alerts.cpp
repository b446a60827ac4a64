#include "aggregator/aggregate/daily_alerts.h"

#include "aggregator/aggregate/local_time.h"

namespace footfall::aggregator {
namespace {

std::optional<double> count(std::int64_t n) { return static_cast<double>(n); }

}  // namespace

// Retention-based figures are left out: a baseline day four weeks back would need another returning window.
const std::vector<Indicator> monitored_indicators = {
    {"awareness", [](const WindowFigures& f) { return count(f.awareness); }},
    {"acquisition", [](const WindowFigures& f) { return count(f.visitors); }},
    {"activation", [](const WindowFigures& f) { return count(f.activation); }},
    {"capture_rate", [](const WindowFigures& f) { return f.capture_rate(); }},
    {"activation_rate", [](const WindowFigures& f) { return f.activation_rate(); }},
    {"dwell_mean_min", [](const WindowFigures& f) { return f.dwell_mean_min; }},
    {"peak_occupancy", [](const WindowFigures& f) { return count(f.peak_occupancy); }},
    {"transactions", [](const WindowFigures& f) { return count(f.transactions); }},
    {"revenue", [](const WindowFigures& f) { return std::optional<double>(f.revenue); }},
    {"conversion", [](const WindowFigures& f) { return f.conversion(); }},
    {"revenue_per_visitor", [](const WindowFigures& f) { return f.revenue_per_visitor(); }},
};

nlohmann::json to_json(const IndicatorAlert& a) {
  nlohmann::json dates = nlohmann::json::array();
  for (const std::int32_t d : a.baseline_days) dates.push_back(LocalClock::date(d));
  return {{"date", LocalClock::date(a.day)}, {"indicator", a.indicator}, {"value", a.value},
          {"baseline", a.baseline},          {"change", a.change},       {"threshold", a.threshold},
          {"baseline_dates", std::move(dates)}};
}

std::vector<IndicatorAlert> alerts_on(std::int32_t day, const std::function<WindowFigures(std::int32_t)>& day_figures,
                                      const SiteThresholds& thr) {
  std::vector<IndicatorAlert> alerts;
  const WindowFigures today = day_figures(day);
  std::vector<WindowFigures> before;
  std::vector<std::int32_t> before_days;
  for (std::int32_t w = 1; w <= 4; ++w) {
    WindowFigures f = day_figures(day - 7 * w);
    // A day the site heard nobody is an outage or a closed day, not a baseline.
    if (f.awareness <= 0) continue;
    before.push_back(std::move(f));
    before_days.push_back(day - 7 * w);
  }
  for (const Indicator& indicator : monitored_indicators) {
    const std::optional<double> value = indicator.of(today);
    if (!value) continue;
    double sum = 0;
    int n = 0;
    std::vector<std::int32_t> dates;
    for (std::size_t i = 0; i < before.size(); ++i) {
      const std::optional<double> v = indicator.of(before[i]);
      if (!v) continue;
      sum += *v;
      ++n;
      dates.push_back(before_days[i]);
    }
    if (n < thr.alert_min_baseline_days) continue;
    const double baseline = sum / n;
    if (baseline <= 0) continue;
    const double change = (*value - baseline) / baseline;
    if (change < -thr.alert_drop) {
      alerts.push_back({day, indicator.name, *value, baseline, change, thr.alert_drop, std::move(dates)});
    }
  }
  return alerts;
}

}  // namespace footfall::aggregator
