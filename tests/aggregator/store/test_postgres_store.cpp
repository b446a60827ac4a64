// PostgresStore on a real PostgreSQL 15 started by the test (initdb, pg_ctl, a free loopback port): the same
// idempotence as SQLite (a batch twice, a visit in two batches, sales by MQTT and import), visits by arrival
// across month partitions, migrations from the previous schema version, retention dropping whole months,
// writers of two instances at once, the server stopped and started under a live store, and the publish
// leases shared between instances. The SQLite store gets the same change numbers and retention checks.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>

#include "aggregator/publish/site_leases.h"
#include "aggregator/store/pg_handle.h"
#include "aggregator/store/postgres_store.h"
#include "aggregator/store/sqlite_store.h"
#include "tests/aggregator/store/store_fixture.h"
#include "tests/support/postgres_server.h"

using namespace footfall::aggregator;
using namespace footfall::aggregator::testing;
using footfall::test::PostgresServer;

namespace {

constexpr TimeMs kJan15 = 1'768'435'200'000;  // 2026-01-15T00:00:00Z
constexpr TimeMs kFeb01 = 1'769'904'000'000;  // 2026-02-01T00:00:00Z
constexpr TimeMs kFeb15 = 1'771'113'600'000;  // 2026-02-15T00:00:00Z
constexpr TimeMs kMar01 = 1'772'323'200'000;  // 2026-03-01T00:00:00Z
constexpr TimeMs kMar15 = 1'773'532'800'000;  // 2026-03-15T00:00:00Z

// One server for the whole program; each test case takes a database of its own.
PostgresServer& server() {
  static PostgresServer s;
  return s;
}

// A fresh database's connection string, or "" (with the reason printed) when no server could start.
std::string last_database;

std::string fresh_database() {
  static int n = 0;
  if (!server().setup_error().empty()) {
    MESSAGE("skipped: no PostgreSQL server: " << server().setup_error());
    return {};
  }
  const std::string name = "case" + std::to_string(++n);
  REQUIRE_MESSAGE(server().create_database(name), "createdb " << name);
  last_database = name;
  return server().conninfo(name);
}

std::int64_t version_of(SiteStore& s, const SiteKey& key) {
  for (const SiteVersion& v : s.site_versions())
    if (v.site == key) return v.version;
  return -1;
}

std::unique_ptr<PostgresStore> open_pg(const std::string& conninfo, std::optional<int> migrate_to = {}) {
  return PostgresStore::open(PostgresStoreOptions{conninfo, 3, migrate_to});
}

}  // namespace

TEST_CASE("postgresql: a batch twice and a visit in two batches are stored once; sales once by MQTT and import") {
  const std::string db = fresh_database();
  if (db.empty()) return;
  auto store = open_pg(db);
  CHECK(store->schema_version() == kPostgresSchemaVersion);
  const auto b1 = visits_batch("mall-7-1-1", {make_visit("v1", kJan15), make_visit("v2", kJan15 + 1000)});
  const auto first = store->store_batch(b1, 10);
  CHECK_FALSE(first.duplicate_batch);
  CHECK(first.visits_new == 2);
  CHECK(store->store_batch(b1, 11).duplicate_batch);
  // v2 again in another batch, v3 in the next month: a second partition.
  const auto b2 = visits_batch("mall-7-1-2", {make_visit("v2", kJan15 + 1000), make_visit("v3", kFeb15)});
  const auto second = store->store_batch(b2, 12);
  CHECK(second.visits_new == 1);
  CHECK(second.visits_duplicate == 1);
  CHECK(ids_in(*store, 0, kMar01) == std::vector<std::string>{"v1", "v2", "v3"});
  CHECK(ids_in(*store, kJan15 + 1, kMar01) == std::vector<std::string>{"v2", "v3"});  // [from, to)
  CHECK(ids_in(*store, kJan15, kJan15 + 1000) == std::vector<std::string>{"v1"});
  CHECK(store->visit_partitions() == std::vector<std::string>{"visits_t1_202601", "visits_t1_202602"});

  // Every field comes back as stored (the detail blob through bytea).
  Visit back;
  store->for_each_visit("acme", "mall-7", kFeb15, kFeb15 + 1, [&](const Visit& v) { back = v; });
  const Visit want = make_visit("v3", kFeb15);
  CHECK(back.device == want.device);
  CHECK(back.dwell_s == want.dwell_s);
  CHECK(back.departure == want.departure);
  CHECK(back.zones == want.zones);
  CHECK(back.strongest_zone[1].zone == "food-court");
  REQUIRE(back.probes.size() == 2);
  CHECK(back.probes[0].rssi_mean == -61.5);
  CHECK(back.probes[1].frames == 40);
  CHECK(back.randomized);

  IngestBatch s;
  s.kind = FeedKind::sales;
  s.batch_id = "pos-1";
  s.tenant = "acme";
  s.site = "mall-7";
  s.sales = {{"acme", "mall-7", "R-1", kJan15, 10.5}, {"acme", "mall-7", "R-2", kJan15 + 5, 20.0}};
  CHECK(store->store_batch(s, 13).sales_new == 2);
  const auto imported = store->add_sales({{"acme", "mall-7", "R-2", kJan15 + 5, 20.0}, {"acme", "mall-7", "R-3", 5, 5.0}});
  CHECK(imported.sales_new == 1);
  CHECK(imported.sales_duplicate == 1);
  const auto sales = store->sales("acme", "mall-7", 0, kMar01);
  REQUIRE(sales.size() == 3);
  CHECK(sales[0].sale_id == "R-3");
  CHECK(sales[1].amount == 10.5);

  // Occupancy once per instant; probe health only moves forward in seq; an alert once.
  IngestBatch p;
  p.kind = FeedKind::presence;
  p.batch_id = "presence-1";
  p.tenant = "acme";
  p.site = "mall-7";
  p.occupancy = OccupancySample{"acme", "mall-7", kJan15, 7, {{"entrance", 3}, {"food-court", 4}}};
  CHECK(store->store_batch(p, 14).occupancy_new == 1);
  p.batch_id = "presence-2";
  CHECK(store->store_batch(p, 15).occupancy_new == 0);
  const auto occ = store->occupancy("acme", "mall-7", 0, kMar01);
  REQUIRE(occ.size() == 1);
  CHECK(occ[0].zones.at("food-court") == 4);
  IngestBatch h;
  h.kind = FeedKind::probes;
  h.tenant = "acme";
  h.site = "mall-7";
  h.batch_id = "probes-5";
  h.seq = 5;
  h.gateway_json = "{}";
  h.probes = {{"p1", true, 1000, "{\"probe\":\"p1\"}"}};
  store->store_batch(h, 16);
  h.batch_id = "probes-4";
  h.seq = 4;
  h.probes = {{"p1", false, 900, "{\"probe\":\"p1\",\"old\":true}"}};
  store->store_batch(h, 17);
  const auto health = store->probe_health("acme", "mall-7");
  REQUIRE(health.size() == 1);
  CHECK(health[0].health.connected);
  CHECK(health[0].batch_seq == 5);
  CHECK(store->record_alert("acme", "mall-7", kJan15, "{\"a\":1}", 20));
  CHECK_FALSE(store->record_alert("acme", "mall-7", kJan15, "{\"a\":1}", 21));
  CHECK(store->alerts("acme", "mall-7", 0, kMar01).size() == 1);

  const StoreCounters c = store->counters();
  CHECK(c.batches_stored == 7);  // b1, b2, pos-1, presence-1 and -2, probes-5 and -4
  CHECK(c.batches_duplicate == 1);
  CHECK(c.visits_stored == 3);
  CHECK(c.visits_duplicate == 1);

  // A second instance on the same database sees it all and knows every batch id.
  auto other = open_pg(db);
  CHECK(other->store_batch(b2, 30).duplicate_batch);
  CHECK(ids_in(*other, 0, kMar01).size() == 3);
  CHECK(other->sites() == std::vector<SiteKey>{{"acme", "mall-7"}});
  CHECK(ids_in(*other, 0, kMar01, "unknown-site").empty());
}

TEST_CASE("postgresql: a value the database can never take refuses the batch whole, not retried forever") {
  const std::string db = fresh_database();
  if (db.empty()) return;
  auto store = open_pg(db);
  Visit bad = make_visit("v2", kJan15);
  bad.entry_zone = std::string("entr\0ance", 8);  // JSON allows \u0000; PostgreSQL text does not
  CHECK_THROWS_AS(store->store_batch(visits_batch("b1", {make_visit("v1", kJan15), bad}), 1), StoreRefused);
  CHECK(ids_in(*store, 0, INT64_MAX).empty());
  // Nothing of it was kept, not even its batch id: the corrected batch is taken.
  CHECK(store->store_batch(visits_batch("b1", {make_visit("v1", kJan15), make_visit("v2", kJan15)}), 2).visits_new == 2);
}

TEST_CASE("change numbers move with new visits, sales and occupancy only (both stores)") {
  footfall::testing::TempDir dir("store-versions");
  std::vector<std::unique_ptr<SiteStore>> stores;
  stores.push_back(SqliteStore::open(dir.path() / "v.db"));
  if (const std::string db = fresh_database(); !db.empty()) stores.push_back(open_pg(db));
  for (auto& store : stores) {
    const SiteKey site{"acme", "mall-7"};
    store->store_batch(visits_batch("b1", {make_visit("v1", kJan15)}), 1);
    const std::int64_t v1 = version_of(*store, site);
    CHECK(v1 > 0);
    store->store_batch(visits_batch("b2", {make_visit("v1", kJan15)}), 2);  // nothing new
    CHECK(version_of(*store, site) == v1);
    store->store_batch(visits_batch("b1", {make_visit("v9", kJan15)}), 3);  // a known batch id
    CHECK(version_of(*store, site) == v1);
    store->add_sales({{"acme", "mall-7", "R-1", kJan15, 1.0}});
    CHECK(version_of(*store, site) > v1);

    // The newest occupancy sample per site, since a time.
    for (const auto& [batch, at, total] : {std::tuple{"p1", kJan15 + 20, 5}, {"p2", kJan15 + 10, 9}, {"p3", kFeb15, 7}}) {
      IngestBatch p;
      p.kind = FeedKind::presence;
      p.batch_id = batch;
      p.tenant = "acme";
      p.site = at == kFeb15 ? "mall-8" : "mall-7";
      p.occupancy = OccupancySample{"acme", p.site, at, total, {{"entrance", total}}};
      store->store_batch(p, 4);
    }
    auto latest = store->latest_occupancy(kJan15);
    std::sort(latest.begin(), latest.end(), [](const auto& a, const auto& b) { return a.site < b.site; });
    REQUIRE(latest.size() == 2);
    CHECK(latest[0].site == "mall-7");
    CHECK(latest[0].at == kJan15 + 20);
    CHECK(latest[0].zones.at("entrance") == 5);
    CHECK(latest[1].total == 7);
    CHECK(store->latest_occupancy(kJan15 + 21).size() == 1);  // mall-7's newest is older than that
  }
}

TEST_CASE("retention drops a tenant's old months, keeps the rest; batch ids pruned by age (both stores)") {
  footfall::testing::TempDir dir("store-prune");
  std::vector<std::unique_ptr<SiteStore>> stores;
  stores.push_back(SqliteStore::open(dir.path() / "r.db"));
  PostgresStore* pg_store = nullptr;
  if (const std::string db = fresh_database(); !db.empty()) {
    auto p = open_pg(db);
    pg_store = p.get();
    stores.push_back(std::move(p));
  }
  for (auto& store : stores) {
    store->store_batch(visits_batch("old-jan", {make_visit("j1", kJan15), make_visit("j2", kJan15 + 1)}), kJan15);
    store->store_batch(visits_batch("feb", {make_visit("f1", kFeb01 + 5), make_visit("f2", kFeb15 + 5)}), kFeb15);
    store->store_batch(visits_batch("mar", {make_visit("m1", kMar15)}), kMar15);
    store->store_batch(visits_batch("other", {make_visit("o1", kJan15, "other", "shop-1")}), kJan15);
    store->add_sales({{"acme", "mall-7", "S-jan", kJan15, 1.0}, {"acme", "mall-7", "S-mar", kMar15, 2.0}});
    const PruneOutcome out = store->prune(RetentionRules{kFeb01, {{"acme", kFeb15}}});
    CHECK(out.batch_ids == 2);  // old-jan and other, received before Feb 1
    CHECK(out.visits == 3);     // j1, j2 (January) and f1 (February, before the 15th)
    CHECK(out.sales == 1);
    CHECK(ids_in(*store, 0, INT64_MAX) == std::vector<std::string>{"f2", "m1"});
    std::vector<std::string> other;
    store->for_each_visit("other", "shop-1", 0, INT64_MAX, [&](const Visit& v) { other.push_back(v.visit_id); });
    CHECK(other == std::vector<std::string>{"o1"});  // another tenant: its own retention
    // The pruned batch id is gone, so a batch with it is taken again; its visits are deduplicated by visit_id.
    CHECK(store->store_batch(visits_batch("feb", {make_visit("f2", kFeb15 + 5)}), kMar15).duplicate_batch);
    const auto again = store->store_batch(visits_batch("old-jan", {make_visit("f2", kFeb15 + 5)}), kMar15);
    CHECK_FALSE(again.duplicate_batch);
    CHECK(again.visits_duplicate == 1);
  }
  if (pg_store != nullptr) {
    CHECK(stores[1]->prune(RetentionRules{0, {{"acme", kFeb15}}}).visit_partitions == 0);
    const auto parts = pg_store->visit_partitions();
    CHECK(std::find(parts.begin(), parts.end(), "visits_t1_202601") == parts.end());  // dropped whole
    CHECK(std::find(parts.begin(), parts.end(), "visits_t1_202602") != parts.end());
    CHECK(std::find(parts.begin(), parts.end(), "visits_t2_202601") != parts.end());  // the other tenant's
    // A late visit of a dropped month makes its partition again instead of failing.
    CHECK(stores[1]->store_batch(visits_batch("late", {make_visit("j3", kJan15)}), kMar15).visits_new == 1);
  }
}

TEST_CASE("postgresql: migration from the previous schema version keeps the data; a newer schema is refused") {
  const std::string db = fresh_database();
  if (db.empty()) return;
  // A report or an import does not migrate a shared database: an empty one is refused, naming the way out.
  const auto as_is = [&] { return PostgresStore::open(PostgresStoreOptions{db, 1, {}, false}); };
  CHECK_THROWS_WITH_AS(as_is(), doctest::Contains("run `footfall-aggregator migrate` first"), pg::PgError);
  open_pg(db, kPostgresSchemaVersion - 1).reset();
  CHECK_THROWS_WITH_AS(as_is(), doctest::Contains("schema version 1, this program's is 2"), pg::PgError);
  // Data written by the previous version (no change numbers yet).
  CHECK(server().sql("INSERT INTO tenants (tenant) VALUES ('acme'); INSERT INTO sites (tenant_key, site) VALUES (1, "
                     "'mall-7'); SELECT count(*) FROM sites",
                     last_database) == "1");
  CHECK(server().sql("SELECT max(version) FROM schema_version", last_database) == std::to_string(kPostgresSchemaVersion - 1));
  auto store = open_pg(db);
  CHECK(store->schema_version() == kPostgresSchemaVersion);
  CHECK(as_is()->schema_version() == kPostgresSchemaVersion);
  CHECK(version_of(*store, {"acme", "mall-7"}) == 0);
  CHECK(store->store_batch(visits_batch("b1", {make_visit("v1", kJan15)}), 1).visits_new == 1);
  CHECK(version_of(*store, {"acme", "mall-7"}) == 1);
  store.reset();
  (void)server().sql("INSERT INTO schema_version (version) VALUES (99)", last_database);
  CHECK_THROWS_WITH_AS(open_pg(db), doctest::Contains("newer than this program"), pg::PgError);
}

TEST_CASE("postgresql: two instances storing overlapping batches at once store every visit once") {
  const std::string db = fresh_database();
  if (db.empty()) return;
  auto a = open_pg(db);
  auto b = open_pg(db);
  // Four writers (two per instance), every batch sent by two of them, visits shared between batches,
  // two sites and two months: the duplicates meet in the same rows at the same time.
  constexpr int kBatches = 120;
  std::atomic<int> errors{0};
  const auto writer = [&](SiteStore& store, int offset) {
    for (int i = 0; i < kBatches; ++i) {
      const int n = (i + offset) % kBatches;
      const std::string site = n < kBatches / 2 ? "mall-7" : "mall-8";
      std::vector<Visit> visits;
      for (int k = 0; k < 20; ++k) {
        const int id = n * 10 + k;  // batches n and n+1 share ten visits
        visits.push_back(make_visit(site + "-v" + std::to_string(id), (k % 2 == 0 ? kJan15 : kFeb15) + id, "acme", site));
      }
      try {
        store.store_batch(visits_batch("batch-" + std::to_string(n), std::move(visits)), 1);
      } catch (const std::exception& e) {
        ++errors;
        MESSAGE("store_batch failed: " << e.what());
      }
    }
  };
  std::thread t1(writer, std::ref(*a), 0), t2(writer, std::ref(*a), 37), t3(writer, std::ref(*b), 0),
      t4(writer, std::ref(*b), 71);
  t1.join();
  t2.join();
  t3.join();
  t4.join();
  CHECK(errors == 0);
  std::set<std::string> expected;
  for (int n = 0; n < kBatches; ++n)
    for (int k = 0; k < 20; ++k)
      expected.insert(std::string(n < kBatches / 2 ? "mall-7" : "mall-8") + "-v" + std::to_string(n * 10 + k));
  std::multiset<std::string> stored;
  for (const char* site : {"mall-7", "mall-8"})
    for (const auto& id : ids_in(*a, 0, INT64_MAX, site)) stored.insert(id);
  CHECK(stored.size() == expected.size());
  CHECK(std::set<std::string>(stored.begin(), stored.end()) == expected);
  const StoreCounters ca = a->counters(), cb = b->counters();
  CHECK(ca.batches_stored + cb.batches_stored == kBatches);
  CHECK(ca.batches_duplicate + cb.batches_duplicate == 3 * kBatches);
  CHECK(ca.visits_stored + cb.visits_stored == expected.size());
}

TEST_CASE("postgresql: the server stopped under a live store: calls fail while it is away, then work again") {
  const std::string db = fresh_database();
  if (db.empty()) return;
  auto store = open_pg(db);
  CHECK(store->store_batch(visits_batch("b1", {make_visit("v1", kJan15)}), 1).visits_new == 1);
  server().stop();
  CHECK_THROWS_AS(store->store_batch(visits_batch("b2", {make_visit("v2", kJan15)}), 2), pg::PgError);
  CHECK_THROWS_AS(store->site_versions(), pg::PgError);
  REQUIRE_MESSAGE(server().start(), server().log());
  // The broken connections were closed when given back: new ones are opened on demand.
  CHECK(store->store_batch(visits_batch("b2", {make_visit("v2", kJan15)}), 3).visits_new == 1);
  CHECK(ids_in(*store, 0, INT64_MAX) == std::vector<std::string>{"v1", "v2"});
}

TEST_CASE("postgresql: publish leases: every site has exactly one publisher, a dead one's sites are taken over") {
  const std::string db = fresh_database();
  if (db.empty()) return;
  auto store = open_pg(db);
  std::vector<SiteKey> sites;
  for (int i = 0; i < 9; ++i) {
    const std::string site = "site-" + std::to_string(i);
    store->store_batch(visits_batch("b" + site, {make_visit("v" + site, kJan15, "acme", site)}), 1);
    sites.push_back({"acme", site});
  }
  std::vector<std::unique_ptr<PostgresLeases>> leases;
  for (int i = 0; i < 3; ++i) leases.push_back(std::make_unique<PostgresLeases>(db));
  // Every site held by exactly one instance, none above the share.
  const auto covered = [&](std::size_t share) {
    for (const SiteKey& site : sites) {
      int holders = 0;
      for (auto& l : leases) holders += l->holds(site) ? 1 : 0;
      if (holders != 1) return false;
    }
    for (auto& l : leases)
      if (l->held().size() > share) return false;
    return true;
  };
  // Rounds of refreshes, as the instances make them once a second; the server ends a closed session a
  // moment after the client leaves, so a few rounds may pass before its locks are free.
  const auto settle = [&](std::size_t share) {
    for (int round = 0; round < 50; ++round) {
      for (auto& l : leases) l->refresh();
      if (covered(share)) return round + 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return -1;
  };
  const int first = settle(3);
  CHECK(first > 0);
  CHECK(first <= 3);
  for (auto& l : leases) CHECK(l->publishers() == 3);
  // One instance dies: its session ends, its locks with it; the two others share the nine sites.
  leases.erase(leases.begin());
  CHECK(settle(5) > 0);
  for (auto& l : leases) CHECK(l->publishers() == 2);
  // A new instance joins: the others give back what is above the new share.
  leases.push_back(std::make_unique<PostgresLeases>(db));
  CHECK(settle(3) > 0);
  for (auto& l : leases) CHECK(l->held().size() == 3);
}
