#pragma once
// The visits and batches the store tests (SQLite and PostgreSQL) are made of.
#include <string>
#include <utility>
#include <vector>

#include "aggregator/ingest/ingest_batch.h"
#include "aggregator/store/site_store.h"

namespace footfall::aggregator::testing {

// A visit of ten minutes through two zones, heard by two probes.
inline Visit make_visit(const std::string& id, TimeMs arrival, const std::string& tenant = "acme",
                        const std::string& site = "mall-7") {
  Visit v;
  v.tenant = tenant;
  v.site = site;
  v.visit_id = id;
  v.device = "dev" + id;
  v.key_epoch = 3;
  v.arrival = arrival;
  v.departure = arrival + 600'000;
  v.dwell_s = 599.875;
  v.zones = {"entrance", "food-court"};
  v.entry_zone = "entrance";
  v.exit_zone = "food-court";
  v.strongest_zone = {{arrival, "entrance"}, {arrival + 60'000, "food-court"}};
  v.probes = {{"p1", "entrance", arrival, arrival + 50'000, 12, -50, -61.5},
              {"p2", "food-court", arrival + 40'000, arrival + 600'000, 40, -44, -57.25}};
  v.randomized = true;
  v.fingerprint = "ab12";
  return v;
}

// A visits batch; tenant and site those of its first visit.
inline IngestBatch visits_batch(const std::string& batch_id, std::vector<Visit> visits) {
  IngestBatch b;
  b.kind = FeedKind::visits;
  b.batch_id = batch_id;
  b.tenant = visits.empty() ? "acme" : visits.front().tenant;
  b.site = visits.empty() ? "mall-7" : visits.front().site;
  b.seq = 1;
  b.sent_at = 1;
  b.visits = std::move(visits);
  return b;
}

// The visit ids of a site with arrival in [from, to), in the store's order.
inline std::vector<std::string> ids_in(SiteStore& s, TimeMs from, TimeMs to, const std::string& site = "mall-7") {
  std::vector<std::string> out;
  s.for_each_visit("acme", site, from, to, [&](const Visit& v) { out.push_back(v.visit_id); });
  return out;
}

}  // namespace footfall::aggregator::testing
