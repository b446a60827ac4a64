#pragma once
// The figures of one time window [from, to) over a VisitTable: a pass over the rows arriving in it.

#include <cstdint>
#include <utility>
#include <vector>

#include "aggregator/aggregate/visit_table.h"
#include "aggregator/aggregate/window_figures.h"

namespace footfall::aggregator {

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

enum class WindowDetail { counts, full };

// Per-device scratch reused across windows: stamps carry the window's generation, so nothing is cleared.
class WindowScratch {
 public:
  WindowScratch(const VisitTable& table, const SalesLedger& sales);
  WindowFigures figures(TimeMs from, TimeMs to, WindowDetail detail);

  const OccupancyCurve& occupancy() const { return occupancy_; }

 private:
  class ZoneTally;
  void count_visit(const VisitRow& r, std::int32_t gen, WindowFigures& f, ZoneTally* zones);
  void settle_dwell(WindowFigures& f);  // mean, median and the busiest hour of the visitor visits
  std::int64_t residents_present(TimeMs from, TimeMs to, std::int32_t gen);

  const VisitTable& table_;
  const SalesLedger& sales_;
  OccupancyCurve occupancy_;
  // One record per device, so a row touches one cache line of scratch.
  struct DeviceStamps {
    std::int32_t aware = 0, visitor = 0, engaged = 0, returning = 0, bounce = 0, referred = 0, resident = 0;
    std::int32_t visits = 0;  // visitor visits in the window (full detail)
  };
  std::int32_t generation_ = 0;
  std::vector<DeviceStamps> stamps_;
  std::vector<std::int32_t> bounced_devices_;
  std::vector<std::int32_t> visitor_devices_;
  std::vector<double> dwells_;
};

int dwell_bucket(TimeMs dwell_ms);

}  // namespace footfall::aggregator
