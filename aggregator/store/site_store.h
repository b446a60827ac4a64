#pragma once
// What the aggregator keeps per site, behind one interface with two implementations: SqliteStore (one file,
// one instance) and PostgresStore (one server database shared by several aggregator instances).
// Writers store whole batches idempotently (a batch_id seen again changes nothing; a visit_id or sale_id
// seen again is stored once); readers stream visits by arrival and fetch sales, occupancy and health.
#include <compare>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aggregator/ingest/ingest_batch.h"
#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

struct SiteKey {
  std::string tenant;
  std::string site;
  auto operator<=>(const SiteKey&) const = default;
};

// What one store_batch / add_sales call changed.
struct BatchOutcome {
  bool duplicate_batch = false;  // batch_id already processed: nothing stored
  std::int64_t visits_new = 0;
  std::int64_t visits_duplicate = 0;  // visit_id already stored (from another batch)
  std::int64_t sales_new = 0;
  std::int64_t sales_duplicate = 0;
  std::int64_t occupancy_new = 0;
  std::int64_t probes_updated = 0;
};

struct StoreCounters {
  std::uint64_t batches_stored = 0;
  std::uint64_t batches_duplicate = 0;
  std::uint64_t visits_stored = 0;
  std::uint64_t visits_duplicate = 0;
  std::uint64_t sales_stored = 0;
  std::uint64_t sales_duplicate = 0;
  std::uint64_t occupancy_samples = 0;
  std::uint64_t probe_updates = 0;
  std::uint64_t alerts_recorded = 0;
  std::uint64_t alerts_duplicate = 0;

  void count(const BatchOutcome& out) {
    if (out.duplicate_batch) {
      ++batches_duplicate;
      return;
    }
    ++batches_stored;
    visits_stored += static_cast<std::uint64_t>(out.visits_new);
    visits_duplicate += static_cast<std::uint64_t>(out.visits_duplicate);
    sales_stored += static_cast<std::uint64_t>(out.sales_new);
    sales_duplicate += static_cast<std::uint64_t>(out.sales_duplicate);
    occupancy_samples += static_cast<std::uint64_t>(out.occupancy_new);
    probe_updates += static_cast<std::uint64_t>(out.probes_updated);
  }
};

// The latest health of one probe, with when and from which batch the store took it.
struct ProbeHealthRecord {
  ProbeHealth health;
  TimeMs received_at = 0;
  std::int64_t batch_seq = 0;
};

struct AlertRecord {
  TimeMs day_start = 0;
  TimeMs raised_at = 0;
  std::string body_json;
};

// A site and the number of its stored changes: it moves whenever a batch stores new visits, sales or
// occupancy, whichever aggregator instance stored it (the publisher recomputes the sites whose number moved).
struct SiteVersion {
  SiteKey site;
  std::int64_t version = 0;
};

// What prune() removes: processed batch ids received before batch_ids_before (a redelivery older than
// that is caught by visit_id and sale_id instead), and per tenant everything before its cutoff.
struct RetentionRules {
  TimeMs batch_ids_before = 0;
  std::vector<std::pair<std::string, TimeMs>> tenant_cutoffs;  // tenant, drop data older than this
};

struct PruneOutcome {
  std::int64_t batch_ids = 0;
  std::int64_t visits = 0;            // rows (SQLite) or rows of the dropped partitions (PostgreSQL)
  std::int64_t visit_partitions = 0;  // PostgreSQL: month partitions dropped
  std::int64_t occupancy = 0;
  std::int64_t sales = 0;
  std::int64_t alerts = 0;
};

// Thrown by a writer for a batch the store can never take (a value its database refuses, e.g. a text with a
// NUL character in PostgreSQL): trying again would fail the same way. Nothing of the batch is stored.
class StoreRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Receives each visit; the reference is valid only during the call (the store reuses the object).
using VisitSink = std::function<void(const Visit&)>;

class SiteStore {
 public:
  virtual ~SiteStore() = default;

  // One transaction per batch. received_at: when the aggregator got it (kept with the batch id).
  virtual BatchOutcome store_batch(const IngestBatch& batch, TimeMs received_at) = 0;
  // Sales from an import (CSV): one transaction, a sale_id already stored is skipped and counted.
  virtual BatchOutcome add_sales(const std::vector<Sale>& sales) = 0;
  // Records an alert raised for a site's day; false when that same alert (same body) was recorded before.
  virtual bool record_alert(std::string_view tenant, std::string_view site, TimeMs day_start,
                            std::string_view body_json, TimeMs raised_at) = 0;

  // Visits whose arrival is in [from, to), ordered by arrival (then visit_id).
  virtual void for_each_visit(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to,
                              const VisitSink& fn) = 0;
  virtual std::vector<Sale> sales(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to) = 0;
  virtual std::vector<OccupancySample> occupancy(std::string_view tenant, std::string_view site, TimeMs from,
                                                 TimeMs to) = 0;
  virtual std::vector<ProbeHealthRecord> probe_health(std::string_view tenant, std::string_view site) = 0;
  virtual std::vector<AlertRecord> alerts(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to) = 0;
  virtual std::vector<SiteKey> sites() = 0;
  virtual std::vector<SiteVersion> site_versions() = 0;
  // The newest occupancy sample of every site that has one at or after since.
  virtual std::vector<OccupancySample> latest_occupancy(TimeMs since) = 0;

  // Removes what the rules let go (see RetentionRules); safe to run from several instances at once.
  virtual PruneOutcome prune(const RetentionRules& rules) = 0;

  [[nodiscard]] virtual StoreCounters counters() const = 0;
};

}  // namespace footfall::aggregator
