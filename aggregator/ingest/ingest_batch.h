#pragma once
// One micro-batch of the feed, parsed: what it is (topic), its idempotence key (batch_id) and its items
// as model records. Produced by the payload parser, consumed by the store.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

enum class FeedKind : std::uint8_t { visits, presence, probes, sales, status };
std::string_view to_string(FeedKind kind);

// What footfall/v1/{tenant}/{site}/{leaf} names.
struct TopicAddress {
  std::string tenant;
  std::string site;
  FeedKind kind = FeedKind::visits;
};

struct IngestBatch {
  FeedKind kind = FeedKind::visits;
  std::string batch_id;
  std::string tenant;
  std::string site;
  std::int64_t seq = 0;  // 0 when the payload has none (sales)
  TimeMs sent_at = 0;

  std::vector<Visit> visits;                 // visits
  std::int64_t presence_changes = 0;         // presence: arrivals and departures (counted, not stored)
  std::optional<OccupancySample> occupancy;  // presence
  std::vector<ProbeHealth> probes;           // probes
  std::string gateway_json;                  // probes: the "gateway" and "publisher" members, as received
  std::vector<Sale> sales;                   // sales

  // What the batch carries, as the store records it with its batch id.
  [[nodiscard]] std::int64_t item_count() const {
    switch (kind) {
      case FeedKind::visits: return static_cast<std::int64_t>(visits.size());
      case FeedKind::presence: return presence_changes + (occupancy ? 1 : 0);
      case FeedKind::probes: return static_cast<std::int64_t>(probes.size());
      case FeedKind::sales: return static_cast<std::int64_t>(sales.size());
      case FeedKind::status: return 0;
    }
    return 0;
  }
};

}  // namespace footfall::aggregator
