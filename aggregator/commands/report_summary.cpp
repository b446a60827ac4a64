#include "aggregator/commands/report_summary.h"

#include <cstdio>
#include <string>

namespace footfall::aggregator {

namespace {

const nlohmann::json& member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json null_value;
  if (!object.is_object()) return null_value;
  const auto it = object.find(key);
  return it == object.end() ? null_value : *it;
}

std::string count(const nlohmann::json& v) {
  if (!v.is_number()) return "-";
  std::string digits = std::to_string(v.get<long long>());
  // Thousands separators: figures of a mall run into the tens of thousands.
  for (int i = static_cast<int>(digits.size()) - 3; i > (digits[0] == '-' ? 1 : 0); i -= 3)
    digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

std::string percent(const nlohmann::json& v) {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", v.get<double>() * 100.0);
  return buf;
}

std::string number(const nlohmann::json& v, const char* format) {
  if (!v.is_number()) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v.get<double>());
  return buf;
}

void row(std::ostream& out, const char* indicator, const char* meaning, const std::string& value,
         const std::string& note) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "  %-12s %-34s %12s   %s\n", indicator, meaning, value.c_str(), note.c_str());
  out << buf;
}

}  // namespace

void print_report_summary(const nlohmann::json& doc, std::ostream& out) {
  const auto& s = member(doc, "summary");
  const auto text = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : std::string("-"); };
  out << "\n" << text(member(doc, "tenant")) << " / " << text(member(doc, "site")) << ", "
      << text(member(doc, "from")) << " to " << text(member(doc, "last_day").is_null() ? member(doc, "to") : member(doc, "last_day"))
      << " (local days)\n\n";
  out << "  3A3R\n";
  row(out, "Awareness", "devices detected", count(member(s, "awareness")), "passers-by included");
  row(out, "Acquisition", "visitors", count(member(s, "acquisition")),
      "capture rate " + percent(member(s, "capture_rate")));
  row(out, "Activation", "engaged visitors", count(member(s, "activation")),
      percent(member(s, "activation_rate")) + " of visitors");
  row(out, "Retain", "returning visitors", count(member(s, "returning_visitors")),
      "retain rate " + percent(member(s, "retain_rate")));
  row(out, "Revenue", "transactions", count(member(s, "transactions")),
      "revenue " + number(member(s, "revenue"), "%.2f") + ", conversion " + percent(member(s, "conversion")) +
          ", per visitor " + number(member(s, "revenue_per_visitor"), "%.2f"));
  row(out, "Refer", "new visitors with a returning one", count(member(s, "refer_estimate")), "an estimate");
  out << "\n  Visitor flow\n";
  row(out, "", "passers-by", count(member(s, "passers_by")), "");
  row(out, "", "visitors", count(member(s, "visitors")),
      "new " + count(member(s, "new_visitors")) + ", returning " + count(member(s, "returning_visitors")));
  row(out, "", "bounces", count(member(s, "bounces")), "left before the visitor dwell");
  row(out, "", "dwell of visitors, minutes", number(member(s, "dwell_mean_min"), "%.1f"),
      "mean; median " + number(member(s, "dwell_median_min"), "%.1f"));
  const auto& peak_hour = member(s, "peak_hour");
  row(out, "", "peak hour (visitor arrivals)",
      peak_hour.is_number() ? number(peak_hour, "%02.0f") + ":00" : std::string("-"), "");
  row(out, "", "peak occupancy (devices at once)", count(member(s, "peak_occupancy")),
      member(s, "peak_occupancy_at").is_string() ? "at " + member(s, "peak_occupancy_at").get<std::string>() : "");
  const auto& transitions = member(member(doc, "zone_flow"), "transitions");
  if (transitions.is_array() && !transitions.empty()) {
    out << "\n  Zone flow (moves between zones)\n";
    for (const auto& t : transitions)
      row(out, "", (text(member(t, "from")) + " -> " + text(member(t, "to"))).c_str(), count(member(t, "count")), "");
  }
  const auto& alerts = member(doc, "alerts");
  if (alerts.is_array() && !alerts.empty()) {
    out << "\n  Alerts\n";
    for (const auto& a : alerts)
      row(out, text(member(a, "date")).c_str(), text(member(a, "indicator")).c_str(), percent(member(a, "change")),
          "vs the same weekday's 4-week mean");
  }
  out << "\n";
}

}  // namespace footfall::aggregator
