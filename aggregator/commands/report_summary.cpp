#include "aggregator/commands/report_summary.h"

#include <cstdio>
#include <string>

namespace footfall::aggregator {

namespace {

std::string count(std::int64_t v) {
  std::string digits = std::to_string(v);
  // Thousands separators: figures of a mall run into the tens of thousands.
  for (int i = static_cast<int>(digits.size()) - 3; i > (digits[0] == '-' ? 1 : 0); i -= 3)
    digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

std::string percent(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *v * 100.0);
  return buf;
}

std::string number(const std::optional<double>& v, const char* format) {
  if (!v) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

void row(std::ostream& out, const char* indicator, const char* meaning, const std::string& value,
         const std::string& note) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "  %-12s %-34s %12s   %s\n", indicator, meaning, value.c_str(), note.c_str());
  out << buf;
}

}  // namespace

void print_report_summary(const ReportDocument& doc, std::ostream& out) {
  const WindowFigures& s = doc.summary;
  out << "\n" << doc.tenant << " / " << doc.site << ", " << LocalClock::date(doc.from_day) << " to "
      << LocalClock::date(doc.to_day - 1) << " (local days)\n\n";
  out << "  3A3R\n";
  row(out, "Awareness", "devices detected", count(s.awareness), "passers-by included");
  row(out, "Acquisition", "visitors", count(s.visitors), "capture rate " + percent(s.capture_rate()));
  row(out, "Activation", "engaged visitors", count(s.activation), percent(s.activation_rate()) + " of visitors");
  row(out, "Retain", "returning visitors", count(s.returning_visitors), "retain rate " + percent(s.retain_rate()));
  row(out, "Revenue", "transactions", count(s.transactions),
      "revenue " + number(s.revenue, "%.2f") + ", conversion " + percent(s.conversion()) + ", per visitor " +
          number(s.revenue_per_visitor(), "%.2f"));
  row(out, "Refer", "new visitors with a returning one", count(s.refer_estimate), "an estimate");
  out << "\n  Visitor flow\n";
  row(out, "", "passers-by", count(s.passers_by()), "");
  row(out, "", "visitors", count(s.visitors),
      "new " + count(s.new_visitors) + ", returning " + count(s.returning_visitors));
  row(out, "", "bounces", count(s.bounces), "left before the visitor dwell");
  row(out, "", "dwell of visitors, minutes", number(s.dwell_mean_min, "%.1f"),
      "mean; median " + number(s.dwell_median_min, "%.1f"));
  row(out, "", "peak hour (visitor arrivals)",
      s.peak_hour ? number(static_cast<double>(*s.peak_hour), "%02.0f") + ":00" : std::string("-"), "");
  row(out, "", "peak occupancy (devices at once)", count(s.peak_occupancy),
      s.peak_occupancy > 0 ? "at " + doc.clock().local_minute(s.peak_occupancy_at) : "");
  row(out, "", "residents (in no figure above)", count(s.residents), "staff and the site's own devices");
  if (!s.zone_flow.transitions.empty()) {
    out << "\n  Zone flow (moves between zones)\n";
    for (const ZoneMove& t : s.zone_flow.transitions) row(out, "", (t.from + " -> " + t.to).c_str(), count(t.count), "");
  }
  if (!doc.alerts.empty()) {
    out << "\n  Alerts\n";
    for (const IndicatorAlert& a : doc.alerts)
      row(out, LocalClock::date(a.day).c_str(), a.indicator, percent(a.change), "vs the same weekday's 4-week mean");
  }
  out << "\n";
}

}  // namespace footfall::aggregator
