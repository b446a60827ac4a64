#pragma once
// SiteStore on one SQLite file (WAL): numbered schema migrations, prepared statements, one transaction per
// batch. One SqliteStore is one connection, used by one thread at a time; the ingest writer and the
// publisher each open their own (WAL lets them read while the other writes; busy_timeout covers writes).
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregator/store/site_store.h"

namespace footfall::aggregator {

// Highest schema version this build knows (the migrations are listed in sqlite_store.cpp).
inline constexpr int kSchemaVersion = 3;

struct SqliteStoreOptions {
  // synchronous=NORMAL in WAL: a commit survives a crash of the process (kill -9), and a power loss may
  // take the last commits (the gateway's outbox and the broker's session still hold them). FULL: also power loss.
  bool synchronous_full = false;
  int busy_timeout_ms = 10'000;
  std::optional<int> migrate_to;  // tests: stop migrating at this version (an "older" database)
};

class SqliteStore final : public SiteStore {
 public:
  // Opens or creates the file and migrates it to kSchemaVersion. Throws sqlite::SqliteError (with the path)
  // on failure, or when the file's schema is newer than this build.
  static std::unique_ptr<SqliteStore> open(const std::filesystem::path& path, SqliteStoreOptions opts = {});
  ~SqliteStore() override;

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

  [[nodiscard]] StoreCounters counters() const override { return counters_; }
  [[nodiscard]] int schema_version();

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  StoreCounters counters_;
};

}  // namespace footfall::aggregator
