#include "aggregator/store/postgres_store.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "aggregator/store/pg_handle.h"
#include "aggregator/store/pg_pool.h"
#include "aggregator/store/visit_detail_codec.h"

namespace footfall::aggregator {

using pg::Params;
using pg::PgError;

namespace {

// Migration N brings the schema from version N-1 to N. Never edit a released migration: add the next one.
constexpr std::array<const char*, kPostgresSchemaVersion> kMigrations = {
    // 1: tenants, sites, processed batch ids, visits (partitioned by tenant, then by month of arrival, the
    // partitions made on demand), occupancy, sales, health, alerts. Names and ids compare byte by byte
    // (COLLATE "C"), as in SQLite: the same order of ties whatever the server's locale, and index order.
    R"sql(
CREATE TABLE tenants (
  tenant_key integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant     text COLLATE "C" NOT NULL UNIQUE
);
CREATE TABLE sites (
  site_key   integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_key integer NOT NULL REFERENCES tenants,
  site       text COLLATE "C" NOT NULL,
  UNIQUE (tenant_key, site)
);
CREATE TABLE batches (
  site_key    integer NOT NULL REFERENCES sites,
  batch_id    text COLLATE "C" NOT NULL,
  kind        text NOT NULL,
  seq         bigint NOT NULL,
  sent_at     bigint NOT NULL,
  received_at bigint NOT NULL,
  items       bigint NOT NULL,
  PRIMARY KEY (site_key, batch_id)
);
CREATE INDEX batches_by_received ON batches (received_at);
CREATE TABLE visits (
  tenant_key  integer NOT NULL,
  site_key    integer NOT NULL,
  arrival     bigint NOT NULL,
  visit_id    text COLLATE "C" NOT NULL,
  device      text NOT NULL,
  key_epoch   bigint NOT NULL,
  departure   bigint NOT NULL,
  dwell_s     double precision NOT NULL,
  entry_zone  text NOT NULL,
  exit_zone   text NOT NULL,
  randomized  boolean NOT NULL,
  fingerprint text NOT NULL,
  detail      bytea NOT NULL,
  PRIMARY KEY (site_key, arrival, visit_id, tenant_key)
) PARTITION BY LIST (tenant_key);
CREATE TABLE visit_partitions (
  tenant_key  integer NOT NULL,
  month_start bigint NOT NULL,
  month_end   bigint NOT NULL,
  name        text NOT NULL,
  PRIMARY KEY (tenant_key, month_start)
);
CREATE TABLE occupancy (
  site_key integer NOT NULL REFERENCES sites,
  at       bigint NOT NULL,
  total    bigint NOT NULL,
  zones    text NOT NULL,
  PRIMARY KEY (site_key, at)
);
CREATE TABLE sales (
  site_key integer NOT NULL REFERENCES sites,
  sale_id  text COLLATE "C" NOT NULL,
  at       bigint NOT NULL,
  amount   double precision NOT NULL,
  PRIMARY KEY (site_key, sale_id)
);
CREATE INDEX sales_by_time ON sales (site_key, at);
CREATE TABLE probe_health (
  site_key       integer NOT NULL REFERENCES sites,
  probe          text COLLATE "C" NOT NULL,
  connected      boolean NOT NULL,
  last_heartbeat bigint NOT NULL,
  received_at    bigint NOT NULL,
  batch_seq      bigint NOT NULL,
  item           text NOT NULL,
  PRIMARY KEY (site_key, probe)
);
CREATE TABLE gateway_health (
  site_key    integer PRIMARY KEY REFERENCES sites,
  received_at bigint NOT NULL,
  batch_seq   bigint NOT NULL,
  body        text NOT NULL
);
CREATE TABLE alerts (
  alert_key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site_key  integer NOT NULL REFERENCES sites,
  day_start bigint NOT NULL,
  raised_at bigint NOT NULL,
  body      text NOT NULL,
  UNIQUE (site_key, day_start, body)
);
)sql",
    // 2: a change number per site: the instance that publishes a site recomputes it when the number moved,
    // whichever instance stored the batch.
    R"sql(
ALTER TABLE sites ADD COLUMN data_version bigint NOT NULL DEFAULT 0;
)sql",
};

constexpr std::size_t kVisitColumns = 13;
constexpr std::size_t kVisitsPerStatement = 1000;  // 13,000 parameters: under the protocol's 65,535

// The UTC month holding t: its first and next month's first millisecond, and its yyyymm.
struct Month {
  TimeMs start = 0;
  TimeMs end = 0;
  int yyyymm = 0;
};

Month month_of(TimeMs t) {
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(sys_time<milliseconds>(milliseconds(t)))};
  const year_month first = ymd.year() / ymd.month();
  const auto ms_of = [](year_month ym) {
    return duration_cast<milliseconds>(sys_days(ym / 1).time_since_epoch()).count();
  };
  return {ms_of(first), ms_of(first + months(1)), static_cast<int>(ymd.year()) * 100 + static_cast<int>(unsigned(ymd.month()))};
}

std::string partition_name(int tenant_key, int yyyymm) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "visits_t%d_%06d", tenant_key, yyyymm);
  return buf;
}

struct SiteIds {
  int tenant_key = 0;
  int site_key = 0;
};

}  // namespace

struct PostgresStore::Impl {
  explicit Impl(const PostgresStoreOptions& o) : pool(o.conninfo, o.pool_size, "footfall-aggregator") {}

  pg::Pool pool;
  mutable std::mutex mutex;  // the caches and counters below
  std::map<SiteKey, SiteIds, std::less<>> site_ids;  // bounded by the sites in the store
  std::set<std::pair<int, TimeMs>> partitions;      // (tenant key, month start) known to exist
  StoreCounters counters;

  // The keys of a site, created (with its tenant's partition) when create is set; nullopt when unknown.
  std::optional<SiteIds> ids(PGconn* c, std::string_view tenant, std::string_view site, bool create) {
    const SiteKey key{std::string(tenant), std::string(site)};
    {
      std::lock_guard lock(mutex);
      if (const auto it = site_ids.find(key); it != site_ids.end()) return it->second;
    }
    constexpr const char* kFind =
        "SELECT t.tenant_key, s.site_key FROM sites s JOIN tenants t USING (tenant_key) "
        "WHERE t.tenant = $1 AND s.site = $2";
    auto r = pg::exec(c, kFind, Params().add(tenant).add(site));
    if (PQntuples(r.get()) == 0) {
      if (!create) return std::nullopt;
      pg::exec(c, "INSERT INTO tenants (tenant) VALUES ($1) ON CONFLICT (tenant) DO NOTHING", Params().add(tenant));
      pg::exec(c,
               "INSERT INTO sites (tenant_key, site) SELECT tenant_key, $2 FROM tenants WHERE tenant = $1 "
               "ON CONFLICT (tenant_key, site) DO NOTHING",
               Params().add(tenant).add(site));
      r = pg::exec(c, kFind, Params().add(tenant).add(site));
      if (PQntuples(r.get()) == 0) throw PgError("postgresql: site " + key.tenant + "/" + key.site + " not created", false);
    }
    const SiteIds found{static_cast<int>(pg::integer(r, 0, 0)), static_cast<int>(pg::integer(r, 0, 1))};
    std::lock_guard lock(mutex);
    site_ids.emplace(key, found);
    return found;
  }

  // Makes the month partitions the visits fall into (a tenant's first visit also makes its list partition).
  // Its own transaction before the batch's: the DDL is committed and seen by every instance.
  void ensure_partitions(PGconn* c, int tenant_key, const std::vector<Visit>& visits) {
    std::map<TimeMs, Month> missing;
    {
      std::lock_guard lock(mutex);
      for (const Visit& v : visits) {
        const Month m = month_of(v.arrival);
        if (!partitions.contains({tenant_key, m.start})) missing.emplace(m.start, m);
      }
    }
    if (missing.empty()) return;
    pg::Transaction tx(c);
    pg::exec(c, "SELECT pg_advisory_xact_lock($1, $2)", Params().add(pg::kLockClass).add(pg::kLockPartitions));
    const std::string parent = "visits_t" + std::to_string(tenant_key);
    pg::exec_script(c, ("CREATE TABLE IF NOT EXISTS " + parent + " PARTITION OF visits FOR VALUES IN (" +
                        std::to_string(tenant_key) + ") PARTITION BY RANGE (arrival)")
                           .c_str());
    for (const auto& [start, m] : missing) {
      const std::string name = partition_name(tenant_key, m.yyyymm);
      pg::exec_script(c, ("CREATE TABLE IF NOT EXISTS " + name + " PARTITION OF " + parent + " FOR VALUES FROM (" +
                          std::to_string(m.start) + ") TO (" + std::to_string(m.end) + ")")
                             .c_str());
      pg::exec(c,
               "INSERT INTO visit_partitions (tenant_key, month_start, month_end, name) VALUES ($1, $2, $3, $4) "
               "ON CONFLICT DO NOTHING",
               Params().add(tenant_key).add(m.start).add(m.end).add(name));
    }
    tx.commit();
    std::lock_guard lock(mutex);
    for (const auto& [start, m] : missing) partitions.emplace(tenant_key, start);
  }

  BatchOutcome store_once(PGconn* c, const IngestBatch& b, TimeMs received_at) {
    BatchOutcome out;
    const SiteIds site = *ids(c, b.tenant, b.site, true);
    ensure_partitions(c, site.tenant_key, b.visits);
    pg::Transaction tx(c);
    // The site's row first: batches of one site are stored one after the other (no deadlock between two
    // instances storing overlapping batches), different sites in parallel.
    pg::exec(c, "SELECT 1 FROM sites WHERE site_key = $1 FOR UPDATE", Params().add(site.site_key));
    const auto batch = pg::exec(c,
                                "INSERT INTO batches (site_key, batch_id, kind, seq, sent_at, received_at, items) "
                                "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                                Params()
                                    .add(site.site_key)
                                    .add(b.batch_id)
                                    .add(to_string(b.kind))
                                    .add(b.seq)
                                    .add(b.sent_at)
                                    .add(received_at)
                                    .add(b.item_count()));
    if (pg::affected(batch) == 0) {
      tx.rollback();
      out.duplicate_batch = true;
      return out;
    }
    std::vector<std::uint8_t> detail;
    for (std::size_t first = 0; first < b.visits.size(); first += kVisitsPerStatement) {
      const std::size_t n = std::min(kVisitsPerStatement, b.visits.size() - first);
      std::string sql =
          "INSERT INTO visits (tenant_key, site_key, arrival, visit_id, device, key_epoch, departure, dwell_s, "
          "entry_zone, exit_zone, randomized, fingerprint, detail) VALUES ";
      Params p;
      for (std::size_t i = 0; i < n; ++i) {
        const Visit& v = b.visits[first + i];
        sql += i == 0 ? "(" : ",(";
        for (std::size_t k = 1; k <= kVisitColumns; ++k) {
          sql += "$" + std::to_string(i * kVisitColumns + k);
          sql += k == kVisitColumns ? ")" : ",";
        }
        encode_visit_detail(v, detail);
        p.add(site.tenant_key)
            .add(site.site_key)
            .add(v.arrival)
            .add(v.visit_id)
            .add(v.device)
            .add(v.key_epoch)
            .add(v.departure)
            .add(v.dwell_s)
            .add(v.entry_zone)
            .add(v.exit_zone)
            .add(v.randomized)
            .add(v.fingerprint)
            .add_bytes(detail);
      }
      sql += " ON CONFLICT DO NOTHING";
      const std::int64_t fresh = pg::affected(pg::exec(c, sql, p));
      out.visits_new += fresh;
      out.visits_duplicate += static_cast<std::int64_t>(n) - fresh;
    }
    if (b.occupancy) {
      out.occupancy_new += pg::affected(
          pg::exec(c, "INSERT INTO occupancy (site_key, at, total, zones) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                   Params()
                       .add(site.site_key)
                       .add(b.occupancy->at)
                       .add(b.occupancy->total)
                       .add(nlohmann::json(b.occupancy->zones).dump())));
    }
    for (const Sale& s : b.sales) (insert_sale(c, site.site_key, s) ? out.sales_new : out.sales_duplicate) += 1;
    for (const ProbeHealth& h : b.probes) {
      // Batches can arrive out of order after a redelivery: a probe's row only moves forward in seq.
      out.probes_updated += pg::affected(pg::exec(
          c,
          "INSERT INTO probe_health (site_key, probe, connected, last_heartbeat, received_at, batch_seq, item) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (site_key, probe) DO UPDATE SET connected = "
          "excluded.connected, last_heartbeat = excluded.last_heartbeat, received_at = excluded.received_at, "
          "batch_seq = excluded.batch_seq, item = excluded.item WHERE excluded.batch_seq >= probe_health.batch_seq",
          Params()
              .add(site.site_key)
              .add(h.probe)
              .add(h.connected)
              .add(h.last_heartbeat)
              .add(received_at)
              .add(b.seq)
              .add(h.item_json)));
    }
    if (b.kind == FeedKind::probes)
      pg::exec(c,
               "INSERT INTO gateway_health (site_key, received_at, batch_seq, body) VALUES ($1, $2, $3, $4) "
               "ON CONFLICT (site_key) DO UPDATE SET received_at = excluded.received_at, batch_seq = "
               "excluded.batch_seq, body = excluded.body WHERE excluded.batch_seq >= gateway_health.batch_seq",
               Params().add(site.site_key).add(received_at).add(b.seq).add(b.gateway_json));
    if (out.visits_new + out.sales_new + out.occupancy_new > 0)
      pg::exec(c, "UPDATE sites SET data_version = data_version + 1 WHERE site_key = $1", Params().add(site.site_key));
    tx.commit();
    return out;
  }

  static bool insert_sale(PGconn* c, int site_key, const Sale& s) {
    return pg::affected(pg::exec(c,
                                 "INSERT INTO sales (site_key, sale_id, at, amount) VALUES ($1, $2, $3, $4) "
                                 "ON CONFLICT DO NOTHING",
                                 Params().add(site_key).add(s.sale_id).add(s.at).add(s.amount))) > 0;
  }

  void count(const BatchOutcome& out) {
    std::lock_guard lock(mutex);
    counters.count(out);
  }

  void migrate(PGconn* c, std::optional<int> stop_at) {
    const int target = stop_at.value_or(kPostgresSchemaVersion);
    pg::Transaction tx(c);
    // Instances starting together: one migrates, the others wait here and then find nothing to do.
    pg::exec(c, "SELECT pg_advisory_xact_lock($1, $2)", Params().add(pg::kLockClass).add(pg::kLockMigrate));
    pg::exec_script(c,
                    "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, applied_at timestamptz "
                    "NOT NULL DEFAULT now())");
    auto r = pg::exec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
    int version = static_cast<int>(pg::integer(r, 0, 0));
    if (version > kPostgresSchemaVersion)
      throw PgError("postgresql: the database has schema version " + std::to_string(version) +
                        ", newer than this program's " + std::to_string(kPostgresSchemaVersion),
                    false);
    for (; version < target; ++version) {
      pg::exec_script(c, kMigrations[static_cast<std::size_t>(version)]);
      pg::exec(c, "INSERT INTO schema_version (version) VALUES ($1)", Params().add(version + 1));
    }
    tx.commit();
  }
};

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

std::unique_ptr<PostgresStore> PostgresStore::open(const PostgresStoreOptions& opts) {
  auto impl = std::make_unique<Impl>(opts);
  {
    auto c = impl->pool.borrow();
    if (opts.migrate) {
      impl->migrate(c.get(), opts.migrate_to);
    } else {
      const auto known = pg::exec(c.get(), "SELECT to_regclass('schema_version') IS NOT NULL");
      std::int64_t version = 0;
      if (pg::boolean(known, 0, 0))
        version = pg::integer(pg::exec(c.get(), "SELECT coalesce(max(version), 0) FROM schema_version"), 0, 0);
      if (version != kPostgresSchemaVersion)
        throw PgError("postgresql: the database has schema version " + std::to_string(version) + ", this program's is " +
                          std::to_string(kPostgresSchemaVersion) +
                          (version < kPostgresSchemaVersion ? ": run `footfall-aggregator migrate` first"
                                                            : ": use a newer footfall-aggregator"),
                      false);
    }
  }
  return std::unique_ptr<PostgresStore>(new PostgresStore(std::move(impl)));
}

int PostgresStore::schema_version() {
  auto c = impl_->pool.borrow();
  const auto r = pg::exec(c.get(), "SELECT coalesce(max(version), 0) FROM schema_version");
  return static_cast<int>(pg::integer(r, 0, 0));
}

std::vector<std::string> PostgresStore::visit_partitions() {
  auto c = impl_->pool.borrow();
  const auto r = pg::exec(c.get(), "SELECT name FROM visit_partitions ORDER BY name");
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(pg::text(r, i, 0));
  return out;
}

BatchOutcome PostgresStore::store_batch(const IngestBatch& b, TimeMs received_at) {
  auto c = impl_->pool.borrow();
  BatchOutcome out;
  try {
    out = impl_->store_once(c.get(), b, received_at);
  } catch (const PgError& e) {
    if (e.refuses_data()) throw StoreRefused(e.what());
    // "no partition for the row": another instance's retention dropped a month this one still knew.
    if (e.sqlstate() != "23514") throw;
    {
      std::lock_guard lock(impl_->mutex);
      impl_->partitions.clear();
    }
    out = impl_->store_once(c.get(), b, received_at);
  }
  impl_->count(out);
  return out;
}

BatchOutcome PostgresStore::add_sales(const std::vector<Sale>& sales) {
  auto c = impl_->pool.borrow();
  BatchOutcome out;
  std::set<int> changed;
  std::vector<SiteIds> ids;
  for (const Sale& s : sales) ids.push_back(*impl_->ids(c.get(), s.tenant, s.site, true));
  pg::Transaction tx(c.get());
  // The sites' rows first, in key order, as a batch's transaction does: an import beside the live sales feed
  // (or another import) waits instead of deadlocking.
  std::set<int> site_keys;
  for (const SiteIds& id : ids) site_keys.insert(id.site_key);
  for (const int site : site_keys)
    pg::exec(c.get(), "SELECT 1 FROM sites WHERE site_key = $1 FOR UPDATE", Params().add(site));
  for (std::size_t i = 0; i < sales.size(); ++i) {
    const bool fresh = Impl::insert_sale(c.get(), ids[i].site_key, sales[i]);
    (fresh ? out.sales_new : out.sales_duplicate) += 1;
    if (fresh) changed.insert(ids[i].site_key);
  }
  for (const int site : changed)
    pg::exec(c.get(), "UPDATE sites SET data_version = data_version + 1 WHERE site_key = $1", Params().add(site));
  tx.commit();
  std::lock_guard lock(impl_->mutex);
  impl_->counters.sales_stored += static_cast<std::uint64_t>(out.sales_new);
  impl_->counters.sales_duplicate += static_cast<std::uint64_t>(out.sales_duplicate);
  return out;
}

bool PostgresStore::record_alert(std::string_view tenant, std::string_view site, TimeMs day_start,
                                 std::string_view body_json, TimeMs raised_at) {
  auto c = impl_->pool.borrow();
  const SiteIds ids = *impl_->ids(c.get(), tenant, site, true);
  const bool fresh = pg::affected(pg::exec(c.get(),
                                           "INSERT INTO alerts (site_key, day_start, raised_at, body) VALUES ($1, $2, "
                                           "$3, $4) ON CONFLICT DO NOTHING",
                                           Params().add(ids.site_key).add(day_start).add(raised_at).add(body_json))) > 0;
  std::lock_guard lock(impl_->mutex);
  ++(fresh ? impl_->counters.alerts_recorded : impl_->counters.alerts_duplicate);
  return fresh;
}

void PostgresStore::for_each_visit(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to,
                                   const VisitSink& fn) {
  auto c = impl_->pool.borrow();
  const auto ids = impl_->ids(c.get(), tenant, site, false);
  if (!ids) return;
  // Row by row (libpq's single-row mode): a site-year does not have to fit in memory at once.
  const Params p = Params().add(ids->tenant_key).add(ids->site_key).add(from).add(to);
  const Params::View view = p.view();
  constexpr const char* kSql =
      "SELECT arrival, visit_id, device, key_epoch, departure, dwell_s, entry_zone, exit_zone, randomized, "
      "fingerprint, detail FROM visits WHERE tenant_key = $1 AND site_key = $2 AND arrival >= $3 AND arrival < $4 "
      "ORDER BY arrival, visit_id";
  if (PQsendQueryParams(c.get(), kSql, 4, nullptr, view.values.data(), view.lengths.data(), view.formats, 0) != 1 ||
      PQsetSingleRowMode(c.get()) != 1)
    throw PgError("postgresql: " + pg::error_text(c.get()) + " reading visits", PQstatus(c.get()) != CONNECTION_OK);
  Visit v;
  v.tenant = tenant;
  v.site = site;
  std::string failure;
  // If fn throws, the rest of the rows stay unread: the pool closes that connection instead of lending it.
  while (PGresult* raw = PQgetResult(c.get())) {
    const pg::ResultHandle r(raw);
    const ExecStatusType st = PQresultStatus(raw);
    if (st == PGRES_TUPLES_OK) continue;  // the end
    if (st != PGRES_SINGLE_TUPLE) {
      failure = PQresultErrorMessage(raw);
      continue;  // drain: the connection is usable once every result is read
    }
    if (!failure.empty()) continue;
    v.arrival = pg::integer(r, 0, 0);
    v.visit_id = pg::text(r, 0, 1);
    v.device = pg::text(r, 0, 2);
    v.key_epoch = pg::integer(r, 0, 3);
    v.departure = pg::integer(r, 0, 4);
    v.dwell_s = pg::real(r, 0, 5);
    v.entry_zone = pg::text(r, 0, 6);
    v.exit_zone = pg::text(r, 0, 7);
    v.randomized = pg::boolean(r, 0, 8);
    v.fingerprint = pg::text(r, 0, 9);
    const std::vector<std::uint8_t> detail = pg::bytes(r, 0, 10);
    if (!decode_visit_detail(detail, v)) {
      failure = "damaged detail of visit " + v.visit_id;
      continue;
    }
    fn(v);
  }
  if (!failure.empty())
    throw PgError("postgresql: reading visits: " + failure, PQstatus(c.get()) != CONNECTION_OK);
}

std::vector<Sale> PostgresStore::sales(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to) {
  auto c = impl_->pool.borrow();
  std::vector<Sale> out;
  const auto ids = impl_->ids(c.get(), tenant, site, false);
  if (!ids) return out;
  const auto r = pg::exec(c.get(),
                          "SELECT sale_id, at, amount FROM sales WHERE site_key = $1 AND at >= $2 AND at < $3 "
                          "ORDER BY at, sale_id",
                          Params().add(ids->site_key).add(from).add(to));
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.push_back(Sale{std::string(tenant), std::string(site), std::string(pg::text(r, i, 0)), pg::integer(r, i, 1),
                       pg::real(r, i, 2)});
  return out;
}

std::vector<OccupancySample> PostgresStore::occupancy(std::string_view tenant, std::string_view site, TimeMs from,
                                                      TimeMs to) {
  auto c = impl_->pool.borrow();
  std::vector<OccupancySample> out;
  const auto ids = impl_->ids(c.get(), tenant, site, false);
  if (!ids) return out;
  const auto r = pg::exec(c.get(),
                          "SELECT at, total, zones FROM occupancy WHERE site_key = $1 AND at >= $2 AND at < $3 "
                          "ORDER BY at",
                          Params().add(ids->site_key).add(from).add(to));
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.push_back(occupancy_sample(tenant, site, pg::integer(r, i, 0), pg::integer(r, i, 1), pg::text(r, i, 2)));
  return out;
}

std::vector<OccupancySample> PostgresStore::latest_occupancy(TimeMs since) {
  auto c = impl_->pool.borrow();
  // One index probe per site (the key is (site_key, at)).
  const auto r = pg::exec(c.get(),
                          "SELECT t.tenant, s.site, o.at, o.total, o.zones FROM sites s JOIN tenants t USING "
                          "(tenant_key) CROSS JOIN LATERAL (SELECT at, total, zones FROM occupancy WHERE site_key = "
                          "s.site_key AND at >= $1 ORDER BY at DESC LIMIT 1) o",
                          Params().add(since));
  std::vector<OccupancySample> out;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.push_back(occupancy_sample(pg::text(r, i, 0), pg::text(r, i, 1), pg::integer(r, i, 2), pg::integer(r, i, 3),
                                   pg::text(r, i, 4)));
  return out;
}

std::vector<ProbeHealthRecord> PostgresStore::probe_health(std::string_view tenant, std::string_view site) {
  auto c = impl_->pool.borrow();
  std::vector<ProbeHealthRecord> out;
  const auto ids = impl_->ids(c.get(), tenant, site, false);
  if (!ids) return out;
  const auto r = pg::exec(c.get(),
                          "SELECT probe, connected, last_heartbeat, received_at, batch_seq, item FROM probe_health "
                          "WHERE site_key = $1 ORDER BY probe",
                          Params().add(ids->site_key));
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.push_back(ProbeHealthRecord{ProbeHealth{std::string(pg::text(r, i, 0)), pg::boolean(r, i, 1),
                                                pg::integer(r, i, 2), std::string(pg::text(r, i, 5))},
                                    pg::integer(r, i, 3), pg::integer(r, i, 4)});
  return out;
}

std::vector<AlertRecord> PostgresStore::alerts(std::string_view tenant, std::string_view site, TimeMs from, TimeMs to) {
  auto c = impl_->pool.borrow();
  std::vector<AlertRecord> out;
  const auto ids = impl_->ids(c.get(), tenant, site, false);
  if (!ids) return out;
  const auto r = pg::exec(c.get(),
                          "SELECT day_start, raised_at, body FROM alerts WHERE site_key = $1 AND day_start >= $2 AND "
                          "day_start < $3 ORDER BY day_start, alert_key",
                          Params().add(ids->site_key).add(from).add(to));
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.push_back(AlertRecord{pg::integer(r, i, 0), pg::integer(r, i, 1), std::string(pg::text(r, i, 2))});
  return out;
}

std::vector<SiteKey> PostgresStore::sites() {
  std::vector<SiteKey> out;
  for (SiteVersion& s : site_versions()) out.push_back(std::move(s.site));
  return out;
}

std::vector<SiteVersion> PostgresStore::site_versions() {
  auto c = impl_->pool.borrow();
  const auto r = pg::exec(c.get(),
                          "SELECT t.tenant, s.site, s.data_version FROM sites s JOIN tenants t USING (tenant_key) "
                          "ORDER BY t.tenant, s.site");
  std::vector<SiteVersion> out;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.push_back(SiteVersion{{std::string(pg::text(r, i, 0)), std::string(pg::text(r, i, 1))}, pg::integer(r, i, 2)});
  return out;
}

PruneOutcome PostgresStore::prune(const RetentionRules& rules) {
  auto lease = impl_->pool.borrow();
  PGconn* c = lease.get();
  PruneOutcome out;
  // One instance prunes at a time; the others skip this round rather than wait.
  const auto won = pg::exec(c, "SELECT pg_try_advisory_lock($1, $2)", Params().add(pg::kLockClass).add(pg::kLockPrune));
  if (!pg::boolean(won, 0, 0)) return out;
  struct Unlock {  // also when a step throws: the session goes back to the pool
    PGconn* c;
    std::string sql = "SELECT pg_advisory_unlock(" + std::to_string(pg::kLockClass) + ", " +
                      std::to_string(pg::kLockPrune) + ")";
    ~Unlock() {
      if (PQstatus(c) == CONNECTION_OK) pg::ResultHandle(PQexec(c, sql.c_str()));
    }
  } unlock{c};
  // Each step is a short statement or transaction of its own: ingest and reads wait for none of them long.
  out.batch_ids = pg::affected(pg::exec(c, "DELETE FROM batches WHERE received_at < $1", Params().add(rules.batch_ids_before)));
  for (const auto& [tenant, cutoff] : rules.tenant_cutoffs) {
    const auto t = pg::exec(c, "SELECT tenant_key FROM tenants WHERE tenant = $1", Params().add(tenant));
    if (PQntuples(t.get()) == 0) continue;
    const std::int64_t tenant_key = pg::integer(t, 0, 0);
    // Whole months before the cutoff go as partitions (no row by row delete, no table bloat). Dropping one
    // locks its tenant's visits for a moment: a lock not had within 2 s leaves that month for the next round.
    const auto parts = pg::exec(c,
                                "SELECT name FROM visit_partitions WHERE tenant_key = $1 AND month_end <= $2 ORDER BY "
                                "month_start",
                                Params().add(tenant_key).add(cutoff));
    for (int i = 0; i < PQntuples(parts.get()); ++i) {
      const std::string name(pg::text(parts, i, 0));
      try {
        pg::Transaction tx(c);
        pg::exec(c, "SET LOCAL lock_timeout = '2s'");
        pg::exec(c, "SELECT pg_advisory_xact_lock($1, $2)", Params().add(pg::kLockClass).add(pg::kLockPartitions));
        const auto n = pg::exec(c, "SELECT count(*) FROM " + name);
        pg::exec_script(c, ("DROP TABLE IF EXISTS " + name).c_str());
        pg::exec(c, "DELETE FROM visit_partitions WHERE name = $1", Params().add(name));
        tx.commit();
        out.visits += pg::integer(n, 0, 0);
        ++out.visit_partitions;
      } catch (const PgError& e) {
        if (e.sqlstate() != "55P03") throw;  // lock_not_available: busy now, next round
      }
    }
    // The month the cutoff falls in keeps its partition: its older rows go one by one.
    out.visits += pg::affected(pg::exec(c, "DELETE FROM visits WHERE tenant_key = $1 AND arrival < $2",
                                        Params().add(tenant_key).add(cutoff)));
    constexpr const char* kOfTenant = " AND site_key IN (SELECT site_key FROM sites WHERE tenant_key = $2)";
    const Params p = Params().add(cutoff).add(tenant_key);
    out.occupancy += pg::affected(pg::exec(c, std::string("DELETE FROM occupancy WHERE at < $1") + kOfTenant, p));
    out.sales += pg::affected(pg::exec(c, std::string("DELETE FROM sales WHERE at < $1") + kOfTenant, p));
    out.alerts += pg::affected(pg::exec(c, std::string("DELETE FROM alerts WHERE day_start < $1") + kOfTenant, p));
  }
  if (out.visit_partitions > 0) {
    std::lock_guard lock(impl_->mutex);
    impl_->partitions.clear();
  }
  return out;
}

StoreCounters PostgresStore::counters() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->counters;
}

}  // namespace footfall::aggregator
