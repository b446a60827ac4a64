#include "aggregator/publish/figures_publisher.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "aggregator/ingest/iso_time.h"

namespace footfall::aggregator {
namespace {

constexpr std::array<Period, 4> kPeriods = {Period::hour, Period::day, Period::week, Period::month};

}  // namespace

SiteThresholds site_thresholds(const AggregatorConfig& cfg, std::string_view tenant, std::string_view site) {
  const SiteSettings* s = cfg.find_site(tenant, site);
  nlohmann::json j = s != nullptr ? s->thresholds : nlohmann::json::object();
  if (!j.contains("resident_min_hours")) j["resident_min_hours"] = cfg.resident_min_hours;
  if (s == nullptr) return SiteThresholds::from_json(j);
  if (j.contains("utc_offset_min") && j["utc_offset_min"] != s->utc_offset_min && s->utc_offset_min != 0)
    throw std::invalid_argument("utc_offset_min: given both beside and inside thresholds, with different values");
  if (!s->time_zone.empty()) {
    if (j.contains("time_zone") && j["time_zone"] != s->time_zone)
      throw std::invalid_argument("time_zone: given both beside and inside thresholds, with different values");
    if (j.contains("utc_offset_min")) throw std::invalid_argument("utc_offset_min: the site gives a time_zone");
    j["time_zone"] = s->time_zone;
  } else if (!j.contains("utc_offset_min") && !j.contains("time_zone")) {
    j["utc_offset_min"] = s->utc_offset_min;
  }
  return SiteThresholds::from_json(j);
}

std::string metrics_topic(const SiteKey& site, Period p) {
  return "footfall/v1/" + site.tenant + "/" + site.site + "/metrics/" + period_name(p);
}

std::string alerts_topic(const SiteKey& site) { return "footfall/v1/" + site.tenant + "/" + site.site + "/alerts"; }

nlohmann::json metrics_message(const SiteKey& site, Period p, TimeMs start, TimeMs end, TimeMs generated_at,
                               bool final_figures, nlohmann::json figures) {
  return nlohmann::json{{"tenant", site.tenant},
                        {"site", site.site},
                        {"period", period_name(p)},
                        {"start", format_iso8601_utc(start)},
                        {"end", format_iso8601_utc(end)},
                        {"generated_at", format_iso8601_utc(generated_at)},
                        {"final", final_figures},
                        {"figures", std::move(figures)}};
}

nlohmann::json alert_message(const SiteKey& site, TimeMs day_start, TimeMs raised_at, const nlohmann::json& alert) {
  return nlohmann::json{{"tenant", site.tenant},
                        {"site", site.site},
                        {"day_start", format_iso8601_utc(day_start)},
                        {"raised_at", format_iso8601_utc(raised_at)},
                        {"alert", alert}};
}

FiguresPublisher::FiguresPublisher(SiteStore& store, const AggregatorConfig& cfg, Sink sink, SiteLeases* leases)
    : store_(store), cfg_(cfg), sink_(std::move(sink)), leases_(leases != nullptr ? *leases : every_site_) {}

FiguresPublisher::SiteState& FiguresPublisher::state(const SiteKey& site) {
  auto it = sites_.find(site);
  if (it == sites_.end()) it = sites_.emplace(site, SiteState{site_thresholds(cfg_, site.tenant, site.site), {}}).first;
  return it->second;
}

void FiguresPublisher::publish_current(const SiteKey& site, TimeMs now) {
  SiteState& st = state(site);
  std::vector<Job> jobs;
  for (const Period p : kPeriods) {
    const TimeMs start = period_start_containing(p, now, st.thr);
    st.current_start[static_cast<std::size_t>(p)] = start;
    jobs.push_back({p, start, false});
  }
  run(site, st, jobs, {}, now);
}

void FiguresPublisher::tick(TimeMs now, const std::set<SiteKey>& dirty) {
  dirty_.insert(dirty.begin(), dirty.end());
  for (const SiteKey& site : dirty) versions_.try_emplace(site, 0);
  const TimeMs interval = TimeMs{cfg_.publish_interval_s} * 1000;
  const bool interval_due = !last_interval_ || now - *last_interval_ >= interval;
  if (interval_due) {
    last_interval_ = now;
    dirty_.insert(failed_.begin(), failed_.end());  // a recompute that failed (store away) is due again
    failed_.clear();
    try {
      // Sites whose change number moved: new data, whichever instance (or writer) stored it.
      for (const SiteVersion& sv : store_.site_versions()) {
        const auto [it, fresh] = versions_.try_emplace(sv.site, sv.version);
        if (!fresh && it->second != sv.version) dirty_.insert(sv.site);
        it->second = sv.version;
      }
    } catch (const std::exception& e) {
      ++counters_.compute_errors;
      spdlog::error("figures: reading the sites' change numbers: {}", e.what());
    }
  }
  leases_.refresh();
  for (auto it = sites_.begin(); it != sites_.end();) {
    if (leases_.holds(it->first)) {
      ++it;
      continue;
    }
    // Another instance publishes it now; if it comes back, it starts afresh (current figures, alerts due).
    ++counters_.leases_left;
    it = sites_.erase(it);
  }
  for (const auto& [site, version] : versions_)
    if (leases_.holds(site)) (void)state(site);
  for (auto& [site, st] : sites_) {
    std::vector<Job> jobs;
    std::vector<TimeMs> alert_days;
    for (const Period p : kPeriods) {
      auto& known = st.current_start[static_cast<std::size_t>(p)];
      const TimeMs start = period_start_containing(p, now, st.thr);
      if (p == Period::day && !known) {
        // First sight of the site (startup): the day before may have closed while we were away. A day's
        // alerts are judged only once it is over: a day in progress would always look low.
        alert_days.push_back(period_start_containing(Period::day, start - 1, st.thr));
      }
      if (known && *known != start) {
        // The wall clock closed the period: its final figures (late visits included), then the new one.
        jobs.push_back({p, *known, true});
        if (p == Period::day) alert_days.push_back(*known);
      }
      if (!known || *known != start || (interval_due && dirty_.contains(site))) jobs.push_back({p, start, false});
      known = start;
    }
    run(site, st, jobs, alert_days, now);
  }
  if (interval_due) dirty_.clear();
}

void FiguresPublisher::run(const SiteKey& site, const SiteState& st, const std::vector<Job>& jobs,
                           const std::vector<TimeMs>& alert_days, TimeMs now) {
  if (jobs.empty() && alert_days.empty()) return;
  ++counters_.recomputes;
  // One read covers every job: from the earliest start minus the lookback to the latest end.
  TimeMs from = std::numeric_limits<TimeMs>::max();
  TimeMs to = std::numeric_limits<TimeMs>::min();
  for (const Job& j : jobs) {
    from = std::min(from, j.start);
    to = std::max(to, period_end(j.period, j.start, st.thr));
  }
  for (const TimeMs d : alert_days) {
    from = std::min(from, d);
    to = std::max(to, period_end(Period::day, d, st.thr));
  }
  from -= lookback_ms(st.thr);
  try {
    std::vector<Visit> visits;
    store_.for_each_visit(site.tenant, site.site, from, to, [&](const Visit& v) { visits.push_back(v); });
    const std::vector<Sale> sales = store_.sales(site.tenant, site.site, from, to);
    SiteFigures site_figures(visits, sales, st.thr);  // one visit table for every job and alert day
    for (const Job& j : jobs) {
      nlohmann::json figures = site_figures.period(j.period, j.start);
      const nlohmann::json msg = metrics_message(site, j.period, j.start, period_end(j.period, j.start, st.thr), now,
                                                 j.final_figures, std::move(figures));
      ++(sink_(metrics_topic(site, j.period), msg.dump(), true) ? counters_.figures_published
                                                                : counters_.figures_refused);
    }
    for (const TimeMs day : alert_days) {
      for (const IndicatorAlert& raised : site_figures.alerts(day)) {
        const nlohmann::json alert = to_json(raised);
        const std::string body = alert.dump();
        if (!store_.record_alert(site.tenant, site.site, day, body, now)) {
          ++counters_.alerts_repeated;
          continue;
        }
        spdlog::info("alert: {}/{}: {}", site.tenant, site.site, body);
        if (sink_(alerts_topic(site), alert_message(site, day, now, alert).dump(), false)) ++counters_.alerts_published;
      }
    }
  } catch (const std::exception& e) {
    ++counters_.compute_errors;
    failed_.insert(site);
    spdlog::error("figures: {}/{}: {} (again at the next interval)", site.tenant, site.site, e.what());
  }
}

}  // namespace footfall::aggregator
