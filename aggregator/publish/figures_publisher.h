#pragma once
// Publishes each site's figures on footfall/v1/{tenant}/{site}/metrics/{hour|day|week|month} (retained,
// QoS 1) and its alerts on .../alerts (QoS 1, not retained). Schedule, driven by tick(now):
//  * every publish.interval_s, the current hour, day, week and month of each site that got new data are
//    recomputed and republished (retained: a new subscriber gets the latest at once);
//  * when a period closes by the wall clock, its final figures are published once more, then the new
//    period's; when a local day closes, its alerts are computed. An alert is published once: the store
//    records it (same site, day and body) and a repeat is not sent again.
// The figures come from aggregator/aggregate (period_figures, daily_alerts); this stage only loads the
// visits and sales they need from the store and wraps them in the envelope of
// docs/schema/metrics.schema.json and alerts.schema.json.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/figures.h"
#include "aggregator/aggregate/thresholds.h"
#include "aggregator/config/aggregator_config.h"
#include "aggregator/publish/site_leases.h"
#include "aggregator/store/site_store.h"

namespace footfall::aggregator {

// The thresholds of a site: its configured ones (with its utc_offset_min), the defaults for a site not
// configured; resident_min_hours from residents.min_hours unless the site's thresholds give it. Throws
// std::invalid_argument naming the key.
SiteThresholds site_thresholds(const AggregatorConfig& cfg, std::string_view tenant, std::string_view site);

std::string metrics_topic(const SiteKey& site, Period p);
std::string alerts_topic(const SiteKey& site);

// The retained metrics message: envelope + the figures of aggregator/aggregate.
nlohmann::json metrics_message(const SiteKey& site, Period p, TimeMs start, TimeMs end, TimeMs generated_at,
                               bool final_figures, nlohmann::json figures);
nlohmann::json alert_message(const SiteKey& site, TimeMs day_start, TimeMs raised_at, const nlohmann::json& alert);

struct FiguresCounters {
  std::uint64_t figures_published = 0;
  std::uint64_t figures_refused = 0;  // the MQTT client refused them (buffer full): sent again next interval
  std::uint64_t alerts_published = 0;
  std::uint64_t alerts_repeated = 0;  // computed again, already published: not sent
  std::uint64_t compute_errors = 0;
  std::uint64_t recomputes = 0;
  std::uint64_t leases_left = 0;  // sites this instance stopped publishing (another instance holds them now)
};

class FiguresPublisher {
 public:
  // false: the message was not accepted by the MQTT client.
  using Sink = std::function<bool(const std::string& topic, const std::string& payload, bool retained)>;

  // leases: the sites this instance publishes (nullptr: every site, one instance).
  FiguresPublisher(SiteStore& store, const AggregatorConfig& cfg, Sink sink, SiteLeases* leases = nullptr);

  // dirty: sites this instance stored new data for since the last call. Every publish.interval_s the store's
  // change numbers add the sites that other instances wrote to. Recomputes what is due at now, for the
  // sites this instance holds the lease of.
  void tick(TimeMs now, const std::set<SiteKey>& dirty);
  // Publishes the current periods of one site now (also used at startup for every stored site).
  void publish_current(const SiteKey& site, TimeMs now);

  [[nodiscard]] const FiguresCounters& counters() const { return counters_; }

 private:
  struct SiteState {
    SiteThresholds thr;
    std::array<std::optional<TimeMs>, 4> current_start;  // per Period: the start last published
  };
  SiteState& state(const SiteKey& site);
  struct Job {
    Period period;
    TimeMs start;
    bool final_figures;  // the period has closed: these are its last figures
  };
  // Loads the visits and sales the jobs need once, publishes their figures and the alerts of alert_days.
  void run(const SiteKey& site, const SiteState& st, const std::vector<Job>& jobs, const std::vector<TimeMs>& alert_days,
           TimeMs now);

  SiteStore& store_;
  const AggregatorConfig& cfg_;
  Sink sink_;
  EverySite every_site_;
  SiteLeases& leases_;
  std::map<SiteKey, SiteState> sites_;  // the sites published now: bounded by the sites in the store
  std::map<SiteKey, std::int64_t> versions_;  // each stored site's change number when last seen
  std::set<SiteKey> dirty_;
  std::set<SiteKey> failed_;  // recomputes that failed: tried again at the next interval
  std::optional<TimeMs> last_interval_;
  FiguresCounters counters_;
};

}  // namespace footfall::aggregator
