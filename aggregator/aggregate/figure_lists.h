#pragma once
// The list-shaped parts of period figures and report documents (intervals, occupancy, histograms), and
// their JSON lists.

#include <cstdint>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/window_figures.h"

namespace footfall::aggregator {

class WindowScratch;

// The counts of one interval.
struct IntervalFigures {
  TimeMs start = 0;
  std::int64_t passers_by = 0;
  std::int64_t visitors = 0;
  std::int64_t arrivals = 0;  // visitor visits
  std::int64_t detected = 0;  // all visits
  std::int64_t occupancy_max = 0;
};

// One item per interval: starts[i] to starts[i + 1], the last one to `to` (local hours or days of LocalClock).
std::vector<IntervalFigures> interval_figures(WindowScratch& scratch, const std::vector<TimeMs>& starts, TimeMs to);

// Devices present, one point per step from `from`.
struct OccupancyPoints {
  TimeMs from = 0;
  TimeMs step_ms = 0;
  std::vector<std::int64_t> devices;
};

// Devices present every step_ms from `from`; with max_points > 0, whole runs of steps merge into one point
// (their highest sample) so that at most max_points remain, and step_ms is the merged step.
OccupancyPoints occupancy_points(const WindowScratch& scratch, TimeMs from, TimeMs to, TimeMs step_ms, int max_points);

nlohmann::json interval_list(const std::vector<IntervalFigures>& intervals, const LocalClock& clock);
nlohmann::json occupancy_list(const OccupancyPoints& occupancy, const LocalClock& clock);
nlohmann::json dwell_histogram_list(const WindowFigures& f);
nlohmann::json frequency_list(const WindowFigures& f);

}  // namespace footfall::aggregator
