#pragma once
// SiteStore on a PostgreSQL server (15), shared by any number of aggregator instances: versioned schema
// migrations applied at open (one instance at a time, under an advisory lock); visits partitioned by tenant,
// then by month of arrival (a tenant's retention drops whole month partitions); one transaction per batch,
// idempotent on batch_id, visit_id, sale_id and the occupancy sample's time. The object is shared by the
// threads of one instance: every call borrows a connection of a bounded pool (pg_pool.h).
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregator/store/site_store.h"

namespace footfall::aggregator {

// Highest PostgreSQL schema version this build knows (the migrations are listed in postgres_store.cpp).
inline constexpr int kPostgresSchemaVersion = 2;

struct PostgresStoreOptions {
  std::string conninfo;        // libpq connection string: "host=db port=5432 dbname=footfall user=aggregator"
  std::size_t pool_size = 4;   // connections this instance opens at most
  std::optional<int> migrate_to;  // tests: stop migrating at this version (an "older" database)
  // false: use the schema as it is, and refuse one that is not this build's (a report or an import on a
  // database that running instances share; `migrate` or `run` bring it up to date).
  bool migrate = true;
};

class PostgresStore final : public SiteStore {
 public:
  // Connects, migrates to kPostgresSchemaVersion (or migrate_to) and returns the store. Throws
  // pg::PgError (server unreachable, a schema newer than this build).
  static std::unique_ptr<PostgresStore> open(const PostgresStoreOptions& opts);
  ~PostgresStore() override;

  BatchOutcome store_batch(const IngestBatch& batch, TimeMs received_at) override;
  BatchOutcome add_sales(const std::vector<Sale>& sales) override;
  bool record_alert(std::string_view tenant, std::string_view site, TimeMs day_start, std::string_view body_json,
                    TimeMs raised_at) override;

  void for_each_visit(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to,
                      const VisitSink& fn) override;
  std::vector<Sale> sales(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to) override;
  std::vector<OccupancySample> occupancy(std::string_view tenant, std::string_view site, TimeMs from,
                                         TimeMs to) override;
  std::vector<ProbeHealthRecord> probe_health(std::string_view tenant, std::string_view site) override;
  std::vector<AlertRecord> alerts(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to) override;
  std::vector<SiteKey> sites() override;
  std::vector<SiteVersion> site_versions() override;
  std::vector<OccupancySample> latest_occupancy(TimeMs since) override;
  PruneOutcome prune(const RetentionRules& rules) override;

  [[nodiscard]] StoreCounters counters() const override;
  [[nodiscard]] int schema_version();
  // The visit partitions that exist, as "visits_t{tenant key}_{yyyymm}" (tests, the migrate command).
  [[nodiscard]] std::vector<std::string> visit_partitions();

 private:
  struct Impl;
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace footfall::aggregator
