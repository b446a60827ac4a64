// Several real footfall-aggregator instances on one real PostgreSQL (started by the test) behind a real
// mosquitto, consuming with a shared subscription:
//  * three instances give the retained figures and the report of one instance fed the same input, and each
//    site has exactly one publisher;
//  * kill -9 of an instance with three MQTT sessions mid-stream (its sites are taken over within seconds, it is
//    restarted as systemd would), PostgreSQL stopped for 30 s mid-stream and started again, batches delivered twice: the store
//    ends with every visit once.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "aggregator/ingest/iso_time.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_publisher.h"
#include "tests/support/postgres_server.h"

using namespace footfall::test;
using footfall::aggregator::format_iso8601_utc;
using namespace std::chrono_literals;

namespace {

using TimeMs = std::int64_t;

std::string read_text(const std::filesystem::path& p) { return footfall::testing::slurp(p); }

TimeMs now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The visits of the test: arrivals spread over the last hours of today (UTC), dwell from 1 to 11 minutes.
struct Feed {
  TimeMs base = 0;
  TimeMs span = 0;
  Feed() {
    const TimeMs now = now_ms();
    const TimeMs day_start = now - now % 86'400'000;
    base = std::max(day_start + 60'000, now - 3 * 3'600'000);
    span = std::max<TimeMs>(60'000, now - 120'000 - base);
  }
  static std::string id_of(const std::string& site, int n) {
    char id[40];
    std::snprintf(id, sizeof id, "%08x%024x", static_cast<unsigned>(std::hash<std::string>{}(site)), n);
    return id;
  }
  [[nodiscard]] nlohmann::json visit(const std::string& site, int n) const {
    const TimeMs arrival = base + (static_cast<TimeMs>(n) * 7'919'000) % span;
    const TimeMs dwell_ms = 60'000 + (n % 11) * 60'000;
    const std::string id = id_of(site, n);
    const std::string zone = n % 3 == 0 ? "food-court" : "entrance";
    return {{"visit_id", id},
            {"device", id},
            {"key_epoch", 3},
            {"arrival", format_iso8601_utc(arrival)},
            {"departure", format_iso8601_utc(arrival + dwell_ms)},
            {"dwell_s", static_cast<double>(dwell_ms) / 1000.0},
            {"zones", {zone}},
            {"entry_zone", zone},
            {"exit_zone", zone},
            {"strongest_zone", {{{"from", format_iso8601_utc(arrival)}, {"zone", zone}}}},
            {"probes",
             {{{"probe", "probe-01"},
               {"zone", zone},
               {"first_seen", format_iso8601_utc(arrival)},
               {"last_seen", format_iso8601_utc(arrival + dwell_ms)},
               {"frames", 10 + n % 50},
               {"rssi_max", -50},
               {"rssi_mean", -60.5}}}},
            {"randomized", n % 2 == 0},
            {"fingerprint", n % 4 == 0 ? "ab12cd34ef56ab78" : "0123456789abcdef"}};
  }
  // Batch seq of a site: visits seq*5 .. seq*5+4.
  [[nodiscard]] std::string batch(const std::string& site, int seq) const {
    nlohmann::json visits = nlohmann::json::array();
    for (int k = 0; k < 5; ++k) visits.push_back(visit(site, seq * 5 + k));
    return nlohmann::json{{"batch_id", site + "-1714550000-" + std::to_string(seq)},
                          {"tenant", "acme"},
                          {"site", site},
                          {"seq", seq},
                          {"sent_at", format_iso8601_utc(now_ms())},
                          {"visits", visits}}
        .dump();
  }
};

// One aggregator instance: its config (PostgreSQL store, the broker, a share group or none), log, process.
struct Instance {
  std::filesystem::path dir;
  std::string name;
  pid_t pid = -1;

  Instance(std::filesystem::path d, std::string n, const std::string& broker, const std::string& conninfo,
           const std::string& share_group, const std::vector<std::string>& sites, int sessions = 1)
      : dir(std::move(d)), name(std::move(n)) {
    nlohmann::json site_cfg = nlohmann::json::object();
    for (const auto& s : sites) site_cfg[s] = {{"utc_offset_min", 0}};
    const nlohmann::json cfg{
        {"mqtt",
         {{"uri", broker},
          {"client_id", "footfall-test-" + name},
          {"share_group", share_group},
          {"persist_dir", (dir / (name + ".mqtt")).string()}}},
        {"store", {{"backend", "postgresql"}, {"postgresql", {{"conninfo", conninfo}, {"pool_size", sessions + 2}}}}},
        {"ingest", {{"sessions", sessions}}},
        {"publish", {{"interval_s", 1}}},
        {"tenants", {{"acme", {{"sites", site_cfg}}}}}};
    std::ofstream(config()) << cfg.dump(2);
  }
  ~Instance() { stop(SIGKILL); }
  [[nodiscard]] std::filesystem::path config() const { return dir / (name + ".json"); }
  [[nodiscard]] std::filesystem::path log() const { return dir / (name + ".log"); }
  bool start() {
    const auto before = read_text(log()).size();
    pid = spawn_program({FOOTFALL_AGGREGATOR, "run", "--config", config().string()}, log());
    return pid > 0 && wait_until([&] { return read_text(log()).find("subscribed to", before) != std::string::npos; }, 20s);
  }
  void stop(int sig) {
    if (pid > 0) stop_program(pid, sig);
    pid = -1;
  }
  [[nodiscard]] bool alive() const { return pid > 0 && ::kill(pid, 0) == 0; }
};

// The retained metrics/day figures of each site on a broker, read by a fresh subscriber.
std::map<std::string, nlohmann::json> retained_day_figures(const std::string& uri, const std::string& client_id) {
  mqtt::async_client reader(uri, client_id, nullptr);
  std::mutex mutex;
  std::map<std::string, nlohmann::json> out;
  reader.set_message_callback([&](mqtt::const_message_ptr m) {
    const auto j = nlohmann::json::parse(m->get_payload_str(), nullptr, false);
    std::lock_guard lock(mutex);
    if (m->is_retained() && j.is_object()) out[j.value("site", "")] = j["figures"];
  });
  mqtt::connect_options opts;
  opts.set_clean_session(true);
  if (!reader.connect(opts)->wait_for(5s)) return {};
  reader.subscribe("footfall/v1/acme/+/metrics/day", 1)->wait_for(5s);
  std::this_thread::sleep_for(500ms);  // retained messages come at once after the subscription
  reader.disconnect()->wait_for(2s);
  std::lock_guard lock(mutex);
  return out;
}

// The sites' publish leases on the server: site key -> backend pids holding it.
std::map<std::string, std::set<std::string>> lease_holders(const PostgresServer& pg, const std::string& db) {
  std::map<std::string, std::set<std::string>> out;
  std::istringstream rows(pg.sql(
      "SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 1178992642 AND objsubid = 2 AND "
      "granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      db));
  for (std::string line; std::getline(rows, line);)
    if (const auto bar = line.find('|'); bar != std::string::npos) out[line.substr(0, bar)].insert(line.substr(bar + 1));
  return out;
}

std::int64_t count_of(const PostgresServer& pg, const std::string& db, const std::string& query) {
  const std::string text = pg.sql(query, db);
  try {
    return std::stoll(text);
  } catch (const std::exception&) {
    return -1;
  }
}

nlohmann::json report_of(const Instance& i, const std::string& site, const std::filesystem::path& out) {
  const auto now = now_ms();
  const std::string day = format_iso8601_utc(now - now % 86'400'000).substr(0, 10);
  const int rc = run_program({FOOTFALL_AGGREGATOR, "report", "--config", i.config().string(), "--site", site, "--from",
                              day, "--to", day, "--out", out.string()},
                             out.string() + ".log", 60s);
  if (rc != 0) return {{"exit", rc}, {"log", read_text(out.string() + ".log")}};
  auto doc = nlohmann::json::parse(read_text(out / "report.json"), nullptr, false);
  if (doc.is_object()) doc.erase("generated_at");
  return doc;
}

}  // namespace

TEST_CASE("three aggregators on one PostgreSQL: the figures and report of one instance, one publisher per site") {
  PostgresServer pg;
  if (!pg.setup_error().empty()) {
    MESSAGE("skipped: no PostgreSQL server: " << pg.setup_error());
    return;
  }
  MosquittoBroker single_broker, shared_broker;
  if (!single_broker.setup_error().empty() || !shared_broker.setup_error().empty()) {
    MESSAGE("skipped: " << single_broker.setup_error() << shared_broker.setup_error());
    return;
  }
  REQUIRE(pg.create_database("single"));
  REQUIRE(pg.create_database("shared"));
  TempDir dir("agg-central");
  const std::vector<std::string> sites{"mall-1", "mall-2", "mall-3"};
  Instance single(dir.path(), "single", single_broker.uri(), pg.conninfo("single"), "", sites);
  std::vector<std::unique_ptr<Instance>> shared;
  for (int i = 0; i < 3; ++i)
    shared.push_back(std::make_unique<Instance>(dir.path(), "shared-" + std::to_string(i), shared_broker.uri(),
                                                pg.conninfo("shared"), "central", sites));
  REQUIRE_MESSAGE(single.start(), read_text(single.log()));
  for (auto& i : shared) REQUIRE_MESSAGE(i->start(), read_text(i->log()));

  // The same input on both brokers: 3 sites x 40 batches x 5 visits, and each site's sales.
  const Feed feed;
  TestPublisher to_single(single_broker.uri()), to_shared(shared_broker.uri());
  for (int seq = 1; seq <= 40; ++seq)
    for (const auto& site : sites) {
      const std::string topic = "footfall/v1/acme/" + site + "/visits";
      const std::string payload = feed.batch(site, seq);
      REQUIRE(to_single.publish(topic, payload));
      REQUIRE(to_shared.publish(topic, payload));
    }
  for (const auto& site : sites) {
    const nlohmann::json sales{{"batch_id", "pos-" + site},
                               {"tenant", "acme"},
                               {"site", site},
                               {"sent_at", format_iso8601_utc(now_ms())},
                               {"sales", {{{"sale_id", "R-1"}, {"at", format_iso8601_utc(feed.base)}, {"amount", 12.5}},
                                          {{"sale_id", "R-2"}, {"at", format_iso8601_utc(feed.base + 5000)}, {"amount", 7}}}}};
    REQUIRE(to_single.publish("footfall/v1/acme/" + site + "/sales", sales.dump()));
    REQUIRE(to_shared.publish("footfall/v1/acme/" + site + "/sales", sales.dump()));
  }
  const auto all_stored = [&](const std::string& db) { return count_of(pg, db, "SELECT count(*) FROM visits") == 600; };
  const bool stored = wait_until([&] { return all_stored("single") && all_stored("shared"); }, 60s);
  CHECK(stored);
  if (!stored) MESSAGE("single's log: " << read_text(single.log()).substr(0, 3000));
  CHECK(count_of(pg, "shared", "SELECT count(*) FROM sales") == 6);

  // Exactly one publisher per site, and the three instances share the sites.
  std::set<std::string> holders;
  CHECK(wait_until(
      [&] {
        const auto leases = lease_holders(pg, "shared");
        holders.clear();
        for (const auto& [site, pids] : leases) holders.insert(pids.begin(), pids.end());
        bool one_each = leases.size() == 3;
        for (const auto& [site, pids] : leases) one_each = one_each && pids.size() == 1;
        return one_each && holders.size() == 3;
      },
      20s));

  // The retained day figures of every site are those of the single instance (after the last recompute).
  std::map<std::string, nlohmann::json> one, three;
  const bool same = wait_until(
      [&] {
        one = retained_day_figures(single_broker.uri(), "footfall-test-read-1");
        three = retained_day_figures(shared_broker.uri(), "footfall-test-read-3");
        return one.size() == 3 && one == three && one["mall-1"].value("visitors", -1) > 0;
      },
      30s);
  CHECK(same);
  if (!same)
    for (const auto& site : sites)
      MESSAGE(site << ": visitors " << one[site].value("visitors", -1) << " against " << three[site].value("visitors", -1)
                   << ", passers-by " << one[site].value("passers_by", -1) << " against "
                   << three[site].value("passers_by", -1));

  // Occupancy: presence batches of mall-1 reach any instance (out of order here); the site's lease holder
  // publishes the newest stored sample, retained.
  const TimeMs at = now_ms() - 30'000;
  for (const int k : {2, 0, 1}) {
    const nlohmann::json presence{{"batch_id", "mall-1-1714550000-" + std::to_string(1000 + k)},
                                  {"tenant", "acme"},
                                  {"site", "mall-1"},
                                  {"seq", 1000 + k},
                                  {"sent_at", format_iso8601_utc(at + k * 5000)},
                                  {"changes", nlohmann::json::array()},
                                  {"occupancy", {{"at", format_iso8601_utc(at + k * 5000)},
                                                 {"total", 10 + k},
                                                 {"zones", {{"entrance", 10 + k}}}}}};
    REQUIRE(to_shared.publish("footfall/v1/acme/mall-1/presence", presence.dump()));
  }
  nlohmann::json live;
  const bool newest = wait_until(
      [&] {
        mqtt::async_client reader(shared_broker.uri(), "footfall-test-occupancy", nullptr);
        std::mutex mutex;
        reader.set_message_callback([&](mqtt::const_message_ptr m) {
          std::lock_guard lock(mutex);
          if (m->is_retained()) live = nlohmann::json::parse(m->get_payload_str(), nullptr, false);
        });
        mqtt::connect_options opts;
        opts.set_clean_session(true);
        if (!reader.connect(opts)->wait_for(5s)) return false;
        reader.subscribe("footfall/v1/acme/mall-1/occupancy", 1)->wait_for(5s);
        std::this_thread::sleep_for(300ms);
        reader.disconnect()->wait_for(2s);
        std::lock_guard lock(mutex);
        return live.is_object() && live.value("total", -1) == 12;
      },
      20s);
  CHECK_MESSAGE(newest, live.dump());
  if (!newest)
    for (auto& i : shared) MESSAGE(i->name << ": " << read_text(i->log()));

  // Reports from any instance of the group equal the single instance's.
  const auto report_single = report_of(single, "mall-2", dir.path() / "report-single");
  const auto report_shared = report_of(*shared[1], "mall-2", dir.path() / "report-shared");
  CHECK(report_single.contains("summary"));
  CHECK(report_single == report_shared);
  for (auto& i : shared) i->stop(SIGTERM);
  single.stop(SIGTERM);
}

TEST_CASE("kill -9 of an aggregator and PostgreSQL stopped for 30 s mid-stream: every visit once") {
  PostgresServer pg;
  if (!pg.setup_error().empty()) {
    MESSAGE("skipped: no PostgreSQL server: " << pg.setup_error());
    return;
  }
  MosquittoBroker broker;
  if (!broker.setup_error().empty()) {
    MESSAGE("skipped: " << broker.setup_error());
    return;
  }
  TempDir dir("agg-central-faults");
  const std::vector<std::string> sites{"mall-1", "mall-2"};
  // a stores with three MQTT sessions and three writers (ingest.sessions), b with one.
  Instance a(dir.path(), "a", broker.uri(), pg.conninfo(), "central", sites, 3);
  Instance b(dir.path(), "b", broker.uri(), pg.conninfo(), "central", sites);
  REQUIRE_MESSAGE(a.start(), read_text(a.log()));
  REQUIRE_MESSAGE(b.start(), read_text(b.log()));
  const Feed feed;
  TestPublisher gw(broker.uri());
  std::set<std::string> expected;
  const auto publish = [&](int seq) {
    for (const auto& site : sites) {
      REQUIRE(gw.publish("footfall/v1/acme/" + site + "/visits", feed.batch(site, seq)));
      for (int k = 0; k < 5; ++k) expected.insert(Feed::id_of(site, seq * 5 + k));
    }
  };
  for (int seq = 1; seq <= 40; ++seq) publish(seq);
  CHECK(wait_until([&] { return lease_holders(pg, "footfall").size() == 2; }, 20s));

  // kill -9 of one instance: the other holds both sites' leases within seconds.
  a.stop(SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  const bool taken_over = wait_until(
      [&] {
        const auto leases = lease_holders(pg, "footfall");
        std::set<std::string> pids;
        for (const auto& [site, holders] : leases) pids.insert(holders.begin(), holders.end());
        return leases.size() == 2 && pids.size() == 1;
      },
      15s);
  CHECK(taken_over);
  MESSAGE("site leases taken over in "
          << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed_at).count()
          << " ms");
  for (int seq = 41; seq <= 70; ++seq) publish(seq);
  REQUIRE_MESSAGE(a.start(), read_text(a.log()));  // as systemd restarts it

  // PostgreSQL away for 30 s while the feed goes on, with batches delivered a second time.
  pg.stop();
  for (int seq = 71; seq <= 100; ++seq) publish(seq);
  for (int seq = 50; seq <= 60; ++seq) publish(seq);
  std::this_thread::sleep_for(30s);
  CHECK(a.alive());
  CHECK(b.alive());
  const std::string waiting = read_text(a.log()) + read_text(b.log());
  CHECK(waiting.find("not stored, retrying") != std::string::npos);
  REQUIRE_MESSAGE(pg.start(), pg.log());

  CHECK(wait_until([&] { return count_of(pg, "footfall", "SELECT count(*) FROM visits") >= 1000; }, 60s));
  std::this_thread::sleep_for(2s);  // anything still in flight would show up as a count above 1000
  CHECK(count_of(pg, "footfall", "SELECT count(*) FROM visits") == static_cast<std::int64_t>(expected.size()));
  CHECK(count_of(pg, "footfall", "SELECT count(DISTINCT visit_id) FROM visits") == static_cast<std::int64_t>(expected.size()));
  CHECK(count_of(pg, "footfall", "SELECT count(*) FROM batches") == 200);
  // Both leases held again, by exactly one instance each.
  CHECK(wait_until(
      [&] {
        const auto leases = lease_holders(pg, "footfall");
        return leases.size() == 2 && leases.begin()->second.size() == 1 && leases.rbegin()->second.size() == 1;
      },
      20s));
  a.stop(SIGTERM);
  b.stop(SIGTERM);
  const std::string logs = read_text(a.log()) + read_text(b.log());
  CHECK(logs.find("batches_duplicate=") != std::string::npos);
}

TEST_CASE("copy-store carries a SQLite store into PostgreSQL: the same report, and a second copy adds nothing") {
  PostgresServer pg;
  if (!pg.setup_error().empty()) {
    MESSAGE("skipped: no PostgreSQL server: " << pg.setup_error());
    return;
  }
  TempDir dir("agg-copy-store");
  const std::vector<std::string> sites{"mall-1", "mall-2"};
  const Feed feed;
  {
    std::ofstream feed_file(dir.path() / "feed.tsv");
    for (int seq = 1; seq <= 30; ++seq)
      for (const auto& site : sites) feed_file << "footfall/v1/acme/" << site << "/visits\t" << feed.batch(site, seq) << "\n";
  }
  const auto sqlite_store = dir.path() / "site.db";
  REQUIRE(run_program({FOOTFALL_AGGREGATOR, "ingest-file", "--store", sqlite_store.string(),
                       (dir.path() / "feed.tsv").string()},
                      dir.path() / "ingest.log", 60s) == 0);
  Instance central(dir.path(), "central", "tcp://127.0.0.1:1", pg.conninfo(), "", sites);
  const auto copy = [&](const std::string& log) {
    return run_program({FOOTFALL_AGGREGATOR, "copy-store", "--from", sqlite_store.string(), "--to",
                        central.config().string()},
                       dir.path() / log, 120s);
  };
  REQUIRE_MESSAGE(copy("copy-1.log") == 0, read_text(dir.path() / "copy-1.log"));
  CHECK(count_of(pg, "footfall", "SELECT count(*) FROM visits") == 300);
  const std::string first = read_text(dir.path() / "copy-1.log");
  CHECK(first.find("\"visits_new\":150") != std::string::npos);
  REQUIRE(copy("copy-2.log") == 0);
  const std::string second = read_text(dir.path() / "copy-2.log");
  CHECK(second.find("\"visits\":150,\"visits_new\":0") != std::string::npos);
  CHECK(count_of(pg, "footfall", "SELECT count(*) FROM visits") == 300);

  // The report of a site from the copy equals the one from the SQLite file.
  const auto now = now_ms();
  const std::string day = format_iso8601_utc(now - now % 86'400'000).substr(0, 10);
  const auto report = [&](const std::vector<std::string>& store_args, const std::string& out) {
    std::vector<std::string> argv{FOOTFALL_AGGREGATOR, "report"};
    argv.insert(argv.end(), store_args.begin(), store_args.end());
    argv.insert(argv.end(), {"--tenant", "acme", "--site", "mall-2", "--from", day, "--to", day, "--out",
                             (dir.path() / out).string()});
    if (run_program(argv, dir.path() / (out + ".log"), 60s) != 0) return nlohmann::json{{"failed", read_text(dir.path() / (out + ".log"))}};
    auto doc = nlohmann::json::parse(read_text(dir.path() / out / "report.json"), nullptr, false);
    if (doc.is_object()) {
      doc.erase("generated_at");
      doc.erase("thresholds_source");  // "defaults" with --store alone, "config" with the config: same values
    }
    return doc;
  };
  const auto from_sqlite = report({"--store", sqlite_store.string()}, "report-sqlite");
  const auto from_pg = report({"--config", central.config().string()}, "report-pg");
  CHECK(from_sqlite.contains("summary"));
  CHECK(from_sqlite == from_pg);
}
