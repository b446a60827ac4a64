#include "aggregator/aggregate/report_document.h"

#include <chrono>
#include <climits>
#include <map>

#include "aggregator/aggregate/local_time.h"
#include "aggregator/aggregate/visit_table.h"
#include "aggregator/aggregate/window_scratch.h"
#include "common/clock.h"

namespace footfall::aggregator {
namespace {

// First-visit cohorts by local week: devices new on a day of the week, and how many came back on a later day
// within the returning window (seen before the end of the range).
std::vector<Cohort> cohorts_of(const VisitTable& table, std::int32_t from_day, std::int32_t to_day,
                               const SiteThresholds& thr) {
  const auto devices = static_cast<std::size_t>(table.devices);
  std::vector<std::int32_t> seen_day(devices, INT_MIN);
  std::vector<std::int32_t> cohort_day(devices, INT_MIN);
  std::vector<std::int32_t> cohort_week(devices, INT_MIN);
  std::vector<std::uint8_t> returned(devices, 0);
  std::map<std::int32_t, Cohort> cohorts;
  const auto [b, e] = table.slice(table.clock.day_start(from_day), table.clock.day_start(to_day));
  for (std::size_t i = b; i < e; ++i) {
    const VisitRow& r = table.rows[i];
    if (!r.is(visitor)) continue;
    const auto d = static_cast<std::size_t>(r.device);
    if (seen_day[d] == r.day) continue;  // one decision per device and day
    seen_day[d] = r.day;
    if (!r.is(returning)) {
      const std::int32_t week = LocalClock::monday_of(r.day);
      if (cohort_week[d] == week) continue;
      cohort_week[d] = week;
      cohort_day[d] = r.day;
      returned[d] = 0;
      ++cohorts[week].visitors;
    } else if (cohort_day[d] != INT_MIN && returned[d] == 0 && r.day - cohort_day[d] <= thr.returning_window_days) {
      returned[d] = 1;
      ++cohorts[cohort_week[d]].returned;
    }
  }
  std::vector<Cohort> out;
  for (auto& [week, c] : cohorts) {
    c.week = week;
    c.complete = week + 6 + thr.returning_window_days < to_day;
    out.push_back(c);
  }
  return out;
}

nlohmann::json rate(std::int64_t num, std::int64_t den) {
  return den > 0 ? nlohmann::json(static_cast<double>(num) / static_cast<double>(den)) : nlohmann::json(nullptr);
}

nlohmann::json cohort_list(const std::vector<Cohort>& cohorts) {
  nlohmann::json out = nlohmann::json::array();
  for (const Cohort& c : cohorts) {
    out.push_back({{"cohort", LocalClock::date(c.week)},
                   {"visitors", c.visitors},
                   {"returned", c.returned},
                   {"rate", rate(c.returned, c.visitors)},
                   {"complete", c.complete}});
  }
  return out;
}

}  // namespace

ReportDocument report_document(const std::vector<Visit>& visits, const std::vector<Sale>& sales,
                               const SiteThresholds& thr, TimeMs from, TimeMs to, const std::string& tenant,
                               const std::string& site) {
  const VisitTable table = build_visit_table(visits, thr);
  const SalesLedger ledger(sales);
  WindowScratch scratch(table, ledger);
  const LocalClock& clock = table.clock;
  ReportDocument doc;
  doc.tenant = tenant;
  doc.site = site;
  doc.thresholds = thr;
  doc.from_day = clock.day_of(from);
  doc.to_day = to > from ? clock.day_of(to - 1) + 1 : doc.from_day;
  const TimeMs from_ms = clock.day_start(doc.from_day);
  const TimeMs to_ms = clock.day_start(doc.to_day);

  doc.summary = scratch.figures(from_ms, to_ms, WindowDetail::full);
  // Days of the range and the four weeks before them (the alerts' baselines).
  const std::int32_t first_day = doc.from_day - 28;
  std::vector<WindowFigures> day_figures;
  day_figures.reserve(static_cast<std::size_t>(doc.to_day - first_day));
  for (std::int32_t d = first_day; d < doc.to_day; ++d) {
    day_figures.push_back(scratch.figures(clock.day_start(d), clock.day_start(d + 1), WindowDetail::counts));
  }
  const auto figures_of = [&](std::int32_t d) -> const WindowFigures& {
    return day_figures[static_cast<std::size_t>(d - first_day)];
  };
  for (std::int32_t d = doc.from_day; d < doc.to_day; ++d) {
    doc.days.push_back(figures_of(d));
    for (IndicatorAlert& a : alerts_on(d, figures_of, thr)) doc.alerts.push_back(std::move(a));
  }
  doc.hours = interval_figures(scratch, clock.hour_starts(from_ms, to_ms), to_ms);
  doc.occupancy =
      occupancy_points(scratch, from_ms, to_ms, TimeMs{thr.occupancy_step_s} * 1000, thr.report_occupancy_points);
  doc.cohorts = cohorts_of(table, doc.from_day, doc.to_day, thr);
  doc.generated_at = clock::wall_ms();
  return doc;
}

nlohmann::json to_json(const ReportDocument& doc) {
  const LocalClock clock = doc.clock();
  const WindowFigures& summary = doc.summary;
  nlohmann::json days = nlohmann::json::array();
  nlohmann::json new_vs_returning = nlohmann::json::array();
  for (std::size_t i = 0; i < doc.days.size(); ++i) {
    const WindowFigures& f = doc.days[i];
    const std::int32_t d = doc.from_day + static_cast<std::int32_t>(i);
    const std::string date = LocalClock::date(d);
    nlohmann::json day = figures_json(f, clock);
    day["date"] = date;
    day["length_h"] = static_cast<double>(clock.day_start(d + 1) - clock.day_start(d)) / static_cast<double>(hour_ms);
    days.push_back(std::move(day));
    new_vs_returning.push_back({{"date", date}, {"new", f.new_visitors}, {"returning", f.returning_visitors}});
  }
  nlohmann::json alerts = nlohmann::json::array();
  for (const IndicatorAlert& a : doc.alerts) alerts.push_back(to_json(a));
  return {
      {"format", "footfall-report/1"},
      {"tenant", doc.tenant},
      {"site", doc.site},
      {"from", LocalClock::date(doc.from_day)},
      {"to", LocalClock::date(doc.to_day)},
      {"last_day", LocalClock::date(doc.to_day - 1)},
      {"from_ms", clock.day_start(doc.from_day)},
      {"to_ms", clock.day_start(doc.to_day)},
      {"utc_offset_min", clock.offset_ms(clock.day_start(doc.from_day)) / 60'000},
      {"time_zone", doc.thresholds.time_zone.empty() ? nlohmann::json() : nlohmann::json(doc.thresholds.time_zone)},
      {"generated_at", utc_iso(doc.generated_at)},
      {"thresholds", doc.thresholds.to_json()},
      {"summary", figures_json(summary, clock)},
      {"days", std::move(days)},
      {"hours", interval_list(doc.hours, clock)},
      {"occupancy_step_s", doc.occupancy.step_ms / 1000},
      {"occupancy", occupancy_list(doc.occupancy, clock)},
      {"dwell_histogram", dwell_histogram_list(summary)},
      {"funnel",
       {{{"stage", "Awareness"}, {"value", summary.awareness}, {"rate", nullptr}},
        {{"stage", "Acquisition"}, {"value", summary.visitors}, {"rate", rate(summary.visitors, summary.awareness)}},
        {{"stage", "Activation"}, {"value", summary.activation}, {"rate", rate(summary.activation, summary.visitors)}}}},
      {"retention",
       {{"rate", number_or_null(summary.retain_rate())},
        {"window_days", doc.thresholds.returning_window_days},
        {"cohorts", cohort_list(doc.cohorts)}}},
      {"frequency", frequency_list(summary)},
      {"zone_flow", to_json(summary.zone_flow)},
      {"new_vs_returning", std::move(new_vs_returning)},
      {"alerts", std::move(alerts)},
      {"overlap", doc.overlap ? to_json(*doc.overlap) : nlohmann::json(nullptr)},
  };
}

}  // namespace footfall::aggregator
