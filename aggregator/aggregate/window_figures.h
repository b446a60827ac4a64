#pragma once
// The figures of one time window as values, and the JSON of docs/metrics.md they become where they leave.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/local_time.h"

namespace footfall::aggregator {

constexpr std::array<double, 6> dwell_bucket_lower_min = {0, 5, 15, 30, 60, 120};
constexpr std::array<const char*, 6> dwell_bucket_names = {"<5", "5-15", "15-30", "30-60", "60-120", ">120"};

// Moves between zones and the zones visits began and ended in, most frequent first.
struct ZoneCount {
  std::string zone;
  std::int64_t count = 0;
};
struct ZoneMove {
  std::string from;
  std::string to;
  std::int64_t count = 0;
};
struct ZoneFlow {
  std::vector<ZoneMove> transitions;
  std::vector<ZoneCount> entry;
  std::vector<ZoneCount> exit;
};

struct WindowFigures {
  TimeMs from = 0;
  TimeMs to = 0;
  std::int64_t awareness = 0;
  std::int64_t visitors = 0;
  std::int64_t activation = 0;
  std::int64_t bounces = 0;
  std::int64_t new_visitors = 0;
  std::int64_t returning_visitors = 0;
  std::int64_t refer_estimate = 0;
  std::int64_t visitor_visits = 0;
  std::int64_t detected_visits = 0;
  std::int64_t transactions = 0;
  double revenue = 0;
  std::optional<double> dwell_mean_min;
  std::optional<double> dwell_median_min;
  std::optional<int> peak_hour;
  std::int64_t peak_occupancy = 0;
  TimeMs peak_occupancy_at = 0;
  std::int64_t residents = 0;  // devices with a resident visit present in the window, in no other figure
  std::array<std::int64_t, 6> dwell_visitors{};
  std::array<std::int64_t, 6> dwell_bounces{};
  std::array<std::int64_t, 24> arrivals_by_hour{};
  // Filled only with WindowDetail::full.
  std::vector<std::pair<std::int64_t, std::int64_t>> frequency;  // (visits, devices), ascending
  ZoneFlow zone_flow;

  // The ratios of docs/metrics.md; no value when the denominator is zero.
  std::int64_t passers_by() const { return awareness - visitors; }
  std::optional<double> capture_rate() const;
  std::optional<double> activation_rate() const;
  std::optional<double> retain_rate() const;
  std::optional<double> conversion() const;
  std::optional<double> revenue_per_visitor() const;
  std::optional<double> bounce_rate() const;
};

// The figures object of docs/metrics.md (the summary and day keys).
nlohmann::json figures_json(const WindowFigures& f, const LocalClock& clock);
nlohmann::json to_json(const ZoneFlow& flow);
// A figure that may have no value: the number, or null.
nlohmann::json number_or_null(const std::optional<double>& v);

}  // namespace footfall::aggregator
