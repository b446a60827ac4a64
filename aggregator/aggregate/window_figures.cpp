#include "aggregator/aggregate/window_figures.h"

namespace footfall::aggregator {
namespace {

std::optional<double> ratio(double num, double den) {
  if (den == 0) return std::nullopt;
  return num / den;
}

}  // namespace

nlohmann::json number_or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::optional<double> WindowFigures::capture_rate() const {
  return ratio(static_cast<double>(visitors), static_cast<double>(awareness));
}
std::optional<double> WindowFigures::activation_rate() const {
  return ratio(static_cast<double>(activation), static_cast<double>(visitors));
}
std::optional<double> WindowFigures::retain_rate() const {
  return ratio(static_cast<double>(returning_visitors), static_cast<double>(visitors));
}
std::optional<double> WindowFigures::conversion() const {
  return ratio(static_cast<double>(transactions), static_cast<double>(visitors));
}
std::optional<double> WindowFigures::revenue_per_visitor() const {
  return ratio(revenue, static_cast<double>(visitors));
}
std::optional<double> WindowFigures::bounce_rate() const {
  return ratio(static_cast<double>(bounces), static_cast<double>(visitors + bounces));
}

nlohmann::json figures_json(const WindowFigures& f, const LocalClock& clock) {
  return {
      {"awareness", f.awareness},
      {"acquisition", f.visitors},
      {"activation", f.activation},
      {"capture_rate", number_or_null(f.capture_rate())},
      {"activation_rate", number_or_null(f.activation_rate())},
      {"retain_rate", number_or_null(f.retain_rate())},
      {"transactions", f.transactions},
      {"revenue", f.revenue},
      {"conversion", number_or_null(f.conversion())},
      {"revenue_per_visitor", number_or_null(f.revenue_per_visitor())},
      {"refer_estimate", f.refer_estimate},
      {"passers_by", f.passers_by()},
      {"visitors", f.visitors},
      {"visitor_visits", f.visitor_visits},
      {"detected_visits", f.detected_visits},
      {"bounces", f.bounces},
      {"bounce_rate", number_or_null(f.bounce_rate())},
      {"new_visitors", f.new_visitors},
      {"returning_visitors", f.returning_visitors},
      {"dwell_mean_min", number_or_null(f.dwell_mean_min)},
      {"dwell_median_min", number_or_null(f.dwell_median_min)},
      {"peak_hour", f.peak_hour ? nlohmann::json(*f.peak_hour) : nlohmann::json(nullptr)},
      {"peak_occupancy", f.peak_occupancy},
      {"peak_occupancy_at", f.peak_occupancy > 0 ? nlohmann::json(clock.local_minute(f.peak_occupancy_at))
                                                 : nlohmann::json(nullptr)},
      {"residents", f.residents},
  };
}

nlohmann::json to_json(const ZoneFlow& flow) {
  const auto counted = [](const std::vector<ZoneCount>& counts) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : counts) out.push_back({{"zone", c.zone}, {"count", c.count}});
    return out;
  };
  nlohmann::json transitions = nlohmann::json::array();
  for (const auto& m : flow.transitions) transitions.push_back({{"from", m.from}, {"to", m.to}, {"count", m.count}});
  return {{"transitions", std::move(transitions)}, {"entry", counted(flow.entry)}, {"exit", counted(flow.exit)}};
}

}  // namespace footfall::aggregator
