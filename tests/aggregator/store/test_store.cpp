// SqliteStore: idempotence (batch twice, visit in two batches), migrations from an older schema, visits
// streamed by arrival in [from, to), the compact detail codec.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "aggregator/ingest/payload_parser.h"
#include "aggregator/store/sqlite_store.h"
#include "aggregator/store/visit_detail_codec.h"
#include "tests/aggregator/store/store_fixture.h"
#include "tests/support/scratch.h"

using namespace footfall::aggregator;
using namespace footfall::aggregator::testing;

TEST_CASE("detail codec round trip and damage") {
  const Visit v = make_visit("x", 1'714'550'000'123);
  std::vector<std::uint8_t> blob;
  encode_visit_detail(v, blob);
  Visit back;
  back.arrival = v.arrival;
  REQUIRE(decode_visit_detail(blob, back));
  CHECK(back.zones == v.zones);
  CHECK(back.strongest_zone[1].from == v.strongest_zone[1].from);
  CHECK(back.strongest_zone[1].zone == "food-court");
  CHECK(back.probes[1].probe == "p2");
  CHECK(back.probes[1].last_seen == v.probes[1].last_seen);
  CHECK(back.probes[1].frames == 40);
  CHECK(back.probes[1].rssi_max == -44);
  CHECK(back.probes[1].rssi_mean == -57.25);
  for (std::size_t n = 0; n < blob.size(); ++n)
    CHECK_FALSE(decode_visit_detail(std::span(blob.data(), n), back));
  blob.push_back(0);
  CHECK_FALSE(decode_visit_detail(blob, back));
}

TEST_CASE("a batch seen twice is stored once; a visit in two batches is stored once") {
  footfall::testing::TempDir dir;
  auto store = SqliteStore::open(dir.path() / "a.db");
  CHECK(store->schema_version() == kSchemaVersion);
  const auto b1 = visits_batch("mall-7-1-1", {make_visit("v1", 1000), make_visit("v2", 2000)});
  const auto first = store->store_batch(b1, 10);
  CHECK_FALSE(first.duplicate_batch);
  CHECK(first.visits_new == 2);
  const auto again = store->store_batch(b1, 11);
  CHECK(again.duplicate_batch);
  CHECK(again.visits_new == 0);
  const auto b2 = visits_batch("mall-7-1-2", {make_visit("v2", 2000), make_visit("v3", 3000)});
  const auto second = store->store_batch(b2, 12);
  CHECK(second.visits_new == 1);
  CHECK(second.visits_duplicate == 1);
  CHECK(ids_in(*store, 0, 10'000) == std::vector<std::string>{"v1", "v2", "v3"});
  const StoreCounters c = store->counters();
  CHECK(c.batches_stored == 2);
  CHECK(c.batches_duplicate == 1);
  CHECK(c.visits_stored == 3);
  CHECK(c.visits_duplicate == 1);

  // Sales: by MQTT and by import, one sale_id once.
  IngestBatch s;
  s.kind = FeedKind::sales;
  s.batch_id = "pos-1";
  s.tenant = "acme";
  s.site = "mall-7";
  s.sales = {{"acme", "mall-7", "R-1", 1500, 10.0}, {"acme", "mall-7", "R-2", 2500, 20.0}};
  CHECK(store->store_batch(s, 13).sales_new == 2);
  const auto imported = store->add_sales({{"acme", "mall-7", "R-2", 2500, 20.0}, {"acme", "mall-7", "R-3", 500, 5.0}});
  CHECK(imported.sales_new == 1);
  CHECK(imported.sales_duplicate == 1);
  const auto sales = store->sales("acme", "mall-7", 0, 2000);
  REQUIRE(sales.size() == 2);
  CHECK(sales[0].sale_id == "R-3");
  CHECK(sales[1].sale_id == "R-1");

  // Everything survives a reopen; the store is the only state.
  store.reset();
  store = SqliteStore::open(dir.path() / "a.db");
  CHECK(store->store_batch(b2, 14).duplicate_batch);
  CHECK(ids_in(*store, 0, 10'000).size() == 3);
  CHECK(store->sites() == std::vector<SiteKey>{{"acme", "mall-7"}});
}

TEST_CASE("for_each_visit: arrival in [from, to), ordered by arrival, one site only") {
  footfall::testing::TempDir dir;
  auto store = SqliteStore::open(dir.path() / "b.db");
  std::vector<Visit> visits;
  std::mt19937 rng(7);
  for (int i = 0; i < 300; ++i) visits.push_back(make_visit("v" + std::to_string(i), (rng() % 1000) * 1000));
  // Batches out of arrival order, as after a redelivery.
  for (int b = 0; b < 3; ++b)
    store->store_batch(visits_batch("mall-7-1-" + std::to_string(10 - b),
                                    std::vector<Visit>(visits.begin() + b * 100, visits.begin() + (b + 1) * 100)),
                       0);
  IngestBatch other = visits_batch("mall-8-1-1", {make_visit("w1", 500'000)});
  other.site = "mall-8";
  other.visits[0].site = "mall-8";
  store->store_batch(other, 0);

  std::vector<TimeMs> arrivals;
  std::size_t expected = 0;
  for (const auto& v : visits) expected += (v.arrival >= 200'000 && v.arrival < 700'000) ? 1 : 0;
  store->for_each_visit("acme", "mall-7", 200'000, 700'000, [&](const Visit& v) {
    arrivals.push_back(v.arrival);
    CHECK(v.site == "mall-7");
    CHECK(v.probes.size() == 2);
    CHECK(v.probes[1].last_seen == v.arrival + 600'000);
  });
  CHECK(arrivals.size() == expected);
  CHECK(std::is_sorted(arrivals.begin(), arrivals.end()));
  CHECK(arrivals.front() >= 200'000);
  CHECK(arrivals.back() < 700'000);
  CHECK(ids_in(*store, 700'000, 700'000).empty());
  int n = 0;
  store->for_each_visit("acme", "nowhere", 0, 1'000'000, [&](const Visit&) { ++n; });
  CHECK(n == 0);
  CHECK(store->sites().size() == 2);
}

TEST_CASE("presence, probes and alerts") {
  footfall::testing::TempDir dir;
  auto store = SqliteStore::open(dir.path() / "c.db");
  IngestBatch p;
  p.kind = FeedKind::presence;
  p.batch_id = "mall-7-1-5";
  p.tenant = "acme";
  p.site = "mall-7";
  p.seq = 5;
  p.occupancy = OccupancySample{"acme", "mall-7", 5000, 3, {{"a", 1}, {"b", 2}}};
  CHECK(store->store_batch(p, 1).occupancy_new == 1);
  const auto occ = store->occupancy("acme", "mall-7", 0, 10'000);
  REQUIRE(occ.size() == 1);
  CHECK(occ[0].zones.at("b") == 2);

  IngestBatch h;
  h.kind = FeedKind::probes;
  h.tenant = "acme";
  h.site = "mall-7";
  h.batch_id = "mall-7-1-9";
  h.seq = 9;
  h.probes = {{"probe-01", true, 100, "{\"x\":9}"}};
  store->store_batch(h, 2);
  h.batch_id = "mall-7-1-7";  // an older batch redelivered late does not overwrite newer health
  h.seq = 7;
  h.probes = {{"probe-01", false, 50, "{\"x\":7}"}};
  store->store_batch(h, 3);
  const auto health = store->probe_health("acme", "mall-7");
  REQUIRE(health.size() == 1);
  CHECK(health[0].health.connected);
  CHECK(health[0].health.item_json == "{\"x\":9}");

  CHECK(store->record_alert("acme", "mall-7", 86'400'000, "{\"indicator\":\"visitors\"}", 5));
  CHECK_FALSE(store->record_alert("acme", "mall-7", 86'400'000, "{\"indicator\":\"visitors\"}", 6));
  CHECK(store->alerts("acme", "mall-7", 0, 2 * 86'400'000).size() == 1);
}

TEST_CASE("opening a database of an older schema version migrates it") {
  footfall::testing::TempDir dir;
  const auto path = dir.path() / "old.db";
  SqliteStore::open(path, SqliteStoreOptions{false, 10'000, 1}).reset();
  {
    // What a version-1 program stored.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    std::vector<std::uint8_t> blob;
    encode_visit_detail(make_visit("old", 42), blob);
    std::string hex;
    for (auto byte : blob) {
      static const char* digits = "0123456789abcdef";
      hex += digits[byte >> 4];
      hex += digits[byte & 15];
    }
    const std::string sql =
        "INSERT INTO sites VALUES (1, 'acme', 'mall-7');"
        "INSERT INTO batches VALUES (1, 'mall-7-1-1', 'visits', 1, 0, 0, 1);"
        "INSERT INTO visits VALUES (1, 42, 'old', 'd', 3, 43, 1.0, 'entrance', 'food-court', 1, '', x'" + hex + "');";
    CHECK(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(raw, "SELECT count(*) FROM sqlite_master WHERE name = 'probe_health'", -1, &q, nullptr);
    REQUIRE(sqlite3_step(q) == SQLITE_ROW);
    CHECK(sqlite3_column_int(q, 0) == 0);  // version 1 has no health table
    sqlite3_finalize(q);
    sqlite3_close(raw);
  }
  auto store = SqliteStore::open(path);
  CHECK(store->schema_version() == kSchemaVersion);
  CHECK(ids_in(*store, 0, 100) == std::vector<std::string>{"old"});
  CHECK(store->store_batch(visits_batch("mall-7-1-1", {make_visit("new", 50)}), 0).duplicate_batch);
  IngestBatch h;
  h.kind = FeedKind::probes;
  h.tenant = "acme";
  h.site = "mall-7";
  h.batch_id = "mall-7-1-2";
  h.seq = 2;
  h.probes = {{"probe-01", true, 100, "{}"}};
  CHECK(store->store_batch(h, 2).probes_updated == 1);
  store.reset();
  // A database newer than the program is refused, not damaged.
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    CHECK(sqlite3_exec(raw, "INSERT INTO schema_version VALUES (99, 0)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  CHECK_THROWS_WITH_AS(SqliteStore::open(path), doctest::Contains("newer than this program"), std::runtime_error);
}
