#pragma once
// Charts of the report as inline SVG, drawn here so the page needs no script and no library to show them.
// Every chart is <svg class="chart" data-chart=ID data-marks=N> holding N elements of class "mark" (bars,
// lines): the browser test counts them after layout.
#include <string>
#include <vector>

namespace footfall::aggregator::report {

struct ChartSeries {
  std::string name;
  std::vector<double> values;  // one per category; NaN: no value
  int colour = 0;              // index into the page's palette (classes c0..c5)
};

struct CategoryAxis {
  std::vector<std::string> labels;       // one per category, shown as tooltips
  std::vector<std::string> tick_labels;  // same length; "" where no tick is drawn
  std::vector<std::string> group_labels; // optional second line (e.g. the date under hours); "" where none
};

struct ChartSize {
  int width = 1100;
  int height = 280;
};

// Vertical bars per category, stacked when several series are given.
std::string bar_chart(const std::string& id, const std::string& title, const CategoryAxis& axis,
                      const std::vector<ChartSeries>& series, const std::string& unit, ChartSize size = {});

// One filled line over the categories (occupancy); the highest point is marked and labelled.
std::string line_chart(const std::string& id, const std::string& title, const CategoryAxis& axis,
                       const ChartSeries& series, const std::string& unit, ChartSize size = {});

struct FunnelStage {
  std::string name;
  double value = 0.0;
  std::string note;  // e.g. the rate from the stage before
};

// Horizontal bars narrowing from the first stage, centred, with values and notes.
std::string funnel_chart(const std::string& id, const std::string& title, const std::vector<FunnelStage>& stages,
                         ChartSize size = {});

// A step of 1, 2 or 5 times a power of ten giving about `count` ticks up to `max`.
double nice_step(double max, int count);

}  // namespace footfall::aggregator::report
