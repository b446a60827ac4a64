#pragma once
// Publishes each site's current occupancy, total and per zone, on footfall/v1/{tenant}/{site}/occupancy
// (retained, QoS 1: a subscriber that comes late gets the current value at once;
// docs/schema/occupancy.schema.json). The value is the newest sample the site's gateway sent in its presence
// batches, as stored; at most one message per site per call (the run loop calls once a second), so a burst of
// presence batches costs one message. A sample older than the one already published for its site (a batch
// redelivered late) is not published: the retained value never goes back in time.
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "aggregator/model/site_records.h"
#include "aggregator/store/site_store.h"

namespace footfall::aggregator {

std::string occupancy_topic(const SiteKey& site);
nlohmann::json occupancy_message(const OccupancySample& sample, TimeMs published_at);

struct OccupancyCounters {
  std::uint64_t published = 0;
  std::uint64_t refused = 0;  // the MQTT client refused it (buffer full): tried again on the next call
  std::uint64_t older = 0;    // older than the value already published for the site: not sent
};

class OccupancyPublisher {
 public:
  // false: the message was not accepted by the MQTT client.
  using Sink = std::function<bool(const std::string& topic, const std::string& payload, bool retained)>;

  explicit OccupancyPublisher(Sink sink) : sink_(std::move(sink)) {}

  // newest: the newest sample of each site since the last call (IngestPipeline::take_occupancy).
  void publish(std::map<SiteKey, OccupancySample> newest, TimeMs now);

  [[nodiscard]] const OccupancyCounters& counters() const { return counters_; }

 private:
  Sink sink_;
  std::map<SiteKey, TimeMs> published_at_;      // sample time last published, per site (bounded by the sites)
  std::map<SiteKey, OccupancySample> pending_;  // refused by the client, sent again next call (one per site)
  OccupancyCounters counters_;
};

}  // namespace footfall::aggregator
