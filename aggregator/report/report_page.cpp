#include "aggregator/report/report_page.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <vector>

#include "aggregator/report/report_text.h"
#include "aggregator/report/svg_chart.h"

namespace footfall::aggregator::report {
namespace {

std::string esc(const std::string& s) { return html_escape(s); }

// "2026-11-02" -> "Mon 2 Nov"; the text itself when it is no date.
std::string day_label(const std::string& date) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (date.size() < 10 || std::sscanf(date.c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3) return date;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok()) return date;
  static constexpr const char* kWeekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::chrono::weekday wd{std::chrono::sys_days{ymd}};
  return std::string(kWeekdays[wd.c_encoding()]) + ' ' + std::to_string(d) + ' ' + kMonths[m - 1];
}

// Splits "YYYY-MM-DDTHH:MM" into date and time of day.
std::pair<std::string, std::string> split_local(const std::string& at) {
  const auto t = at.find('T');
  if (t == std::string::npos) return {at, ""};
  return {at.substr(0, t), at.substr(t + 1, 5)};
}

// Category axis over local times: ticks on whole hours, every 1, 2, 3, 4, 6 or 12 hours so that about
// `ticks` of them fit, and the date under the start of each day.
CategoryAxis time_axis(const std::vector<std::string>& times, std::size_t ticks) {
  CategoryAxis axis;
  std::size_t days = 0;
  std::string last_date;
  for (const auto& t : times) {
    const auto [date, clock] = split_local(t);
    days += date != last_date ? 1 : 0;
    last_date = date;
  }
  int hours_per_tick = 24;
  for (int h : {1, 2, 3, 4, 6, 12}) {
    if (days * static_cast<std::size_t>(24 / h) <= ticks) {
      hours_per_tick = h;
      break;
    }
  }
  const std::size_t days_per_label = std::max<std::size_t>(1, (days + 13) / 14);  // at most 14 dates fit
  std::size_t day = 0;
  last_date.clear();
  for (const auto& t : times) {
    const auto [date, clock] = split_local(t);
    const bool new_day = date != last_date;
    last_date = date;
    const bool labelled_day = new_day && day++ % days_per_label == 0;
    axis.labels.push_back(day_label(date) + ' ' + clock);
    const bool whole_hour = clock.size() == 5 && clock.substr(2) == ":00";
    const int hour = whole_hour ? std::atoi(clock.c_str()) : -1;
    const bool tick = whole_hour && hour % hours_per_tick == 0 && !new_day;  // the date labels a day's start
    axis.tick_labels.push_back(tick ? clock : "");
    axis.group_labels.push_back(labelled_day ? day_label(date) : "");
  }
  return axis;
}

std::vector<double> values_of(const json& rows, std::string_view key) {
  std::vector<double> out;
  for (const auto& row : rows) out.push_back(number_member(row, key).value_or(std::numeric_limits<double>::quiet_NaN()));
  return out;
}

std::vector<std::string> texts_of(const json& rows, std::string_view key) {
  std::vector<std::string> out;
  for (const auto& row : rows) out.push_back(text_member(row, key));
  return out;
}

// Category axis over local dates: every date labelled up to two weeks, then every k-th so that 14 fit.
CategoryAxis day_axis(const std::vector<std::string>& dates) {
  CategoryAxis axis;
  const std::size_t every = std::max<std::size_t>(1, (dates.size() + 13) / 14);
  for (std::size_t i = 0; i < dates.size(); ++i) {
    const std::string label = day_label(dates[i]);
    axis.labels.push_back(label);
    axis.tick_labels.push_back(i % every == 0 ? label : "");
  }
  return axis;
}

std::string legend(const std::vector<std::pair<int, std::string>>& items) {
  std::string out = "<div class=\"legend\">";
  for (const auto& [colour, name] : items) {
    out += "<span><i class=\"swatch c" + std::to_string(colour) + "\"></i>" + esc(name) + "</span>";
  }
  return out + "</div>";
}

std::string no_data_note() { return "<p class=\"no-data\">no data</p>"; }

std::string section(const std::string& id, const std::string& title, const std::string& lead,
                    const std::string& body) {
  return "<section id=\"" + id + "\"><h2>" + esc(title) + "</h2>" +
         (lead.empty() ? "" : "<p class=\"lead\">" + lead + "</p>") + body + "</section>\n";
}

// --- header and headline cards ---

std::string card(const std::string& name, const std::string& value, const std::string& sub,
                 const std::string& tone = "") {
  return "<div class=\"card" + (tone.empty() ? "" : " " + tone) + "\"><div class=\"card-name\">" + esc(name) +
         "</div><div class=\"card-value\">" + esc(value) + "</div><div class=\"card-sub\">" + sub + "</div></div>";
}

std::string headline(const json& doc) {
  const json* summary_member = member(doc, "summary");
  if (summary_member == nullptr || !summary_member->is_object()) return section("summary", "The period at a glance", "", no_data_note());
  const json& s = *summary_member;
  std::string cards = "<div class=\"cards\">";
  cards += card("Awareness", count_of(s, "awareness"),
                "devices that came by, " + esc(count_of(s, "passers_by")) + " of them passers-by");
  cards += card("Acquisition", count_of(s, "acquisition"),
                "visitors: capture rate <b>" + esc(ratio_of(s, "capture_rate")) + "</b>");
  cards += card("Activation", count_of(s, "activation"),
                "engaged visitors: <b>" + esc(ratio_of(s, "activation_rate")) + "</b> of visitors");
  cards += card("Retention", ratio_of(s, "retain_rate"),
                esc(count_of(s, "returning_visitors")) + " returning of " + esc(count_of(s, "visitors")) + " visitors");
  cards += card("Revenue", money_of(s, "revenue"),
                esc(count_of(s, "transactions")) + " transactions, conversion <b>" + esc(ratio_of(s, "conversion")) +
                    "</b>, " + esc(money_of(s, "revenue_per_visitor")) + " per visitor");
  cards += card("Refer", count_of(s, "refer_estimate"),
                "estimate: new visitors who came and left with a returning one");
  cards += "</div><div class=\"stats\">";
  const auto stat = [](const std::string& name, const std::string& value) {
    return "<div><span>" + esc(name) + "</span><b>" + esc(value) + "</b></div>";
  };
  cards += stat("Visitors", count_of(s, "visitors"));
  cards += stat("New visitors", count_of(s, "new_visitors"));
  cards += stat("Bounces", count_of(s, "bounces"));
  cards += stat("Dwell (mean / median)", minutes_of(s, "dwell_mean_min") + " / " + minutes_of(s, "dwell_median_min"));
  const auto peak_hour = number_member(s, "peak_hour");
  char hour[32] = "\xE2\x80\x93";  // en dash
  if (peak_hour) {
    const int h = static_cast<int>(*peak_hour);
    std::snprintf(hour, sizeof hour, "%02d:00\xE2\x80\x93%02d:00", h, (h + 1) % 24);
  }
  cards += stat("Busiest hour (arrivals)", hour);
  std::string occupancy = count_of(s, "peak_occupancy");
  const std::string peak_at = text_member(s, "peak_occupancy_at");
  if (!peak_at.empty()) {
    const auto [date, clock] = split_local(peak_at);
    occupancy += " (" + day_label(date) + ' ' + clock + ")";
  }
  cards += stat("Peak occupancy", occupancy);
  cards += stat("Residents (not visitors)", count_of(s, "residents"));
  cards += "</div>";
  return section("summary", "The period at a glance", "", cards);
}

// --- footfall ---

std::string days_table(const json& days) {
  std::string t = "<table class=\"data\"><thead><tr><th>Day</th><th>Awareness</th><th>Visitors</th>"
                  "<th>Passers-by</th><th>Capture</th><th>Bounces</th><th>New</th><th>Returning</th>"
                  "<th>Transactions</th><th>Revenue</th><th>Conversion</th><th>Dwell median</th><th>Residents</th></tr></thead>"
                  "<tbody>";
  for (const auto& d : days) {
    t += "<tr><td>" + esc(day_label(text_member(d, "date"))) + "</td><td>" + esc(count_of(d, "awareness")) +
         "</td><td>" + esc(count_of(d, "visitors")) + "</td><td>" + esc(count_of(d, "passers_by")) + "</td><td>" +
         esc(ratio_of(d, "capture_rate")) + "</td><td>" + esc(count_of(d, "bounces")) + "</td><td>" +
         esc(count_of(d, "new_visitors")) + "</td><td>" + esc(count_of(d, "returning_visitors")) + "</td><td>" +
         esc(count_of(d, "transactions")) + "</td><td>" + esc(money_of(d, "revenue")) + "</td><td>" +
         esc(ratio_of(d, "conversion")) + "</td><td>" + esc(minutes_of(d, "dwell_median_min")) + "</td><td>" +
         esc(count_of(d, "residents")) + "</td></tr>";
  }
  return t + "</tbody></table>";
}

std::string footfall_by_day(const json& doc) {
  const json& days = array_member(doc, "days");
  if (days.empty()) return section("days", "Footfall by day", "", no_data_note());
  const CategoryAxis axis = day_axis(texts_of(days, "date"));
  const std::string chart =
      bar_chart("days", "Visitors and passers-by per day", axis,
                {{"visitors", values_of(days, "visitors"), 0}, {"passers-by", values_of(days, "passers_by"), 1}},
                "devices", {1100, 260});
  return section("days", "Footfall by day", "Distinct devices per local day: visitors came in, passers-by only went past.",
                 legend({{0, "visitors"}, {1, "passers-by"}}) + chart + days_table(days));
}

std::string footfall_by_hour(const json& doc) {
  const json& hours = array_member(doc, "hours");
  if (hours.empty()) return section("hours", "Footfall by hour", "", no_data_note());
  const CategoryAxis axis = time_axis(texts_of(hours, "start"), 28);
  const std::string chart =
      bar_chart("hours", "Visitors and passers-by per hour", axis,
                {{"visitors", values_of(hours, "visitors"), 0}, {"passers-by", values_of(hours, "passers_by"), 1}},
                "devices", {1100, 260});
  return section("hours", "Footfall by hour", "Distinct devices arriving in each local hour.",
                 legend({{0, "visitors"}, {1, "passers-by"}}) + chart);
}

std::string occupancy_curve(const json& doc) {
  const json& points = array_member(doc, "occupancy");
  if (points.empty()) return section("occupancy", "Occupancy", "", no_data_note());
  const CategoryAxis axis = time_axis(texts_of(points, "at"), 28);
  std::string lead = "Devices present at once";
  if (const auto step = number_member(doc, "occupancy_step_s")) {
    lead += ", one point every " + format_count(*step / 60.0) + " min";
  }
  // The card's peak is exact (every arrival and departure); the chart samples, so a short peak can fall
  // between two points: say so rather than show two numbers that disagree without a word.
  double chart_max = 0;
  for (const double v : values_of(points, "devices"))
    if (!std::isnan(v)) chart_max = std::max(chart_max, v);
  std::string note;
  const json* summary = member(doc, "summary");
  const auto peak = summary != nullptr ? number_member(*summary, "peak_occupancy") : std::nullopt;
  if (peak && *peak > chart_max) {
    const std::string at = summary != nullptr ? text_member(*summary, "peak_occupancy_at") : std::string();
    std::string when;
    if (!at.empty()) {
      const auto [date, clock] = split_local(at);
      when = " at " + day_label(date) + ' ' + clock;
    }
    note = "<p class=\"note\" data-occupancy-note=\"sampled\">The chart is sampled: its highest point is " +
           esc(format_count(chart_max)) + " devices, while the peak occupancy above (" + esc(format_count(*peak)) +
           " devices" + esc(when) +
           ") is exact, counted from every arrival and departure; that peak was brief and fell between two "
           "samples.</p>";
  } else if (peak) {
    note = "<p class=\"note\" data-occupancy-note=\"same\">The highest point of the chart is the peak occupancy "
           "above.</p>";
  }
  return section("occupancy", "Occupancy", lead + ".",
                 line_chart("occupancy", "Devices present at once", axis,
                            {"devices present", values_of(points, "devices"), 0}, "devices", {1100, 240}) +
                     note);
}

std::string dwell_histogram(const json& doc) {
  const json& buckets = array_member(doc, "dwell_histogram");
  if (buckets.empty()) return section("dwell", "Dwell time", "", no_data_note());
  CategoryAxis axis;
  bool any_bounces = false;
  for (const auto& b : buckets) {
    const std::string label = text_member(b, "bucket") + " min";
    axis.labels.push_back(label);
    axis.tick_labels.push_back(label);
    any_bounces = any_bounces || number_member(b, "bounces").value_or(0.0) > 0.0;
  }
  std::vector<ChartSeries> series{{"visitor visits", values_of(buckets, "visitors"), 0}};
  std::vector<std::pair<int, std::string>> keys{{0, "visitor visits"}};
  if (any_bounces) {
    series.push_back({"bounces", values_of(buckets, "bounces"), 2});
    keys.emplace_back(2, "bounces");
  }
  return section("dwell", "Dwell time", "Visits by how long they lasted (arrival to departure).",
                 legend(keys) + bar_chart("dwell", "Visits by dwell time", axis, series, "visits", {1100, 240}));
}

std::string funnel(const json& doc) {
  const json& stages = array_member(doc, "funnel");
  if (stages.empty()) return section("funnel", "3A funnel", "", no_data_note());
  std::vector<FunnelStage> out;
  static const std::map<std::string, std::string> kMeaning = {
      {"Awareness", "came by"}, {"Acquisition", "came in"}, {"Activation", "engaged"}};
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const json& s = stages[i];
    FunnelStage stage{.name = text_member(s, "stage"), .value = number_member(s, "value").value_or(0.0), .note = {}};
    if (const auto it = kMeaning.find(stage.name); it != kMeaning.end()) stage.note = it->second;
    if (i > 0) {
      auto rate = number_member(s, "rate");
      const auto before = number_member(stages[i - 1], "value");
      if (!rate && before && *before > 0 && number_member(s, "value")) rate = *number_member(s, "value") / *before;
      stage.note += std::string(stage.note.empty() ? "" : ": ") + (rate ? format_ratio(*rate) : kNoValue) +
                    " of " + text_member(stages[i - 1], "stage");
    }
    out.push_back(stage);
  }
  return section("funnel", "3A funnel", "From devices that came by to visitors who engaged (long stay or several zones).",
                 funnel_chart("funnel", "Awareness, acquisition, activation", out, {1100, 200}));
}

// Background of a heat cell: the share of the table's highest value.
std::string heat_style(double value, double max) {
  const double share = max > 0 ? std::clamp(value / max, 0.0, 1.0) : 0.0;
  char buf[96];
  std::snprintf(buf, sizeof buf, " style=\"background:rgba(29,78,216,%.2f);color:%s\"", 0.08 + 0.82 * share,
                share > 0.5 ? "#fff" : "#0f172a");
  return buf;
}

std::string zone_counts_table(const std::string& title, const json& rows) {
  std::string t = "<table class=\"data small\"><thead><tr><th>" + esc(title) + "</th><th>Visits</th></tr></thead><tbody>";
  for (const auto& r : rows) {
    t += "<tr><td>" + esc(text_member(r, "zone")) + "</td><td>" + esc(count_of(r, "count")) + "</td></tr>";
  }
  if (rows.empty()) t += "<tr><td colspan=\"2\" class=\"no-data\">no data</td></tr>";
  return t + "</tbody></table>";
}

std::string zone_flow(const json& doc) {
  const json* flow = member(doc, "zone_flow");
  if (flow == nullptr || !flow->is_object()) return section("zones", "Zone flow", "", no_data_note());
  const json& transitions = array_member(*flow, "transitions");
  std::vector<std::string> zones;
  const auto add_zone = [&](const std::string& z) {
    if (std::find(zones.begin(), zones.end(), z) == zones.end()) zones.push_back(z);
  };
  for (const auto& r : array_member(*flow, "entry")) add_zone(text_member(r, "zone"));
  std::map<std::pair<std::string, std::string>, double> counts;
  double max = 0.0;
  for (const auto& t : transitions) {
    const std::string from = text_member(t, "from");
    const std::string to = text_member(t, "to");
    add_zone(from);
    add_zone(to);
    const double c = number_member(t, "count").value_or(0.0);
    counts[{from, to}] += c;
    max = std::max(max, counts[{from, to}]);
  }
  for (const auto& r : array_member(*flow, "exit")) add_zone(text_member(r, "zone"));
  std::string body;
  if (transitions.empty()) {
    body = no_data_note();
  } else {
    body = "<table class=\"heat\" data-chart=\"zone-flow\"><thead><tr><th class=\"corner\">from \\ to</th>";
    for (const auto& z : zones) body += "<th>" + esc(z) + "</th>";
    body += "</tr></thead><tbody>";
    for (const auto& from : zones) {
      body += "<tr><th>" + esc(from) + "</th>";
      for (const auto& to : zones) {
        const auto it = counts.find({from, to});
        if (it == counts.end()) {
          body += "<td class=\"empty\"></td>";
        } else {
          body += "<td class=\"cell\"" + heat_style(it->second, max) + " title=\"" + esc(from) + " \xE2\x86\x92 " +
                  esc(to) + "\">" + esc(format_count(it->second)) + "</td>";
        }
      }
      body += "</tr>";
    }
    body += "</tbody></table>";
  }
  body += "<div class=\"side-by-side\">" + zone_counts_table("Entry zone", array_member(*flow, "entry")) +
          zone_counts_table("Exit zone", array_member(*flow, "exit")) + "</div>";
  return section("zones", "Zone flow",
                 "Moves of visitors from one zone (row) to the next (column); darker is more frequent.", body);
}

std::string new_vs_returning(const json& doc) {
  const json& rows = array_member(doc, "new_vs_returning");
  std::string body;
  if (rows.empty()) {
    body = no_data_note();
  } else {
    const CategoryAxis axis = day_axis(texts_of(rows, "date"));
    body = legend({{3, "new"}, {4, "returning"}}) +
           bar_chart("new-vs-returning", "New and returning visitors per day", axis,
                     {{"new", values_of(rows, "new"), 3}, {"returning", values_of(rows, "returning"), 4}}, "visitors",
                     {1100, 220});
  }
  // Retention by weekly cohort, and how often visitors came.
  const json* retention = member(doc, "retention");
  std::string cohorts = "<h3>Retention by first week</h3>";
  const json& cohort_rows = retention != nullptr ? array_member(*retention, "cohorts") : array_member(doc, "");
  if (cohort_rows.empty()) {
    cohorts += no_data_note();
  } else {
    cohorts += "<table class=\"data small\"><thead><tr><th>Week of</th><th>New visitors</th><th>Returned</th>"
               "<th>Rate</th></tr></thead><tbody>";
    for (const auto& c : cohort_rows) {
      cohorts += "<tr><td>" + esc(day_label(text_member(c, "cohort"))) + "</td><td>" + esc(count_of(c, "visitors")) +
                 "</td><td>" + esc(count_of(c, "returned")) + "</td><td>" + esc(ratio_of(c, "rate")) + "</td></tr>";
    }
    cohorts += "</tbody></table>";
  }
  std::string frequency = "<h3>Visits per visitor</h3>";
  const json& freq = array_member(doc, "frequency");
  if (freq.empty()) {
    frequency += no_data_note();
  } else {
    CategoryAxis axis;
    for (const auto& f : freq) {
      const std::string label = count_of(f, "visits") + (number_member(f, "visits").value_or(0) == 1 ? " visit" : " visits");
      axis.labels.push_back(label);
      axis.tick_labels.push_back(label);
    }
    frequency += bar_chart("frequency", "Visitors by number of visits", axis, {{"visitors", values_of(freq, "devices"), 5}},
                           "visitors", {540, 200});
  }
  std::string rate = retention != nullptr ? ratio_of(*retention, "rate") : kNoValue;
  return section("returning", "New and returning visitors",
                 "Returning visitors had a visitor visit on an earlier day within the returning window; retain rate " +
                     esc(rate) + ".",
                 body + "<div class=\"side-by-side\"><div>" + cohorts + "</div><div>" + frequency + "</div></div>");
}

std::string alerts(const json& doc) {
  const json& rows = array_member(doc, "alerts");
  if (rows.empty()) {
    return section("alerts", "Alerts", "", "<p class=\"all-clear\">No indicator fell below its threshold.</p>");
  }
  std::string t = "<table class=\"data alerts\"><thead><tr><th>Day</th><th>Indicator</th><th>Value</th>"
                  "<th>Baseline</th><th>Change</th><th>Threshold</th></tr></thead><tbody>";
  for (const auto& a : rows) {
    const auto change = number_member(a, "change");
    const auto threshold = number_member(a, "threshold");
    t += "<tr class=\"alert\"><td>" + esc(day_label(text_member(a, "date"))) + "</td><td>" +
         esc(text_member(a, "indicator")) + "</td><td>" + esc(number_member(a, "value") ? format_decimal(*number_member(a, "value"), 2) : kNoValue) +
         "</td><td>" + esc(number_member(a, "baseline") ? format_decimal(*number_member(a, "baseline"), 2) : kNoValue) +
         "</td><td class=\"change\">" + esc(change ? format_change(*change) : kNoValue) + "</td><td>" +
         esc(threshold ? "drop over " + format_ratio(*threshold) : kNoValue) + "</td></tr>";
  }
  return section("alerts", "Alerts",
                 "Days on which an indicator dropped below the mean of the same weekday in the four weeks before by "
                 "more than the threshold.",
                 t + "</tbody></table>");
}

std::string overlap(const json& doc) {
  const json* o = member(doc, "overlap");
  if (o == nullptr || !o->is_object()) return {};
  const json& sites = array_member(*o, "sites");
  const json& matrix = array_member(*o, "matrix");
  if (sites.empty() || matrix.empty()) return section("overlap", "Visitors shared between sites", "", no_data_note());
  std::string t = "<table class=\"heat\" data-chart=\"overlap\"><thead><tr><th class=\"corner\">visitors of \\ also at</th>";
  for (const auto& s : sites) t += "<th>" + esc(s.is_string() ? s.get<std::string>() : s.dump()) + "</th>";
  t += "</tr></thead><tbody>";
  for (std::size_t i = 0; i < sites.size(); ++i) {
    t += "<tr><th>" + esc(sites[i].is_string() ? sites[i].get<std::string>() : sites[i].dump()) + "</th>";
    for (std::size_t j = 0; j < sites.size(); ++j) {
      const json* v = i < matrix.size() && matrix[i].is_array() && j < matrix[i].size() ? &matrix[i][j] : nullptr;
      if (v == nullptr || !v->is_number()) {
        t += "<td class=\"empty\">" + std::string(kNoValue) + "</td>";
      } else if (i == j) {
        t += "<td class=\"self\">" + esc(format_ratio(v->get<double>())) + "</td>";
      } else {
        t += "<td class=\"cell\"" + heat_style(v->get<double>(), 1.0) + ">" + esc(format_ratio(v->get<double>())) + "</td>";
      }
    }
    t += "</tr>";
  }
  return section("overlap", "Visitors shared between sites",
                 "Share of each row site's visitors who were also visitors at the column site.", t + "</tbody></table>");
}

constexpr const char* kDefaultThresholdsNote =
    "No settings were given for this site (the report was made without a config that lists it): every figure "
    "uses the default thresholds and UTC below.";

std::string minutes_text(double seconds) {
  if (seconds < 60) return format_count(seconds) + " s";
  return format_count(seconds / 60.0) + " min";
}

// The site's thresholds in words, in the order a reader meets them; a key this page does not know is shown
// as it is.
std::vector<std::pair<std::string, std::string>> threshold_words(const json& th) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto number = [&](const char* key) { return number_member(th, key); };
  if (const std::string zone = text_member(th, "time_zone"); !zone.empty()) {
    out.emplace_back("Local time", zone + " (with summer time)");
  } else if (const auto m = number("utc_offset_min")) {
    const int v = static_cast<int>(*m);
    char buf[48];
    std::snprintf(buf, sizeof buf, "UTC%c%02d:%02d all year", v < 0 ? '-' : '+', std::abs(v) / 60, std::abs(v) % 60);
    out.emplace_back("Local time", buf);
  }
  if (const auto v = number("visitor_rssi_dbm")) {
    const bool by_max = text_member(th, "visitor_rssi_stat") == "max";
    out.emplace_back("A visitor is heard at least this loud",
                     format_count(*v) + " dBm (" + (by_max ? "strongest frame" : "mean of the frames") + " of a probe)");
  }
  if (const auto v = number("visitor_min_dwell_s")) out.emplace_back("A visitor stays at least", minutes_text(*v));
  if (const auto v = number("engaged_dwell_s")) {
    std::string zones;
    if (const auto z = number("engaged_min_zones")) zones = ", or goes through " + format_count(*z) + " zones";
    out.emplace_back("An engaged visit lasts", minutes_text(*v) + zones);
  }
  if (const auto v = number("returning_window_days"))
    out.emplace_back("A visitor is returning when seen before within", format_count(*v) + " days");
  if (const auto a = number("refer_arrival_s"), d = number("refer_departure_s"); a && d)
    out.emplace_back("Referred: came with a returning visitor",
                     "arrived within " + minutes_text(*a) + " and left within " + minutes_text(*d) + " of them");
  if (const auto v = number("alert_drop")) {
    std::string baseline;
    if (const auto b = number("alert_min_baseline_days"))
      baseline = ", once " + format_count(*b) + " of the 4 same weekdays before have data";
    out.emplace_back("Alert when a daily figure falls", format_ratio(*v) + " below its usual level" + baseline);
  }
  if (const auto v = number("resident_min_hours"))
    out.emplace_back("Resident (staff, the site's own devices)",
                     *v > 0 ? "present " + format_count(*v) + " h or more of a day" : "not set apart");
  if (const auto v = number("occupancy_step_s")) out.emplace_back("Occupancy sampled every", minutes_text(*v));
  if (const auto v = number("report_occupancy_points"))
    out.emplace_back("Most points in the occupancy chart", format_count(*v) + " (longer reports merge samples)");
  static constexpr std::string_view kWorded[] = {
      "time_zone",       "utc_offset_min",        "visitor_rssi_dbm", "visitor_rssi_stat",  "visitor_min_dwell_s",
      "engaged_dwell_s", "engaged_min_zones",     "returning_window_days", "refer_arrival_s", "refer_departure_s",
      "alert_drop",      "alert_min_baseline_days", "resident_min_hours", "occupancy_step_s", "report_occupancy_points"};
  for (const auto& [key, value] : th.items()) {
    if (std::find(std::begin(kWorded), std::end(kWorded), key) != std::end(kWorded)) continue;
    out.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
  }
  return out;
}

std::string definitions(const json& doc) {
  std::string thresholds;
  if (const json* th = member(doc, "thresholds"); th != nullptr && th->is_object() && !th->empty()) {
    const bool defaults = text_member(doc, "thresholds_source") == "defaults";
    thresholds = defaults ? "<h3>Thresholds: the defaults</h3><p class=\"note\" data-thresholds=\"defaults\">" +
                                esc(kDefaultThresholdsNote) + "</p>"
                          : std::string("<h3>Thresholds of this site</h3>");
    thresholds += "<dl class=\"thresholds\">";
    for (const auto& [name, value] : threshold_words(*th)) {
      thresholds += "<dt>" + esc(name) + "</dt><dd>" + esc(value) + "</dd>";
    }
    thresholds += "</dl>";
  }
  const std::string text = R"(<dl class="definitions">
<dt>Awareness</dt><dd>Distinct devices heard with a visit arriving in the period, passers-by included.</dd>
<dt>Acquisition (visitors)</dt><dd>Devices with a visitor visit: strong enough signal for at least the visitor dwell threshold. Capture rate = acquisition / awareness.</dd>
<dt>Activation</dt><dd>Visitors with an engaged visit: a long stay or several zones. Activation rate = activation / acquisition.</dd>
<dt>Retention</dt><dd>Returning visitors had a visitor visit on an earlier day within the returning window. Retain rate = returning / visitors.</dd>
<dt>Revenue</dt><dd>Sales the site reported in the period: transactions and their sum. Conversion = transactions / visitors.</dd>
<dt>Refer</dt><dd>An estimate: new visitors who arrived and left together with a returning visitor.</dd>
<dt>Passers-by, bounces</dt><dd>Passers-by were heard but never came in; bounces came in and left before the visitor threshold.</dd>
<dt>Dwell, occupancy</dt><dd>Dwell is the time from arrival to departure of a visit; occupancy counts devices present at once.</dd>
<dt>Residents</dt><dd>Devices present at least resident_min_hours of a local day (staff, the site's own computers and printers): on such a day they are in no other figure, occupancy included.</dd>
</dl>
<p class="note">Counts are of distinct devices, which are pseudonyms renewed by the site's key rotation: a visitor is recognised as returning only within one key period. Times are the site's local time.</p>
<p class="note">Tables of this report as CSV, in this folder: summary.csv, days.csv, hours.csv, occupancy.csv, dwell.csv, funnel.csv, zone_flow.csv, zone_entry.csv, zone_exit.csv, new_vs_returning.csv, retention.csv, frequency.csv, alerts.csv, overlap.csv.</p>)";
  return "<footer id=\"definitions\"><h2>Definitions</h2>" + text + thresholds + "</footer>\n";
}

constexpr const char* kStyle = R"(
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--panel:#fff;--bg:#f1f5f9;--alert:#b91c1c;--alert-bg:#fef2f2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header.top{background:#0f172a;color:#fff;padding:22px 32px}
header.top h1{margin:0;font-size:26px;font-weight:650;letter-spacing:.2px}
header.top .meta{color:#cbd5e1;margin-top:4px}
main{max-width:1180px;margin:0 auto;padding:20px 24px 8px}
section,footer{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin:0 0 16px;break-inside:avoid}
h2{font-size:17px;margin:0 0 4px}
h3{font-size:14px;margin:12px 0 6px}
.lead{color:var(--muted);margin:0 0 10px}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:10px}
.card{border:1px solid var(--line);border-top:4px solid #1d4ed8;border-radius:8px;padding:10px 12px}
.card:nth-child(2){border-top-color:#2563eb}.card:nth-child(3){border-top-color:#0891b2}
.card:nth-child(4){border-top-color:#10b981}.card:nth-child(5){border-top-color:#f59e0b}.card:nth-child(6){border-top-color:#a855f7}
.card-name{font-size:12px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);font-weight:600}
.card-value{font-size:26px;font-weight:700;margin:2px 0;font-variant-numeric:tabular-nums}
.card-sub{font-size:12px;color:var(--muted)}
.stats{display:grid;grid-template-columns:repeat(6,1fr);gap:10px;margin-top:10px}
.stats div{background:var(--bg);border-radius:6px;padding:6px 10px}
.stats span{display:block;font-size:12px;color:var(--muted)}
.stats b{font-variant-numeric:tabular-nums}
svg.chart{width:100%;height:auto;display:block}
svg .grid{stroke:var(--line)} svg .axis{stroke:#94a3b8} svg .group{stroke:#cbd5e1;stroke-dasharray:3 3}
svg text{font-size:11px;fill:var(--muted)} svg .group-label{fill:var(--ink);font-weight:600}
svg .unit{font-style:italic} svg .no-data{font-size:14px}
svg .stage{font-size:14px;fill:var(--ink);font-weight:600} svg .stage-value{font-size:15px;fill:#fff;font-weight:700} svg .stage-value.outside{fill:var(--ink)}
svg .stage-note{font-size:13px;fill:var(--muted)} svg .peak-label{fill:var(--ink);font-weight:600}
.c0{fill:#1d4ed8;background:#1d4ed8}.c1{fill:#93c5fd;background:#93c5fd}.c2{fill:#f59e0b;background:#f59e0b}
.c3{fill:#10b981;background:#10b981}.c4{fill:#a855f7;background:#a855f7}.c5{fill:#0891b2;background:#0891b2}
path.line{fill:none;stroke-width:2} path.line.c0{stroke:#1d4ed8} path.area{opacity:.15;stroke:none}
circle.peak{fill:#b91c1c}
.legend{display:flex;gap:16px;font-size:12px;color:var(--muted);margin:0 0 4px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.data{width:100%;margin-top:10px;font-size:13px}
table.data th,table.data td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
table.data th:first-child,table.data td:first-child{text-align:left}
table.data thead th{color:var(--muted);font-weight:600;border-bottom:2px solid var(--line)}
table.small{width:auto;min-width:260px}
table.heat{margin:6px 0 10px;font-size:13px}
table.heat th{padding:5px 8px;text-align:left;color:var(--muted);font-weight:600}
table.heat thead th{text-align:center}
table.heat td{width:92px;height:34px;text-align:center;border:2px solid #fff;border-radius:4px}
table.heat td.empty{background:#f8fafc;color:#cbd5e1} table.heat td.self{background:#e2e8f0;color:var(--muted)}
.side-by-side{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
.side-by-side>div{flex:1;min-width:300px}
table.alerts td:nth-child(2),table.alerts th:nth-child(2){text-align:left} table.alerts tr.alert td{background:var(--alert-bg);color:var(--alert)} table.alerts td.change{font-weight:700}
#alerts.has-alerts{border-color:#fca5a5;border-left:6px solid var(--alert)}
.all-clear{color:#047857;font-weight:600;margin:4px 0}
.no-data{color:var(--muted);font-style:italic}
footer dl{display:grid;grid-template-columns:190px 1fr;gap:4px 12px;margin:6px 0}
footer dt{font-weight:600} footer dd{margin:0;color:#334155}
dl.thresholds{grid-template-columns:240px 1fr;font-size:12px} dl.thresholds dd{font-family:ui-monospace,monospace}
.note{color:var(--muted);font-size:12px}
@media (max-width:900px){.cards,.stats{grid-template-columns:repeat(2,1fr)}}
@media print{
 body{background:#fff;font-size:11px} header.top{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 8px}
 header.top .meta{color:#333} main{max-width:none;padding:0}
 section,footer{border:none;border-radius:0;padding:6px 0;margin:0 0 10px;page-break-inside:avoid}
 *{-webkit-print-color-adjust:exact;print-color-adjust:exact} .cards,.stats{grid-template-columns:repeat(3,1fr)}
}
)";

// Checks after layout that every chart holds the marks it announces; the result is left on <body> for
// automated viewers (data-charts, data-rendered). It draws nothing: the charts are plain SVG.
constexpr const char* kLayoutCheck = R"(
(function(){var charts=document.querySelectorAll('svg.chart'),ok=0;
charts.forEach(function(svg){var want=Number(svg.getAttribute('data-marks')),marks=svg.querySelectorAll('.mark'),drawn=0;
marks.forEach(function(m){var b=m.getBBox();if(b.width>0||b.height>0)drawn++;});
svg.setAttribute('data-drawn',String(drawn));
var vb=svg.viewBox.baseVal,cut=[];svg.querySelectorAll('text').forEach(function(t){var b=t.getBBox();
if(b.x<vb.x-0.5||b.y<vb.y-0.5||b.x+b.width>vb.x+vb.width+0.5||b.y+b.height>vb.y+vb.height+0.5)cut.push(t.textContent);});
svg.setAttribute('data-cut',String(cut.length));if(cut.length)svg.setAttribute('data-cut-labels',cut.join('|'));
if(svg.getBoundingClientRect().width>0&&marks.length===want&&(want===0||drawn>0))ok++;});
document.body.setAttribute('data-charts',String(charts.length));document.body.setAttribute('data-rendered',String(ok));})();
)";

}  // namespace

std::string report_sections(const json& doc) {
  std::string alerts_html = alerts(doc);
  if (!array_member(doc, "alerts").empty()) {
    alerts_html.replace(0, std::string("<section id=\"alerts\"").size(), "<section id=\"alerts\" class=\"has-alerts\"");
  }
  std::string page;
  if (!doc.is_object()) page += "<section><p class=\"no-data\">no data: the report document is empty</p></section>";
  page += headline(doc);
  page += alerts_html;
  page += footfall_by_day(doc);
  page += footfall_by_hour(doc);
  page += occupancy_curve(doc);
  page += dwell_histogram(doc);
  page += funnel(doc);
  page += zone_flow(doc);
  page += new_vs_returning(doc);
  page += overlap(doc);
  page += definitions(doc);
  return page;
}

std::string_view report_style() { return kStyle; }

std::string report_page(const json& doc) {
  const std::string site = text_member(doc, "site");
  const std::string tenant = text_member(doc, "tenant");
  const std::string from = text_member(doc, "from");
  std::string last = text_member(doc, "last_day");
  if (last.empty()) last = text_member(doc, "to");
  std::string offset;
  if (const auto minutes = number_member(doc, "utc_offset_min")) {
    const int m = static_cast<int>(*minutes);
    char buf[32];
    std::snprintf(buf, sizeof buf, "UTC%c%02d:%02d", m < 0 ? '-' : '+', std::abs(m) / 60, std::abs(m) % 60);
    offset = buf;
  }
  // A named zone: its summer time is in the figures, so the offset of the first day alone would mislead.
  if (const std::string zone = text_member(doc, "time_zone"); !zone.empty()) offset = zone;
  const std::string title = (site.empty() ? std::string("Site") : site) + " \xE2\x80\x94 visitor report";
  std::string period = from.empty() ? std::string("no period") : day_label(from) + " " + from.substr(0, 4);
  if (!last.empty() && last != from) period += " \xE2\x80\x93 " + day_label(last) + " " + last.substr(0, 4);
  std::string meta = esc(period);
  if (!offset.empty()) meta += " &middot; local time " + esc(offset);
  if (!tenant.empty()) meta += " &middot; " + esc(tenant);
  if (text_member(doc, "thresholds_source") == "defaults")
    meta += " &middot; <b data-thresholds=\"defaults\">default thresholds</b> (<a href=\"#definitions\">why</a>)";
  const std::string generated = text_member(doc, "generated_at");
  if (!generated.empty()) meta += " &middot; generated " + esc(generated);

  std::string page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<title>" + esc(title) + "</title><style>" + kStyle + "</style></head>\n<body>\n"
                     "<header class=\"top\"><h1>" + esc(title) + "</h1><div class=\"meta\">" + meta + "</div></header>\n<main>\n";
  page += report_sections(doc);
  page += "</main>\n<script>";
  page += kLayoutCheck;
  page += "</script>\n</body></html>\n";
  return page;
}

}  // namespace footfall::aggregator::report
