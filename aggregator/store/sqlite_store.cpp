#include "aggregator/store/sqlite_store.h"

#include <array>
#include <map>

#include <nlohmann/json.hpp>

#include "aggregator/store/sqlite_handle.h"
#include "aggregator/store/visit_detail_codec.h"

namespace footfall::aggregator {

using sqlite::Statement;
using sqlite::Transaction;

namespace {

// Migration N brings the schema from version N-1 to N. Never edit a released migration: add the next one.
constexpr std::array<const char*, kSchemaVersion> kMigrations = {
    // 1: sites, processed batch ids, visits, occupancy, sales.
    R"sql(
CREATE TABLE sites (
  site_key INTEGER PRIMARY KEY,
  tenant   TEXT NOT NULL,
  site     TEXT NOT NULL,
  UNIQUE (tenant, site)
);
CREATE TABLE batches (
  site_key    INTEGER NOT NULL REFERENCES sites,
  batch_id    TEXT NOT NULL,
  kind        TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  sent_at     INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  items       INTEGER NOT NULL,
  PRIMARY KEY (site_key, batch_id)
) WITHOUT ROWID;
CREATE TABLE visits (
  site_key    INTEGER NOT NULL REFERENCES sites,
  arrival     INTEGER NOT NULL,
  visit_id    TEXT NOT NULL UNIQUE,
  device      TEXT NOT NULL,
  key_epoch   INTEGER NOT NULL,
  departure   INTEGER NOT NULL,
  dwell_s     REAL NOT NULL,
  entry_zone  TEXT NOT NULL,
  exit_zone   TEXT NOT NULL,
  randomized  INTEGER NOT NULL,
  fingerprint TEXT NOT NULL,
  detail      BLOB NOT NULL
);
CREATE INDEX visits_by_arrival ON visits (site_key, arrival);
CREATE TABLE occupancy (
  site_key INTEGER NOT NULL REFERENCES sites,
  at       INTEGER NOT NULL,
  total    INTEGER NOT NULL,
  zones    TEXT NOT NULL,
  PRIMARY KEY (site_key, at)
) WITHOUT ROWID;
CREATE TABLE sales (
  site_key INTEGER NOT NULL REFERENCES sites,
  sale_id  TEXT NOT NULL,
  at       INTEGER NOT NULL,
  amount   REAL NOT NULL,
  PRIMARY KEY (site_key, sale_id)
) WITHOUT ROWID;
CREATE INDEX sales_by_time ON sales (site_key, at);
)sql",
    // 2: probe and gateway health (latest per probe), alerts raised.
    R"sql(
CREATE TABLE probe_health (
  site_key       INTEGER NOT NULL REFERENCES sites,
  probe          TEXT NOT NULL,
  connected      INTEGER NOT NULL,
  last_heartbeat INTEGER NOT NULL,
  received_at    INTEGER NOT NULL,
  batch_seq      INTEGER NOT NULL,
  item           TEXT NOT NULL,
  PRIMARY KEY (site_key, probe)
) WITHOUT ROWID;
CREATE TABLE gateway_health (
  site_key    INTEGER PRIMARY KEY REFERENCES sites,
  received_at INTEGER NOT NULL,
  batch_seq   INTEGER NOT NULL,
  body        TEXT NOT NULL
);
CREATE TABLE alerts (
  alert_key INTEGER PRIMARY KEY,
  site_key  INTEGER NOT NULL REFERENCES sites,
  day_start INTEGER NOT NULL,
  raised_at INTEGER NOT NULL,
  body      TEXT NOT NULL,
  UNIQUE (site_key, day_start, body)
);
)sql",
    // 3: a change number per site (the publisher recomputes the sites whose number moved); batch ids by
    // reception, for pruning.
    R"sql(
ALTER TABLE sites ADD COLUMN data_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX batches_by_received ON batches (received_at);
)sql",
};

}  // namespace

struct SqliteStore::Impl {
  std::filesystem::path path;
  sqlite::DbHandle db;
  std::map<SiteKey, std::int64_t, std::less<>> site_keys;  // bounded by the sites configured upstream
  std::vector<std::uint8_t> detail;                        // encode buffer, reused

  Statement find_site, insert_site, insert_batch, insert_visit, insert_occupancy, insert_sale, upsert_probe,
      upsert_gateway, insert_alert, select_visits, select_sales, select_occupancy, select_probes, select_alerts,
      select_sites, bump_version, select_versions;

  void prepare() {
    sqlite3* d = db.get();
    find_site = Statement(d, "SELECT site_key FROM sites WHERE tenant = ?1 AND site = ?2");
    insert_site = Statement(d, "INSERT INTO sites (tenant, site) VALUES (?1, ?2)");
    insert_batch = Statement(d,
                             "INSERT INTO batches (site_key, batch_id, kind, seq, sent_at, received_at, items) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING");
    insert_visit = Statement(
        d,
        "INSERT INTO visits (site_key, arrival, visit_id, device, key_epoch, departure, dwell_s, entry_zone, "
        "exit_zone, randomized, fingerprint, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
        "ON CONFLICT (visit_id) DO NOTHING");
    insert_occupancy = Statement(d,
                                 "INSERT INTO occupancy (site_key, at, total, zones) VALUES (?1, ?2, ?3, ?4) "
                                 "ON CONFLICT DO NOTHING");
    insert_sale = Statement(d, "INSERT INTO sales (site_key, sale_id, at, amount) VALUES (?1, ?2, ?3, ?4) "
                               "ON CONFLICT DO NOTHING");
    // Batches can arrive out of order after a redelivery: a probe's row only moves forward in seq.
    upsert_probe = Statement(
        d,
        "INSERT INTO probe_health (site_key, probe, connected, last_heartbeat, received_at, batch_seq, item) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (site_key, probe) DO UPDATE SET "
        "connected = excluded.connected, last_heartbeat = excluded.last_heartbeat, received_at = "
        "excluded.received_at, batch_seq = excluded.batch_seq, item = excluded.item "
        "WHERE excluded.batch_seq >= probe_health.batch_seq");
    upsert_gateway = Statement(
        d,
        "INSERT INTO gateway_health (site_key, received_at, batch_seq, body) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (site_key) DO UPDATE SET received_at = excluded.received_at, batch_seq = excluded.batch_seq, "
        "body = excluded.body WHERE excluded.batch_seq >= gateway_health.batch_seq");
    insert_alert = Statement(d,
                             "INSERT INTO alerts (site_key, day_start, raised_at, body) VALUES (?1, ?2, ?3, ?4) "
                             "ON CONFLICT DO NOTHING");
    select_visits = Statement(
        d,
        "SELECT arrival, visit_id, device, key_epoch, departure, dwell_s, entry_zone, exit_zone, randomized, "
        "fingerprint, detail FROM visits WHERE site_key = ?1 AND arrival >= ?2 AND arrival < ?3 "
        "ORDER BY arrival, visit_id");
    select_sales = Statement(d,
                             "SELECT sale_id, at, amount FROM sales WHERE site_key = ?1 AND at >= ?2 AND at < ?3 "
                             "ORDER BY at, sale_id");
    select_occupancy = Statement(
        d, "SELECT at, total, zones FROM occupancy WHERE site_key = ?1 AND at >= ?2 AND at < ?3 ORDER BY at");
    select_probes = Statement(d,
                              "SELECT probe, connected, last_heartbeat, received_at, batch_seq, item FROM "
                              "probe_health WHERE site_key = ?1 ORDER BY probe");
    select_alerts = Statement(d,
                              "SELECT day_start, raised_at, body FROM alerts WHERE site_key = ?1 AND day_start >= "
                              "?2 AND day_start < ?3 ORDER BY day_start, alert_key");
    select_sites = Statement(d, "SELECT tenant, site FROM sites ORDER BY tenant, site");
    bump_version = Statement(d, "UPDATE sites SET data_version = data_version + 1 WHERE site_key = ?1");
    select_versions = Statement(d, "SELECT tenant, site, data_version FROM sites ORDER BY tenant, site");
  }

  // The site's key; created when create is set, else -1 for an unknown site.
  std::int64_t site_key(std::string_view tenant, std::string_view site, bool create) {
    const SiteKey key{std::string(tenant), std::string(site)};
    if (const auto it = site_keys.find(key); it != site_keys.end()) return it->second;
    find_site.reuse().bind(1, tenant).bind(2, site);
    std::int64_t id = -1;
    if (find_site.step()) id = find_site.integer(0);
    find_site.reuse();
    if (id < 0 && create) {
      insert_site.reuse().bind(1, tenant).bind(2, site).run();
      id = sqlite3_last_insert_rowid(db.get());
    }
    if (id >= 0) site_keys.emplace(key, id);
    return id;
  }

  int user_version() {
    Statement s(db.get(), "PRAGMA user_version");
    return s.step() ? static_cast<int>(s.integer(0)) : 0;
  }

  void migrate(std::optional<int> stop_at) {
    const int target = stop_at.value_or(kSchemaVersion);
    Transaction tx(db.get());
    // schema_version keeps the history (when each step ran); user_version is the quick check.
    sqlite::exec(db.get(),
                 "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT "
                 "NULL)");
    Statement current(db.get(), "SELECT coalesce(max(version), 0) FROM schema_version");
    int version = current.step() ? static_cast<int>(current.integer(0)) : 0;
    current.reuse();
    if (version > kSchemaVersion)
      throw sqlite::SqliteError("sqlite: " + path.string() + " has schema version " + std::to_string(version) +
                                ", newer than this program's " + std::to_string(kSchemaVersion));
    Statement note(db.get(), "INSERT INTO schema_version (version, applied_at) VALUES (?1, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))");
    for (; version < target; ++version) {
      sqlite::exec(db.get(), kMigrations[static_cast<std::size_t>(version)]);
      note.reuse().bind(1, static_cast<std::int64_t>(version + 1)).run();
    }
    sqlite::exec(db.get(), ("PRAGMA user_version = " + std::to_string(version)).c_str());
    tx.commit();
  }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

std::unique_ptr<SqliteStore> SqliteStore::open(const std::filesystem::path& path, SqliteStoreOptions opts) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  impl->db = sqlite::open_database(path.string());
  sqlite3_busy_timeout(impl->db.get(), opts.busy_timeout_ms);
  sqlite::exec(impl->db.get(), "PRAGMA journal_mode = WAL");
  sqlite::exec(impl->db.get(), opts.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  sqlite::exec(impl->db.get(), "PRAGMA foreign_keys = ON");
  sqlite::exec(impl->db.get(), "PRAGMA cache_size = -65536");  // 64 MiB: a site-year's index stays in memory
  impl->migrate(opts.migrate_to);
  if (!opts.migrate_to || *opts.migrate_to >= kSchemaVersion) impl->prepare();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

int SqliteStore::schema_version() { return impl_->user_version(); }

BatchOutcome SqliteStore::store_batch(const IngestBatch& b, TimeMs received_at) {
  Impl& m = *impl_;
  BatchOutcome out;
  Transaction tx(m.db.get());
  const std::int64_t site = m.site_key(b.tenant, b.site, true);
  m.insert_batch.reuse()
      .bind(1, site)
      .bind(2, b.batch_id)
      .bind(3, to_string(b.kind))
      .bind(4, b.seq)
      .bind(5, b.sent_at)
      .bind(6, received_at)
      .bind(7, b.item_count())
      .run();
  if (sqlite3_changes(m.db.get()) == 0) {
    tx.rollback();
    out.duplicate_batch = true;
    counters_.count(out);
    return out;
  }
  for (const Visit& v : b.visits) {
    encode_visit_detail(v, m.detail);
    m.insert_visit.reuse()
        .bind(1, site)
        .bind(2, v.arrival)
        .bind_static(3, v.visit_id)
        .bind_static(4, v.device)
        .bind(5, v.key_epoch)
        .bind(6, v.departure)
        .bind(7, v.dwell_s)
        .bind_static(8, v.entry_zone)
        .bind_static(9, v.exit_zone)
        .bind(10, static_cast<std::int64_t>(v.randomized))
        .bind_static(11, v.fingerprint)
        .bind_blob(12, m.detail)
        .run();
    (sqlite3_changes(m.db.get()) > 0 ? out.visits_new : out.visits_duplicate) += 1;
  }
  if (b.occupancy) {
    m.insert_occupancy.reuse()
        .bind(1, site)
        .bind(2, b.occupancy->at)
        .bind(3, b.occupancy->total)
        .bind(4, nlohmann::json(b.occupancy->zones).dump())
        .run();
    out.occupancy_new += sqlite3_changes(m.db.get());
  }
  for (const Sale& s : b.sales) {
    m.insert_sale.reuse().bind(1, site).bind_static(2, s.sale_id).bind(3, s.at).bind(4, s.amount).run();
    (sqlite3_changes(m.db.get()) > 0 ? out.sales_new : out.sales_duplicate) += 1;
  }
  for (const ProbeHealth& p : b.probes) {
    m.upsert_probe.reuse()
        .bind(1, site)
        .bind_static(2, p.probe)
        .bind(3, static_cast<std::int64_t>(p.connected))
        .bind(4, p.last_heartbeat)
        .bind(5, received_at)
        .bind(6, b.seq)
        .bind_static(7, p.item_json)
        .run();
    out.probes_updated += sqlite3_changes(m.db.get());
  }
  if (b.kind == FeedKind::probes)
    m.upsert_gateway.reuse().bind(1, site).bind(2, received_at).bind(3, b.seq).bind_static(4, b.gateway_json).run();
  if (out.visits_new + out.sales_new + out.occupancy_new > 0) m.bump_version.reuse().bind(1, site).run();
  tx.commit();
  counters_.count(out);
  return out;
}

BatchOutcome SqliteStore::add_sales(const std::vector<Sale>& sales) {
  Impl& m = *impl_;
  BatchOutcome out;
  Transaction tx(m.db.get());
  for (const Sale& s : sales) {
    const std::int64_t site = m.site_key(s.tenant, s.site, true);
    m.insert_sale.reuse().bind(1, site).bind_static(2, s.sale_id).bind(3, s.at).bind(4, s.amount).run();
    const bool fresh = sqlite3_changes(m.db.get()) > 0;
    (fresh ? out.sales_new : out.sales_duplicate) += 1;
    if (fresh) m.bump_version.reuse().bind(1, site).run();
  }
  tx.commit();
  counters_.sales_stored += static_cast<std::uint64_t>(out.sales_new);
  counters_.sales_duplicate += static_cast<std::uint64_t>(out.sales_duplicate);
  return out;
}

bool SqliteStore::record_alert(std::string_view tenant, std::string_view site, TimeMs day_start,
                               std::string_view body_json, TimeMs raised_at) {
  Impl& m = *impl_;
  Transaction tx(m.db.get());
  const std::int64_t key = m.site_key(tenant, site, true);
  m.insert_alert.reuse().bind(1, key).bind(2, day_start).bind(3, raised_at).bind(4, body_json).run();
  const bool fresh = sqlite3_changes(m.db.get()) > 0;
  tx.commit();
  ++(fresh ? counters_.alerts_recorded : counters_.alerts_duplicate);
  return fresh;
}

void SqliteStore::for_each_visit(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to,
                                 const VisitSink& fn) {
  Impl& m = *impl_;
  const std::int64_t key = m.site_key(tenant, site, false);
  if (key < 0) return;
  Statement& q = m.select_visits;
  q.reuse().bind(1, key).bind(2, from).bind(3, to);
  Visit v;
  v.tenant = tenant;
  v.site = site;
  // The statement is reset on every exit, also when fn throws: the next reader finds it ready.
  struct ResetOnExit {
    Statement& s;
    ~ResetOnExit() { s.reuse(); }
  } reset{q};
  while (q.step()) {
    v.arrival = q.integer(0);
    v.visit_id = q.text(1);
    v.device = q.text(2);
    v.key_epoch = q.integer(3);
    v.departure = q.integer(4);
    v.dwell_s = q.real(5);
    v.entry_zone = q.text(6);
    v.exit_zone = q.text(7);
    v.randomized = q.integer(8) != 0;
    v.fingerprint = q.text(9);
    if (!decode_visit_detail(q.blob(10), v))
      throw sqlite::SqliteError("sqlite: " + m.path.string() + ": damaged detail of visit " + v.visit_id);
    fn(v);
  }
}

std::vector<Sale> SqliteStore::sales(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to) {
  Impl& m = *impl_;
  std::vector<Sale> out;
  const std::int64_t key = m.site_key(tenant, site, false);
  if (key < 0) return out;
  Statement& q = m.select_sales.reuse().bind(1, key).bind(2, from).bind(3, to);
  while (q.step()) out.push_back(Sale{std::string(tenant), std::string(site), std::string(q.text(0)), q.integer(1), q.real(2)});
  q.reuse();
  return out;
}

std::vector<OccupancySample> SqliteStore::occupancy(std::string_view tenant, std::string_view site, TimeMs from,
                                                    TimeMs to) {
  Impl& m = *impl_;
  std::vector<OccupancySample> out;
  const std::int64_t key = m.site_key(tenant, site, false);
  if (key < 0) return out;
  Statement& q = m.select_occupancy.reuse().bind(1, key).bind(2, from).bind(3, to);
  while (q.step()) out.push_back(occupancy_sample(tenant, site, q.integer(0), q.integer(1), q.text(2)));
  q.reuse();
  return out;
}

std::vector<ProbeHealthRecord> SqliteStore::probe_health(std::string_view tenant, std::string_view site) {
  Impl& m = *impl_;
  std::vector<ProbeHealthRecord> out;
  const std::int64_t key = m.site_key(tenant, site, false);
  if (key < 0) return out;
  Statement& q = m.select_probes.reuse().bind(1, key);
  while (q.step())
    out.push_back(ProbeHealthRecord{ProbeHealth{std::string(q.text(0)), q.integer(1) != 0, q.integer(2), std::string(q.text(5))},
                                    q.integer(3), q.integer(4)});
  q.reuse();
  return out;
}

std::vector<AlertRecord> SqliteStore::alerts(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to) {
  Impl& m = *impl_;
  std::vector<AlertRecord> out;
  const std::int64_t key = m.site_key(tenant, site, false);
  if (key < 0) return out;
  Statement& q = m.select_alerts.reuse().bind(1, key).bind(2, from).bind(3, to);
  while (q.step()) out.push_back(AlertRecord{q.integer(0), q.integer(1), std::string(q.text(2))});
  q.reuse();
  return out;
}

std::vector<SiteVersion> SqliteStore::site_versions() {
  std::vector<SiteVersion> out;
  Statement& q = impl_->select_versions.reuse();
  while (q.step()) out.push_back(SiteVersion{{std::string(q.text(0)), std::string(q.text(1))}, q.integer(2)});
  q.reuse();
  return out;
}

std::vector<OccupancySample> SqliteStore::latest_occupancy(TimeMs since) {
  Statement q(impl_->db.get(),
              "SELECT s.tenant, s.site, o.at, o.total, o.zones FROM occupancy o JOIN sites s USING (site_key) "
              "WHERE o.at = (SELECT max(at) FROM occupancy WHERE site_key = o.site_key) AND o.at >= ?1");
  q.bind(1, since);
  std::vector<OccupancySample> out;
  while (q.step()) out.push_back(occupancy_sample(q.text(0), q.text(1), q.integer(2), q.integer(3), q.text(4)));
  return out;
}

PruneOutcome SqliteStore::prune(const RetentionRules& rules) {
  Impl& m = *impl_;
  PruneOutcome out;
  Transaction tx(m.db.get());
  const auto run = [&](const char* sql, std::int64_t cutoff, std::string_view tenant) {
    Statement s(m.db.get(), sql);
    s.bind(1, cutoff);
    if (!tenant.empty()) s.bind(2, tenant);
    s.run();
    return static_cast<std::int64_t>(sqlite3_changes(m.db.get()));
  };
  out.batch_ids = run("DELETE FROM batches WHERE received_at < ?1", rules.batch_ids_before, {});
  constexpr const char* kOfTenant = "site_key IN (SELECT site_key FROM sites WHERE tenant = ?2)";
  for (const auto& [tenant, cutoff] : rules.tenant_cutoffs) {
    out.visits += run((std::string("DELETE FROM visits WHERE arrival < ?1 AND ") + kOfTenant).c_str(), cutoff, tenant);
    out.occupancy += run((std::string("DELETE FROM occupancy WHERE at < ?1 AND ") + kOfTenant).c_str(), cutoff, tenant);
    out.sales += run((std::string("DELETE FROM sales WHERE at < ?1 AND ") + kOfTenant).c_str(), cutoff, tenant);
    out.alerts += run((std::string("DELETE FROM alerts WHERE day_start < ?1 AND ") + kOfTenant).c_str(), cutoff, tenant);
  }
  tx.commit();
  return out;
}

std::vector<SiteKey> SqliteStore::sites() {
  std::vector<SiteKey> out;
  Statement& q = impl_->select_sites.reuse();
  while (q.step()) out.push_back(SiteKey{std::string(q.text(0)), std::string(q.text(1))});
  q.reuse();
  return out;
}

}  // namespace footfall::aggregator
