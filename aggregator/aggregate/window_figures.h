#pragma once
// The figures of one time window [from, to) over a VisitTable: a pass over the rows arriving in it.

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/visit_table.h"

namespace footfall::aggregator {

constexpr std::array<double, 6> dwell_bucket_lower_min = {0, 5, 15, 30, 60, 120};
constexpr std::array<const char*, 6> dwell_bucket_names = {"<5", "5-15", "15-30", "30-60", "60-120", ">120"};

// Sales sorted by time with running sums: any window's transactions and revenue by two searches.
class SalesLedger {
 public:
  explicit SalesLedger(const std::vector<Sale>& sales);
  std::pair<std::int64_t, double> in(TimeMs from, TimeMs to) const;

 private:
  std::vector<TimeMs> at_;
  std::vector<double> cumulative_;  // cumulative_[i] = revenue of the first i sales
};

// Devices present at once: visit spans [arrival, departure], both ends included.
class OccupancyCurve {
 public:
  explicit OccupancyCurve(const VisitTable& table) : rows_(table.rows), departures_(table.departures) {}
  std::int64_t at(TimeMs t) const;
  std::pair<std::int64_t, TimeMs> peak(TimeMs from, TimeMs to) const;  // highest and when first reached
  std::vector<std::int64_t> samples(TimeMs from, TimeMs to, TimeMs step) const;

 private:
  std::size_t arrived_by(TimeMs t, std::size_t from) const;  // rows with arrival <= t, searching from `from`
  const std::vector<VisitRow>& rows_;
  const std::vector<TimeMs>& departures_;
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
  std::array<std::int64_t, 6> dwell_visitors{};
  std::array<std::int64_t, 6> dwell_bounces{};
  std::array<std::int64_t, 24> arrivals_by_hour{};
  // Filled only with WindowDetail::full.
  std::vector<std::pair<std::int64_t, std::int64_t>> frequency;  // (visits, devices), ascending
  nlohmann::json zone_flow;
};

enum class WindowDetail { counts, full };

// Per-device scratch reused across windows: stamps carry the window's generation, so nothing is cleared.
class WindowScratch {
 public:
  WindowScratch(const VisitTable& table, const SalesLedger& sales);
  WindowFigures figures(TimeMs from, TimeMs to, WindowDetail detail);

  const VisitTable& table;
  const SalesLedger& sales;
  const OccupancyCurve& occupancy() const { return occupancy_; }

 private:
  OccupancyCurve occupancy_;
  // One record per device, so a row touches one cache line of scratch.
  struct DeviceStamps {
    std::int32_t aware = 0, visitor = 0, engaged = 0, returning = 0, bounce = 0, referred = 0;
    std::int32_t visits = 0;  // visitor visits in the window (full detail)
  };
  std::int32_t generation_ = 0;
  std::vector<DeviceStamps> stamps_;
  std::vector<std::int32_t> bounced_devices_;
  std::vector<std::int32_t> visitor_devices_;
  std::vector<double> dwells_;
};

int dwell_bucket(TimeMs dwell_ms);

// The figures object of docs/metrics.md (the summary and day keys).
nlohmann::json figures_json(const WindowFigures& f, const LocalClock& clock);

}  // namespace footfall::aggregator
