#pragma once
// The list-shaped parts of period figures and report documents (intervals, occupancy, histograms).

#include <utility>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/window_figures.h"

namespace footfall::aggregator {

// One item per interval of [from, to): start, passers_by, visitors, arrivals, detected, occupancy_max.
nlohmann::json interval_list(WindowScratch& scratch, TimeMs from, TimeMs to, TimeMs interval);

// Devices present every step_ms from `from`; with max_points > 0, whole runs of steps merge into one point
// (their highest sample) so that at most max_points remain. Returns the points and the step used.
std::pair<nlohmann::json, TimeMs> occupancy_list(const WindowScratch& scratch, TimeMs from, TimeMs to, TimeMs step_ms,
                                                 int max_points);

nlohmann::json dwell_histogram_list(const WindowFigures& f);
nlohmann::json frequency_list(const WindowFigures& f);

}  // namespace footfall::aggregator
