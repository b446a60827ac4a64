#include "aggregator/aggregate/report_document.h"

#include <chrono>
#include <climits>
#include <map>

#include "aggregator/aggregate/daily_alerts.h"
#include "aggregator/aggregate/figure_lists.h"
#include "aggregator/aggregate/local_time.h"
#include "aggregator/aggregate/visit_table.h"
#include "aggregator/aggregate/window_figures.h"
#include "common/clock.h"

namespace footfall::aggregator {
namespace {

struct Cohort {
  std::int64_t visitors = 0;
  std::int64_t returned = 0;
};

// First-visit cohorts by local week: devices new on a day of the week, and how many came back on a later day
// within the returning window (seen before the end of the range).
nlohmann::json cohort_list(const VisitTable& table, std::int32_t from_day, std::int32_t to_day,
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
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [week, c] : cohorts) {
    out.push_back({{"cohort", LocalClock::date(week)},
                   {"visitors", c.visitors},
                   {"returned", c.returned},
                   {"rate", c.visitors > 0 ? nlohmann::json(static_cast<double>(c.returned) / static_cast<double>(c.visitors))
                                           : nlohmann::json(nullptr)},
                   {"complete", week + 6 + thr.returning_window_days < to_day}});
  }
  return out;
}

}  // namespace

nlohmann::json report_document(const std::vector<Visit>& visits, const std::vector<Sale>& sales,
                               const SiteThresholds& thr, TimeMs from, TimeMs to, const std::string& tenant,
                               const std::string& site) {
  const VisitTable table = build_visit_table(visits, thr);
  const SalesLedger ledger(sales);
  WindowScratch scratch(table, ledger);
  const LocalClock& clock = table.clock;
  const std::int32_t from_day = clock.day_of(from);
  const std::int32_t to_day = to > from ? clock.day_of(to - 1) + 1 : from_day;
  const TimeMs from_ms = clock.day_start(from_day);
  const TimeMs to_ms = clock.day_start(to_day);

  const WindowFigures summary = scratch.figures(from_ms, to_ms, WindowDetail::full);

  // Days of the range and the four weeks before them (the alerts' baselines).
  const std::int32_t first_day = from_day - 28;
  std::vector<nlohmann::json> day_figures;
  day_figures.reserve(static_cast<std::size_t>(to_day - first_day));
  for (std::int32_t d = first_day; d < to_day; ++d) {
    nlohmann::json f =
        figures_json(scratch.figures(clock.day_start(d), clock.day_start(d + 1), WindowDetail::counts), clock);
    f["date"] = LocalClock::date(d);
    day_figures.push_back(std::move(f));
  }
  nlohmann::json days = nlohmann::json::array();
  nlohmann::json new_vs_returning = nlohmann::json::array();
  nlohmann::json alerts = nlohmann::json::array();
  const auto figures_of = [&](std::int32_t d) { return day_figures[static_cast<std::size_t>(d - first_day)]; };
  for (std::int32_t d = from_day; d < to_day; ++d) {
    const auto& f = day_figures[static_cast<std::size_t>(d - first_day)];
    days.push_back(f);
    new_vs_returning.push_back({{"date", f["date"]}, {"new", f["new_visitors"]}, {"returning", f["returning_visitors"]}});
    for (auto& a : alerts_on(d, figures_of, thr)) alerts.push_back(std::move(a));
  }

  auto [occupancy, occupancy_step] =
      occupancy_list(scratch, from_ms, to_ms, TimeMs{thr.occupancy_step_s} * 1000, thr.report_occupancy_points);
  nlohmann::json summary_json = figures_json(summary, clock);
  const auto rate = [](std::int64_t num, std::int64_t den) {
    return den > 0 ? nlohmann::json(static_cast<double>(num) / static_cast<double>(den)) : nlohmann::json(nullptr);
  };
  const auto now_ms = clock::wall_ms();

  nlohmann::json doc = {
      {"format", "footfall-report/1"},
      {"tenant", tenant},
      {"site", site},
      {"from", LocalClock::date(from_day)},
      {"to", LocalClock::date(to_day)},
      {"last_day", LocalClock::date(to_day - 1)},
      {"from_ms", from_ms},
      {"to_ms", to_ms},
      {"utc_offset_min", thr.utc_offset_min},
      {"generated_at", utc_iso(static_cast<TimeMs>(now_ms))},
      {"thresholds", thr.to_json()},
      {"summary", summary_json},
      {"days", std::move(days)},
      {"hours", interval_list(scratch, from_ms, to_ms, hour_ms)},
      {"occupancy_step_s", occupancy_step / 1000},
      {"occupancy", std::move(occupancy)},
      {"dwell_histogram", dwell_histogram_list(summary)},
      {"funnel",
       {{{"stage", "Awareness"}, {"value", summary.awareness}, {"rate", nullptr}},
        {{"stage", "Acquisition"}, {"value", summary.visitors}, {"rate", rate(summary.visitors, summary.awareness)}},
        {{"stage", "Activation"}, {"value", summary.activation}, {"rate", rate(summary.activation, summary.visitors)}}}},
      {"retention",
       {{"rate", summary_json["retain_rate"]},
        {"window_days", thr.returning_window_days},
        {"cohorts", cohort_list(table, from_day, to_day, thr)}}},
      {"frequency", frequency_list(summary)},
      {"zone_flow", summary.zone_flow},
      {"new_vs_returning", std::move(new_vs_returning)},
      {"alerts", std::move(alerts)},
      {"overlap", nullptr},
  };
  return doc;
}

}  // namespace footfall::aggregator
