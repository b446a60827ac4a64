#include "aggregator/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "aggregator/report/report_text.h"

namespace footfall::aggregator::report {
namespace {

constexpr int kLeft = 64;
constexpr int kRight = 16;
constexpr int kTop = 18;
constexpr int kBottom = 46;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string svg_open(const std::string& id, const std::string& title, ChartSize size, std::size_t marks) {
  return "<svg class=\"chart\" data-chart=\"" + html_escape(id) + "\" data-marks=\"" + std::to_string(marks) +
         "\" viewBox=\"0 0 " + std::to_string(size.width) + ' ' + std::to_string(size.height) +
         "\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" aria-label=\"" + html_escape(title) + "\">";
}

// An axis value short enough for the left margin: 12,500 as it is, 250k, 10M.
std::string axis_value(double v) {
  if (std::abs(v) < 100'000) return format_count(v);
  char buf[32];
  if (std::abs(v) < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%gk", std::round(v / 100.0) / 10.0);
  } else {
    std::snprintf(buf, sizeof buf, "%gM", std::round(v / 100'000.0) / 10.0);
  }
  return buf;
}

// Horizontal grid lines with their values, from 0 to the axis maximum.
std::string y_grid(double axis_max, double step, ChartSize size, const std::string& unit) {
  std::string out;
  const double plot_h = size.height - kTop - kBottom;
  for (double v = 0; v <= axis_max + step / 2; v += step) {
    const double y = kTop + plot_h - plot_h * v / axis_max;
    out += "<line class=\"grid\" x1=\"" + std::to_string(kLeft) + "\" x2=\"" + std::to_string(size.width - kRight) +
           "\" y1=\"" + num(y) + "\" y2=\"" + num(y) + "\"/>";
    out += "<text class=\"tick\" x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + num(y + 4) +
           "\" text-anchor=\"end\">" + html_escape(axis_value(v)) + "</text>";
  }
  if (!unit.empty()) {
    out += "<text class=\"unit\" x=\"" + std::to_string(kLeft - 6) + "\" y=\"" + std::to_string(kTop - 6) +
           "\" text-anchor=\"end\">" + html_escape(unit) + "</text>";
  }
  return out;
}

// A generous width of a label at the charts' 12 px font, to keep it inside the picture.
double label_width(const std::string& text) { return 7.5 * static_cast<double>(text.size()); }

std::string x_labels(const CategoryAxis& axis, ChartSize size) {
  std::string out;
  const std::size_t n = axis.labels.size();
  if (n == 0) return out;
  const double slot = static_cast<double>(size.width - kLeft - kRight) / static_cast<double>(n);
  const double base = size.height - kBottom;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = kLeft + slot * (static_cast<double>(i) + 0.5);
    if (i < axis.tick_labels.size() && !axis.tick_labels[i].empty()) {
      const double half = label_width(axis.tick_labels[i]) / 2;
      const double tick_x = std::clamp(x, half, std::max(half, size.width - half));
      out += "<text class=\"tick\" x=\"" + num(tick_x) + "\" y=\"" + num(base + 16) + "\" text-anchor=\"middle\">" +
             html_escape(axis.tick_labels[i]) + "</text>";
    }
    if (i < axis.group_labels.size() && !axis.group_labels[i].empty()) {
      const double left = kLeft + slot * static_cast<double>(i);
      out += "<line class=\"group\" x1=\"" + num(left) + "\" x2=\"" + num(left) + "\" y1=\"" + std::to_string(kTop) +
             "\" y2=\"" + num(base + 34) + "\"/>";
      // A date that would run past the right edge ends at the edge instead.
      const bool fits = left + 4 + label_width(axis.group_labels[i]) <= size.width;
      out += "<text class=\"group-label\" x=\"" + num(fits ? left + 4 : static_cast<double>(size.width)) + "\" y=\"" +
             num(base + 34) + (fits ? "\">" : "\" text-anchor=\"end\">") +
             html_escape(axis.group_labels[i]) + "</text>";
    }
  }
  out += "<line class=\"axis\" x1=\"" + std::to_string(kLeft) + "\" x2=\"" + std::to_string(size.width - kRight) +
         "\" y1=\"" + num(base) + "\" y2=\"" + num(base) + "\"/>";
  return out;
}

std::string no_data(const std::string& id, const std::string& title, ChartSize size) {
  return svg_open(id, title, {size.width, 60}, 0) + "<text class=\"no-data\" x=\"" + std::to_string(size.width / 2) +
         "\" y=\"36\" text-anchor=\"middle\">no data</text></svg>";
}

double finite_or_zero(double v) { return std::isfinite(v) ? v : 0.0; }

}  // namespace

double nice_step(double max, int count) {
  if (!(max > 0.0)) return 1.0;
  const double raw = max / std::max(count, 1);
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * power) return std::max(m * power, 1.0);
  }
  return std::max(10.0 * power, 1.0);
}

std::string bar_chart(const std::string& id, const std::string& title, const CategoryAxis& axis,
                      const std::vector<ChartSeries>& series, const std::string& unit, ChartSize size) {
  const std::size_t n = axis.labels.size();
  if (n == 0 || series.empty()) return no_data(id, title, size);
  double max = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    double stack = 0.0;
    for (const auto& s : series) stack += i < s.values.size() ? finite_or_zero(s.values[i]) : 0.0;
    max = std::max(max, stack);
  }
  const double step = nice_step(max, 5);
  const double axis_max = std::max(step, std::ceil(max / step) * step);
  const double plot_h = size.height - kTop - kBottom;
  const double slot = static_cast<double>(size.width - kLeft - kRight) / static_cast<double>(n);
  const double bar_w = std::max(1.0, slot * (n > 60 ? 0.9 : 0.7));
  std::string marks;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double base = kTop + plot_h;
    for (const auto& s : series) {
      const double v = i < s.values.size() ? finite_or_zero(s.values[i]) : 0.0;
      const double h = plot_h * v / axis_max;
      base -= h;
      marks += "<rect class=\"mark c" + std::to_string(s.colour) + "\" x=\"" +
               num(kLeft + slot * static_cast<double>(i) + (slot - bar_w) / 2) + "\" y=\"" + num(base) +
               "\" width=\"" + num(bar_w) + "\" height=\"" + num(h) + "\"><title>" + html_escape(axis.labels[i]) +
               ": " + html_escape(format_count(v)) + ' ' + html_escape(s.name) + "</title></rect>";
      ++count;
    }
  }
  return svg_open(id, title, size, count) + y_grid(axis_max, step, size, unit) + marks + x_labels(axis, size) +
         "</svg>";
}

std::string line_chart(const std::string& id, const std::string& title, const CategoryAxis& axis,
                       const ChartSeries& series, const std::string& unit, ChartSize size) {
  const std::size_t n = std::min(axis.labels.size(), series.values.size());
  if (n == 0) return no_data(id, title, size);
  double max = 0.0;
  std::size_t peak = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (finite_or_zero(series.values[i]) > max) {
      max = series.values[i];
      peak = i;
    }
  }
  const double step = nice_step(max, 5);
  const double axis_max = std::max(step, std::ceil(max / step) * step);
  const double plot_h = size.height - kTop - kBottom;
  const double slot = static_cast<double>(size.width - kLeft - kRight) / static_cast<double>(n);
  const auto x_of = [&](std::size_t i) { return kLeft + slot * (static_cast<double>(i) + 0.5); };
  const auto y_of = [&](double v) { return kTop + plot_h - plot_h * finite_or_zero(v) / axis_max; };
  std::string line = "M";
  for (std::size_t i = 0; i < n; ++i) line += (i ? " L" : "") + num(x_of(i)) + ' ' + num(y_of(series.values[i]));
  const std::string area = line + " L" + num(x_of(n - 1)) + ' ' + num(kTop + plot_h) + " L" + num(x_of(0)) + ' ' +
                           num(kTop + plot_h) + " Z";
  const std::string c = "c" + std::to_string(series.colour);
  std::string marks = "<path class=\"area " + c + "\" d=\"" + area + "\"/>";
  marks += "<path class=\"mark line " + c + "\" d=\"" + line + "\"><title>" + html_escape(series.name) + "</title></path>";
  marks += "<circle class=\"mark peak\" cx=\"" + num(x_of(peak)) + "\" cy=\"" + num(y_of(max)) + "\" r=\"4\"><title>" +
           html_escape(axis.labels[peak]) + ": " + html_escape(format_count(max)) + "</title></circle>";
  const std::string peak_text = "peak " + format_count(max) + " at " + axis.labels[peak];
  const double half = label_width(peak_text) * 0.55;  // bold: a little wider
  const double label_x = std::clamp(x_of(peak), half + 2, std::max(half + 2, size.width - half - 2));
  marks += "<text class=\"peak-label\" x=\"" + num(label_x) + "\" y=\"" + num(std::max(y_of(max) - 8, 12.0)) +
           "\" text-anchor=\"middle\">" + html_escape(peak_text) + "</text>";
  return svg_open(id, title, size, 2) + y_grid(axis_max, step, size, unit) + marks + x_labels(axis, size) + "</svg>";
}

std::string funnel_chart(const std::string& id, const std::string& title, const std::vector<FunnelStage>& stages,
                         ChartSize size) {
  if (stages.empty()) return no_data(id, title, size);
  double max = 0.0;
  for (const auto& s : stages) max = std::max(max, finite_or_zero(s.value));
  const double row_h = 56;
  size.height = static_cast<int>(row_h * static_cast<double>(stages.size()) + 16);
  const double label_w = 150;
  const double plot_w = size.width - label_w - 300;
  std::string marks;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const FunnelStage& s = stages[i];
    const double w = max > 0 ? std::max(plot_w * finite_or_zero(s.value) / max, 2.0) : 2.0;
    const double y = 8 + row_h * static_cast<double>(i);
    const double x = label_w + (plot_w - w) / 2;
    marks += "<text class=\"stage\" x=\"" + num(label_w - 12) + "\" y=\"" + num(y + row_h / 2 + 2) +
             "\" text-anchor=\"end\">" + html_escape(s.name) + "</text>";
    static constexpr int kStageColours[] = {0, 5, 3};
    marks += "<rect class=\"mark c" + std::to_string(kStageColours[i % 3]) + "\" x=\"" + num(x) + "\" y=\"" + num(y + 4) +
             "\" width=\"" + num(w) + "\" height=\"" + num(row_h - 12) + "\" rx=\"4\"><title>" + html_escape(s.name) +
             ": " + html_escape(format_count(s.value)) + "</title></rect>";
    const std::string value = format_count(s.value);
    const bool inside = w >= 12.0 * static_cast<double>(value.size()) + 16;  // else beside the bar, in ink
    marks += "<text class=\"stage-value" + std::string(inside ? "" : " outside") + "\" x=\"" +
             num(inside ? label_w + plot_w / 2 : x + w + 8) + "\" y=\"" + num(y + row_h / 2 + 3) +
             "\" text-anchor=\"" + (inside ? "middle" : "start") + "\">" + html_escape(value) + "</text>";
    marks += "<text class=\"stage-note\" x=\"" + num(label_w + plot_w + 16) + "\" y=\"" + num(y + row_h / 2 + 2) +
             "\">" + html_escape(s.note) + "</text>";
  }
  return svg_open(id, title, size, stages.size()) + marks + "</svg>";
}

}  // namespace footfall::aggregator::report
