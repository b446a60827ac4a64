#include "aggregator/aggregate/figures.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "aggregator/aggregate/daily_alerts.h"
#include "aggregator/aggregate/figure_lists.h"
#include "aggregator/aggregate/local_time.h"
#include "aggregator/aggregate/residents.h"
#include "aggregator/aggregate/visit_table.h"
#include "aggregator/aggregate/window_scratch.h"

namespace footfall::aggregator {

const char* period_name(Period p) {
  switch (p) {
    case Period::hour: return "hour";
    case Period::day: return "day";
    case Period::week: return "week";
    case Period::month: return "month";
  }
  return "?";
}

TimeMs lookback_ms(const SiteThresholds& thr) {
  return TimeMs{std::max(thr.returning_window_days, 28) + 1} * day_ms;
}

TimeMs period_start_containing(Period p, TimeMs t, const SiteThresholds& thr) {
  const LocalClock clock = thr.clock();
  switch (p) {
    case Period::hour: return clock.hour_start_of(t);
    case Period::day: return clock.day_start(clock.day_of(t));
    case Period::week: return clock.day_start(LocalClock::monday_of(clock.day_of(t)));
    case Period::month: return clock.day_start(clock.month_first_day(clock.day_of(t)));
  }
  throw std::invalid_argument("period_start_containing: unknown period");
}

TimeMs period_end(Period p, TimeMs period_start, const SiteThresholds& thr) {
  const LocalClock clock = thr.clock();
  switch (p) {
    case Period::hour: return clock.hour_start_of(period_start) + hour_ms;
    case Period::day: return clock.day_start(clock.day_of(period_start) + 1);
    case Period::week: return clock.day_start(LocalClock::monday_of(clock.day_of(period_start)) + 7);
    case Period::month: return clock.day_start(clock.next_month_first_day(clock.day_of(period_start)));
  }
  throw std::invalid_argument("period_end: unknown period");
}

SiteFigures::SiteFigures(const std::vector<Visit>& visits, const std::vector<Sale>& sales, const SiteThresholds& thr)
    : thr_(thr),
      table_(std::make_unique<VisitTable>(build_visit_table(visits, thr))),
      ledger_(std::make_unique<SalesLedger>(sales)),
      scratch_(std::make_unique<WindowScratch>(*table_, *ledger_)) {}

SiteFigures::~SiteFigures() = default;

nlohmann::json SiteFigures::period(Period p, TimeMs period_start) {
  const SiteThresholds& thr = thr_;
  const VisitTable& table = *table_;
  WindowScratch& scratch = *scratch_;
  const TimeMs end = period_end(p, period_start, thr);
  const WindowFigures f = scratch.figures(period_start, end, WindowDetail::full);

  nlohmann::json j = figures_json(f, table.clock);
  j["period"] = period_name(p);
  j["start"] = utc_iso(period_start);
  j["end"] = utc_iso(end);
  j["start_ms"] = period_start;
  j["end_ms"] = end;
  j["local_start"] = table.clock.local_minute(period_start);
  j["utc_offset_min"] = table.clock.offset_ms(period_start) / 60'000;
  j["time_zone"] = thr.time_zone.empty() ? nlohmann::json() : nlohmann::json(thr.time_zone);
  // Arrivals per interval: local hours for an hour or a day (23 or 25 on a change of summer time), local days
  // for a week or a month.
  const bool by_hour = p == Period::hour || p == Period::day;
  j["interval"] = by_hour ? "hour" : "day";
  const std::vector<TimeMs> starts =
      by_hour ? table.clock.hour_starts(period_start, end) : table.clock.day_starts(period_start, end);
  j["intervals"] = interval_list(interval_figures(scratch, starts, end), table.clock);
  const OccupancyPoints occupancy =
      occupancy_points(scratch, period_start, end, TimeMs{thr.occupancy_step_s} * 1000, 0);
  j["occupancy_step_s"] = occupancy.step_ms / 1000;
  j["occupancy"] = occupancy_list(occupancy, table.clock);
  j["dwell_histogram"] = dwell_histogram_list(f);
  j["frequency"] = frequency_list(f);
  j["zone_flow"] = to_json(f.zone_flow);
  return j;
}

std::vector<IndicatorAlert> SiteFigures::alerts(TimeMs day_start) {
  const std::int32_t day = table_->clock.day_of(day_start);
  return alerts_on(
      day,
      [&](std::int32_t d) {
        return scratch_->figures(table_->clock.day_start(d), table_->clock.day_start(d + 1), WindowDetail::counts);
      },
      thr_);
}

nlohmann::json period_figures(const std::vector<Visit>& visits, const std::vector<Sale>& sales,
                              const SiteThresholds& thr, Period p, TimeMs period_start) {
  return SiteFigures(visits, sales, thr).period(p, period_start);
}

std::vector<IndicatorAlert> daily_alerts(const std::vector<Visit>& visits, const std::vector<Sale>& sales,
                                         const SiteThresholds& thr, TimeMs day_start) {
  return SiteFigures(visits, sales, thr).alerts(day_start);
}

OverlapMatrix overlap_matrix(const std::map<std::string, std::vector<Visit>>& visits_by_site, TimeMs from, TimeMs to,
                             const SiteThresholds& thr) {
  std::size_t total = 0;
  for (const auto& [site, visits] : visits_by_site) total += visits.size();
  DeviceIndex index(total / 2 + 16);
  const auto min_dwell = static_cast<TimeMs>(std::llround(thr.visitor_min_dwell_s * 1000.0));
  OverlapMatrix out;
  std::vector<std::vector<std::int32_t>> visitors;  // per site: sorted distinct devices
  const LocalClock clock = thr.clock();
  for (const auto& [site, visits] : visits_by_site) {
    out.sites.push_back(site);
    // The site's visits in the range by arrival, with site-local device ids, so its residents can be set apart.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < visits.size(); ++i) {
      if (visits[i].arrival >= from && visits[i].arrival < to) order.push_back(i);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return visits[a].arrival < visits[b].arrival; });
    DeviceIndex site_index(order.size() / 3 + 16);
    std::vector<VisitRow> rows(order.size());
    for (std::size_t k = 0; k < order.size(); ++k) {
      const Visit& v = visits[order[k]];
      rows[k].arrival = v.arrival;
      rows[k].departure = std::max(v.arrival, v.departure);
      rows[k].device = site_index.intern(v.key_epoch, v.device);
    }
    const std::vector<std::uint8_t> resident = resident_visits(rows, site_index.size(), clock, resident_min_ms(thr));
    std::vector<std::int32_t> devices;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const Visit& v = visits[order[k]];
      if (resident[k] != 0 || qualifying_ms(v, thr) < min_dwell) continue;
      devices.push_back(index.intern(v.key_epoch, v.device));
    }
    std::sort(devices.begin(), devices.end());
    devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
    visitors.push_back(std::move(devices));
  }
  const std::size_t n = visitors.size();
  for (std::size_t i = 0; i < n; ++i) {
    out.visitors.push_back(visitors[i].size());
    std::vector<std::size_t>& shared_row = out.shared.emplace_back();
    for (std::size_t k = 0; k < n; ++k) {
      std::size_t common = 0;
      auto a = visitors[i].begin();
      auto b = visitors[k].begin();
      while (a != visitors[i].end() && b != visitors[k].end()) {
        if (*a < *b) {
          ++a;
        } else if (*b < *a) {
          ++b;
        } else {
          ++common;
          ++a;
          ++b;
        }
      }
      shared_row.push_back(common);
    }
  }
  return out;
}

nlohmann::json to_json(const OverlapMatrix& overlap) {
  nlohmann::json matrix = nlohmann::json::array();
  for (std::size_t i = 0; i < overlap.shared.size(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (const std::size_t common : overlap.shared[i]) {
      row.push_back(overlap.visitors[i] == 0 ? nlohmann::json(nullptr)
                                             : nlohmann::json(static_cast<double>(common) /
                                                              static_cast<double>(overlap.visitors[i])));
    }
    matrix.push_back(std::move(row));
  }
  return {{"sites", overlap.sites}, {"visitors", overlap.visitors}, {"shared", overlap.shared},
          {"matrix", std::move(matrix)}};
}

}  // namespace footfall::aggregator
