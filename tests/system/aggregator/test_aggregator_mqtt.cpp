// The real footfall-aggregator against a real mosquitto: every batch stored once across a kill -9 and a
// restart (with redelivered batches and a visit repeated in another batch), figures published retained,
// and two instances of one shared-subscription group splitting the feed.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>

#include "aggregator/store/sqlite_store.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_publisher.h"

using namespace footfall::aggregator;
using namespace footfall::test;
using namespace std::chrono_literals;

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A visits batch of the documented shape: batch seq, visits seq*10 .. seq*10+4 (ids unique per visit).
std::string visits_payload(int seq, const std::vector<int>& visit_numbers) {
  static const nlohmann::json example = [] {
    std::ifstream in(std::string(FOOTFALL_SOURCE_DIR) + "/docs/schema/examples/visits.json");
    return nlohmann::json::parse(in);
  }();
  nlohmann::json j = example;
  j["batch_id"] = "mall-7-1714550000-" + std::to_string(seq);
  j["seq"] = seq;
  nlohmann::json visits = nlohmann::json::array();
  for (int n : visit_numbers) {
    nlohmann::json v = example["visits"][0];
    char id[40];
    std::snprintf(id, sizeof id, "%032x", n);
    v["visit_id"] = id;
    v["device"] = id;
    visits.push_back(v);
  }
  j["visits"] = visits;
  return j.dump();
}

std::vector<int> visits_of_batch(int seq) { return {seq * 10, seq * 10 + 1, seq * 10 + 2}; }

struct Aggregator {
  std::filesystem::path dir;
  std::string name;
  pid_t pid = -1;

  Aggregator(std::filesystem::path d, std::string n, const std::string& uri, const std::string& share_group)
      : dir(std::move(d)), name(std::move(n)) {
    nlohmann::json cfg{{"mqtt", {{"uri", uri}, {"client_id", "footfall-test-" + name}, {"share_group", share_group}}},
                       {"store", {{"path", (dir / (name + ".db")).string()}}},
                       {"publish", {{"interval_s", 1}}},
                       {"tenants", {{"acme", {{"sites", {{"mall-7", {{"utc_offset_min", 120}}}}}}}}}};
    std::ofstream(dir / (name + ".json")) << cfg.dump(2);
  }
  ~Aggregator() { stop(SIGKILL); }
  std::filesystem::path log() const { return dir / (name + ".log"); }
  std::filesystem::path store() const { return dir / (name + ".db"); }
  // Starts and waits until the subscriptions are in place (the log says so), bounded.
  bool start() {
    const auto before = read_text(log()).size();
    pid = spawn_program({FOOTFALL_AGGREGATOR, "run", "--config", (dir / (name + ".json")).string()}, log());
    return pid > 0 && wait_until([&] { return read_text(log()).find("subscribed to", before) != std::string::npos; }, 10s);
  }
  void stop(int sig) {
    if (pid > 0) stop_program(pid, sig);
    pid = -1;
  }
};

std::set<std::string> stored_visit_ids(const std::filesystem::path& store_path) {
  std::set<std::string> ids;
  if (!std::filesystem::exists(store_path)) return ids;
  auto store = SqliteStore::open(store_path);
  store->for_each_visit("acme", "mall-7", 0, INT64_MAX, [&](const Visit& v) { ids.insert(v.visit_id); });
  return ids;
}

std::string id_of(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "%032x", n);
  return id;
}

}  // namespace

TEST_CASE("kill -9 mid-stream and restart: nothing lost, nothing twice; figures retained") {
  MosquittoBroker broker;
  if (!broker.setup_error().empty()) {
    MESSAGE("skipped: " << broker.setup_error());
    return;
  }
  TempDir dir("footfall-agg");
  Aggregator agg(dir.path(), "agg", broker.uri(), "");
  REQUIRE_MESSAGE(agg.start(), read_text(agg.log()));
  TestPublisher gw(broker.uri());
  const std::string topic = "footfall/v1/acme/mall-7/visits";
  std::set<std::string> expected;
  constexpr int kBatches = 300;
  for (int seq = 1; seq <= kBatches; ++seq) {
    REQUIRE(gw.publish(topic, visits_payload(seq, visits_of_batch(seq))));
    for (int n : visits_of_batch(seq)) expected.insert(id_of(n));
    if (seq == 120) agg.stop(SIGKILL);  // mid-stream: some batches in flight, the rest queued by the broker
  }
  // Redeliveries as a restarted gateway makes them: the same batches again, and a visit in a new batch.
  for (int seq = 100; seq <= 140; ++seq) REQUIRE(gw.publish(topic, visits_payload(seq, visits_of_batch(seq))));
  REQUIRE(gw.publish(topic, visits_payload(kBatches + 1, {10, 11, 99'999})));
  expected.insert(id_of(99'999));
  REQUIRE(gw.publish(topic, "{\"batch_id\": 3}"));  // malformed: counted, not fatal
  const auto before_kill = stored_visit_ids(agg.store()).size();
  MESSAGE("visits stored before the restart: " << before_kill << " of " << expected.size());

  REQUIRE_MESSAGE(agg.start(), read_text(agg.log()));
  const bool complete = wait_until([&] { return stored_visit_ids(agg.store()).size() >= expected.size(); }, 30s);
  const auto stored = stored_visit_ids(agg.store());
  CHECK(complete);
  CHECK(stored == expected);

  // The figures of the site arrive retained on .../metrics/{period}.
  mqtt::async_client reader(broker.uri(), "footfall-test-metrics", nullptr);
  std::mutex mutex;
  std::map<std::string, nlohmann::json> metrics;
  reader.set_message_callback([&](mqtt::const_message_ptr m) {
    std::lock_guard lock(mutex);
    if (m->is_retained()) metrics[m->get_topic()] = nlohmann::json::parse(m->get_payload_str(), nullptr, false);
  });
  mqtt::connect_options opts;
  opts.set_clean_session(true);
  REQUIRE(reader.connect(opts)->wait_for(5s));
  REQUIRE(reader.subscribe("footfall/v1/acme/mall-7/metrics/+", 1)->wait_for(5s));
  CHECK(wait_until([&] { std::lock_guard lock(mutex); return metrics.size() == 4; }, 10s));
  {
    std::lock_guard lock(mutex);
    for (const char* p : {"hour", "day", "week", "month"}) {
      const auto& m = metrics["footfall/v1/acme/mall-7/metrics/" + std::string(p)];
      CHECK(m["period"] == p);
      CHECK(m["tenant"] == "acme");
      CHECK(m["figures"].is_object());
    }
  }
  reader.disconnect()->wait_for(2s);

  agg.stop(SIGTERM);
  const std::string log = read_text(agg.log());
  CHECK(log.find("malformed payload") != std::string::npos);
  CHECK(log.find("signal 15: stopping") != std::string::npos);
  CHECK(log.find("batches_duplicate=") != std::string::npos);
}

namespace {

// A presence batch of the documented shape with its own seq and an occupancy sample.
std::string presence_payload(int seq, const std::string& at, int total, const nlohmann::json& zones) {
  std::ifstream in(std::string(FOOTFALL_SOURCE_DIR) + "/docs/schema/examples/presence.json");
  nlohmann::json j = nlohmann::json::parse(in);
  j["batch_id"] = "mall-7-1714550000-" + std::to_string(seq);
  j["seq"] = seq;
  j["occupancy"] = {{"at", at}, {"total", total}, {"zones", zones}};
  return j.dump();
}

// Collects what arrives on one topic filter, with the retained flag.
class Listener {
 public:
  Listener(const std::string& uri, const std::string& id, const std::string& filter) : client_(uri, id, nullptr) {
    client_.set_message_callback([this](mqtt::const_message_ptr m) {
      std::lock_guard lock(mutex_);
      messages_.push_back({nlohmann::json::parse(m->get_payload_str(), nullptr, false), m->is_retained()});
    });
    mqtt::connect_options opts;
    opts.set_clean_session(true);
    REQUIRE(client_.connect(opts)->wait_for(5s));
    REQUIRE(client_.subscribe(filter, 1)->wait_for(5s));
  }
  ~Listener() {
    try {
      client_.disconnect()->wait_for(2s);
    } catch (const mqtt::exception&) {
    }
  }
  // The newest message once one with this total has arrived (bounded wait).
  std::optional<std::pair<nlohmann::json, bool>> wait_for_total(int total) {
    std::optional<std::pair<nlohmann::json, bool>> found;
    wait_until([&] {
      std::lock_guard lock(mutex_);
      for (const auto& m : messages_)
        if (m.first.value("total", -1) == total) found = m;
      return found.has_value();
    }, 15s);
    return found;
  }
  std::vector<int> totals() {
    std::lock_guard lock(mutex_);
    std::vector<int> out;
    for (const auto& m : messages_) out.push_back(m.first.value("total", -1));
    return out;
  }

 private:
  mqtt::async_client client_;
  std::mutex mutex_;
  std::vector<std::pair<nlohmann::json, bool>> messages_;
};

}  // namespace

TEST_CASE("occupancy per site and zone, retained: a late subscriber gets the current value; never back in time") {
  MosquittoBroker broker;
  if (!broker.setup_error().empty()) {
    MESSAGE("skipped: " << broker.setup_error());
    return;
  }
  TempDir dir("footfall-agg-occupancy");
  Aggregator agg(dir.path(), "agg", broker.uri(), "");
  REQUIRE_MESSAGE(agg.start(), read_text(agg.log()));
  const std::string topic = "footfall/v1/acme/mall-7/occupancy";
  Listener early(broker.uri(), "footfall-test-early", topic);
  TestPublisher gw(broker.uri());
  REQUIRE(gw.publish("footfall/v1/acme/mall-7/presence",
                     presence_payload(1, "2024-05-01T10:15:05.000Z", 37, {{"entrance", 9}, {"food-court", 28}})));
  const auto first = early.wait_for_total(37);
  REQUIRE_MESSAGE(first, read_text(agg.log()));
  CHECK(first->first["zones"] == nlohmann::json{{"entrance", 9}, {"food-court", 28}});
  CHECK(first->first["at"] == "2024-05-01T10:15:05.000Z");

  // Subscribing after the publication: the broker hands over the retained value at once.
  {
    Listener late(broker.uri(), "footfall-test-late", topic);
    const auto got = late.wait_for_total(37);
    REQUIRE(got);
    CHECK(got->second);  // retained
    CHECK(got->first["site"] == "mall-7");
  }

  // A batch redelivered late (older sample) then a newer one: the value moves forward only.
  REQUIRE(gw.publish("footfall/v1/acme/mall-7/presence",
                     presence_payload(2, "2024-05-01T10:14:00.000Z", 99, {{"entrance", 99}})));
  REQUIRE(gw.publish("footfall/v1/acme/mall-7/presence",
                     presence_payload(3, "2024-05-01T10:15:35.000Z", 6, {{"entrance", 2}, {"food-court", 4}})));
  REQUIRE(early.wait_for_total(6));
  const auto totals = early.totals();
  CHECK(std::find(totals.begin(), totals.end(), 99) == totals.end());
  Listener later(broker.uri(), "footfall-test-later", topic);
  const auto current = later.wait_for_total(6);
  REQUIRE(current);
  CHECK(current->second);
  CHECK(current->first["zones"] == nlohmann::json{{"entrance", 2}, {"food-court", 4}});
  agg.stop(SIGTERM);
  CHECK(read_text(agg.log()).find("publish: occupancy published=") != std::string::npos);
}

TEST_CASE("shared subscription: two aggregators of one group split the feed, each batch stored once") {
  MosquittoBroker broker;
  if (!broker.setup_error().empty()) {
    MESSAGE("skipped: " << broker.setup_error());
    return;
  }
  TempDir dir("footfall-agg-share");
  Aggregator a(dir.path(), "a", broker.uri(), "central");
  Aggregator b(dir.path(), "b", broker.uri(), "central");
  REQUIRE_MESSAGE(a.start(), read_text(a.log()));
  REQUIRE_MESSAGE(b.start(), read_text(b.log()));
  TestPublisher gw(broker.uri());
  std::set<std::string> expected;
  for (int seq = 1; seq <= 100; ++seq) {
    REQUIRE(gw.publish("footfall/v1/acme/mall-7/visits", visits_payload(seq, visits_of_batch(seq))));
    for (int n : visits_of_batch(seq)) expected.insert(id_of(n));
  }
  std::set<std::string> in_a, in_b;
  const bool all = wait_until(
      [&] {
        in_a = stored_visit_ids(a.store());
        in_b = stored_visit_ids(b.store());
        return in_a.size() + in_b.size() >= expected.size();
      },
      20s);
  CHECK(all);
  MESSAGE("a stored " << in_a.size() << " visits, b " << in_b.size());
  CHECK_FALSE(in_a.empty());
  CHECK_FALSE(in_b.empty());
  std::set<std::string> both;
  std::set_intersection(in_a.begin(), in_a.end(), in_b.begin(), in_b.end(), std::inserter(both, both.end()));
  CHECK(both.empty());
  std::set<std::string> all_ids = in_a;
  all_ids.insert(in_b.begin(), in_b.end());
  CHECK(all_ids == expected);
}
