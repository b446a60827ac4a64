// The publisher against a real mosquitto: order, broker and gateway restarts, a full outbox, refused
// credentials, TLS and the last will. Every wait is a bounded poll.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "gateway/publish/publisher.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/schema_check.h"
#include "tests/support/test_subscriber.h"

using namespace footfall::gateway::publish;
using footfall::test::BrokerOptions;
using footfall::test::MosquittoBroker;
using footfall::test::Received;
using footfall::test::SubscriberOptions;
using footfall::test::TempDir;
using footfall::test::TestSubscriber;
using footfall::test::wait_until;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTenant = "acme";
constexpr const char* kSite = "mall-7";

std::string pseudonym(int n) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016x%016x", 0x5eed0000u + static_cast<unsigned>(n), static_cast<unsigned>(n) * 7919u);
  return buf;
}

SiteVisit make_visit(int n) {
  SiteVisit v;
  v.device = pseudonym(n);
  v.key_epoch = 1;
  v.arrival = 1714557600000 + n * 1000;
  v.departure = v.arrival + 60'000;
  v.zones = {"entrance"};
  v.entry_zone = v.exit_zone = "entrance";
  v.strongest_zone = {{v.arrival, "entrance"}};
  v.probes = {{"probe-01", "entrance", v.arrival, v.departure, 5, -50, -60.0}};
  return v;
}

PublisherConfig make_config(const std::string& uri, const std::filesystem::path& outbox, std::size_t per_batch) {
  PublisherConfig cfg;
  cfg.server_uri = uri;
  cfg.tenant = kTenant;
  cfg.site = kSite;
  cfg.software_version = "0.1.0-test";
  cfg.outbox_dir = outbox;
  cfg.visits = {60'000, per_batch, 1u << 20};  // sealed by count or flush(), never by the clock here
  cfg.window = 4;
  cfg.reconnect_min = 1s;
  cfg.reconnect_max = 1s;
  cfg.connect_timeout = 3s;
  cfg.shutdown_timeout = 1000ms;
  return cfg;
}

std::unique_ptr<Publisher> open_publisher(const PublisherConfig& cfg) {
  auto opened = Publisher::open(cfg, footfall::clock::wall_ms());
  REQUIRE_MESSAGE(opened.publisher, opened.error);
  return std::move(opened.publisher);
}

template <class Cond>
bool poll_until(Publisher& p, Cond cond, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        p.poll(footfall::clock::wall_ms());
        return cond();
      },
      timeout);
}

SubscriberOptions consumer(const std::string& uri) {
  SubscriberOptions o;
  o.uri = uri;
  return o;
}

BrokerOptions broker_options() { return {}; }

std::string topic_of(const char* leaf) { return std::string("footfall/v1/") + kTenant + "/" + kSite + "/" + leaf; }

// A consumer's view: batches deduplicated by batch_id, in order of first arrival. Every duplicate
// must be byte-identical to the first copy.
struct Deduped {
  std::vector<json> batches;
  std::size_t duplicates = 0;
  bool duplicates_identical = true;
};
Deduped dedup(const std::vector<Received>& msgs, const std::string& topic) {
  Deduped out;
  std::map<std::string, std::string> first;
  for (const Received& r : msgs) {
    if (r.topic != topic) continue;
    const json body = json::parse(r.payload);
    const std::string id = body.at("batch_id");
    auto [it, fresh] = first.emplace(id, r.payload);
    if (fresh) {
      out.batches.push_back(body);
    } else {
      ++out.duplicates;
      out.duplicates_identical = out.duplicates_identical && it->second == r.payload;
    }
  }
  return out;
}

std::size_t unique_count(const TestSubscriber& sub, const std::string& topic) {
  return dedup(sub.messages(), topic).batches.size();
}

std::uint64_t read_epoch(const std::filesystem::path& outbox) {
  std::ifstream in(outbox / "epoch");
  std::uint64_t e = 0;
  in >> e;
  return e;
}

json load_schema(const std::string& name) {
  std::ifstream in(std::filesystem::path(FOOTFALL_SCHEMA_DIR) / (name + ".schema.json"));
  return json::parse(in);
}

}  // namespace

TEST_CASE("micro-batches reach a subscriber in order, with stable batch ids, valid JSON and no MAC") {
  MosquittoBroker broker;
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  TestSubscriber sub(consumer(broker.uri()));
  REQUIRE_MESSAGE(sub.start(), sub.error());
  TempDir tmp;
  auto cfg = make_config(broker.uri(), tmp.path() / "outbox", 5);
  auto pub = open_publisher(cfg);
  REQUIRE(poll_until(*pub, [&] { return pub->connected(); }, 10s));

  for (int i = 0; i < 30; ++i) {
    CHECK(pub->submit_visit(make_visit(i), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
    pub->poll(footfall::clock::wall_ms());
  }
  SiteVisit leaky = make_visit(99);
  leaky.device = "a4:5e:60:c1:22:9f";
  CHECK(pub->submit_visit(leaky, footfall::clock::wall_ms()) == SubmitVerdict::not_pseudonym);
  CHECK(pub->submit_presence({PresenceKind::arrival, pseudonym(1), 1, 1714557600000, "entrance", false}, footfall::clock::wall_ms()) ==
        SubmitVerdict::accepted);
  pub->update_occupancy({1714557600000, 1, {{"entrance", 1}}}, footfall::clock::wall_ms());
  pub->update_probe_health({"probe-01", true, 1714557600000, 120, 0, 0, 0, 0}, footfall::clock::wall_ms());
  pub->update_gateway_health({{{"frames_received", 77}}, {}}, footfall::clock::wall_ms());
  pub->flush(footfall::clock::wall_ms());

  REQUIRE(poll_until(*pub, [&] {
    const auto c = pub->counters();
    return c.acked == c.batches_sealed && c.outbox_records == 0;
  }, 10s));
  const auto c = pub->counters();
  CHECK(c.batches_sealed == 8);  // 6 of visits, 1 presence, 1 probes
  CHECK(c.refused_not_pseudonym == 1);
  CHECK(c.drops_by_reason.empty());
  REQUIRE(wait_until([&] { return unique_count(sub, topic_of("visits")) == 6 && sub.count(topic_of("probes")) == 1; }, 10s));

  const auto msgs = sub.messages();
  const std::uint64_t epoch = read_epoch(cfg.outbox_dir);
  const auto visits = dedup(msgs, topic_of("visits"));
  CHECK(visits.duplicates == 0);
  std::uint64_t last_seq = 0;
  int next_device = 0;
  for (const json& b : visits.batches) {
    const std::uint64_t seq = b.at("seq");
    CHECK(seq > last_seq);
    last_seq = seq;
    CHECK(b.at("batch_id") == std::string(kSite) + "-" + std::to_string(epoch) + "-" + std::to_string(seq));
    CHECK(b.at("visits").size() == 5);
    for (const json& v : b.at("visits")) CHECK(v.at("device") == pseudonym(next_device++));
  }
  CHECK(next_device == 30);

  const std::regex mac_like("[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}");
  bool saw_online = false;
  for (const Received& r : msgs) {
    CHECK_FALSE(std::regex_search(r.payload, mac_like));
    const std::string leaf = r.topic.substr(r.topic.rfind('/') + 1);
    const auto problems = footfall::test::schema_problems(load_schema(leaf), json::parse(r.payload));
    CHECK_MESSAGE(problems.empty(), r.topic << ": " << r.payload << "\n" << (problems.empty() ? "" : problems[0]));
    if (leaf == "status" && json::parse(r.payload).at("state") == "online") saw_online = true;
  }
  CHECK(saw_online);
  const json probes = json::parse(msgs[0].topic == topic_of("probes") ? msgs[0].payload : [&] {
    for (const Received& r : msgs)
      if (r.topic == topic_of("probes")) return r.payload;
    return std::string("{}");
  }());
  CHECK(probes.at("gateway").at("counters").at("frames_received") == 77);
  CHECK(probes.at("probes").at(0).at("probe") == "probe-01");

  pub.reset();  // a clean shutdown says so on the status topic
  REQUIRE(wait_until([&] {
    for (const Received& r : sub.messages())
      if (r.topic == topic_of("status") && json::parse(r.payload).at("reason") == "shutdown") return true;
    return false;
  }, 5s));
}

TEST_CASE("broker stopped and restarted mid-stream: nothing lost, duplicates only under the same batch_id") {
  auto bo = broker_options();
  bo.persistence = true;
  MosquittoBroker broker(bo);
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  auto so = consumer(broker.uri());
  so.client_id = "consumer-restart";
  so.persistent_session = true;
  TestSubscriber sub(so);
  REQUIRE_MESSAGE(sub.start(), sub.error());
  TempDir tmp;
  auto pub = open_publisher(make_config(broker.uri(), tmp.path() / "outbox", 2));
  REQUIRE(poll_until(*pub, [&] { return pub->connected(); }, 10s));

  int n = 0;
  auto submit = [&](int count) {
    for (int i = 0; i < count; ++i) {
      REQUIRE(pub->submit_visit(make_visit(n++), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
      pub->poll(footfall::clock::wall_ms());
    }
  };
  submit(20);
  REQUIRE(poll_until(*pub, [&] { return pub->counters().acked >= 3; }, 10s));
  broker.stop(SIGTERM);
  REQUIRE(poll_until(*pub, [&] { return pub->counters().connection_losses >= 1; }, 5s));
  submit(20);  // while the broker is away: into the outbox
  (void)poll_until(*pub, [] { return false; }, 300ms);
  CHECK(pub->counters().outbox_records > 0);
  REQUIRE_MESSAGE(broker.start(), broker.log());
  submit(20);
  pub->flush(footfall::clock::wall_ms());
  REQUIRE(poll_until(*pub, [&] {
    const auto c = pub->counters();
    return c.acked == c.batches_sealed && c.outbox_records == 0;
  }, 20s));
  const auto c = pub->counters();
  CHECK(c.batches_sealed == 30);
  CHECK(c.connects >= 2);
  CHECK(c.drops_by_reason.empty());

  REQUIRE(wait_until([&] { return unique_count(sub, topic_of("visits")) == 30; }, 15s));
  const auto d = dedup(sub.messages(), topic_of("visits"));
  CHECK(d.duplicates_identical);
  std::set<std::uint64_t> seqs;
  std::vector<std::string> devices;
  for (const json& b : d.batches) {
    seqs.insert(b.at("seq").get<std::uint64_t>());
    for (const json& v : b.at("visits")) devices.push_back(v.at("device"));
  }
  CHECK(seqs.size() == 30);
  CHECK(*seqs.begin() == 1);
  CHECK(*seqs.rbegin() == 30);
  REQUIRE(devices.size() == 60);
  std::sort(devices.begin(), devices.end());
  CHECK(std::unique(devices.begin(), devices.end()) == devices.end());
  MESSAGE("duplicates seen by the consumer: " << d.duplicates << ", republished: " << c.republished);
}

TEST_CASE("broker killed with batches in flight: every batch is still acked, none dropped") {
  MosquittoBroker broker;
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  TempDir tmp;
  auto pub = open_publisher(make_config(broker.uri(), tmp.path() / "outbox", 1));
  REQUIRE(poll_until(*pub, [&] { return pub->connected(); }, 10s));
  for (int i = 0; i < 40; ++i) REQUIRE(pub->submit_visit(make_visit(i), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
  pub->flush(footfall::clock::wall_ms());
  pub->poll(footfall::clock::wall_ms());
  broker.stop(SIGKILL);
  REQUIRE(poll_until(*pub, [&] { return !pub->connected(); }, 5s));
  REQUIRE_MESSAGE(broker.start(), broker.log());
  REQUIRE(poll_until(*pub, [&] { return pub->counters().acked == 40 && pub->counters().outbox_records == 0; }, 20s));
  const auto c = pub->counters();
  CHECK(c.batches_sealed == 40);
  CHECK(c.published >= 40);
  CHECK(c.connection_losses >= 1);
  CHECK(c.drops_by_reason.empty());
  MESSAGE("published " << c.published << ", republished " << c.republished << ", publish errors " << c.publish_errors);
}

TEST_CASE("gateway restart: a new publisher on the same outbox republishes what was never acked") {
  MosquittoBroker broker;
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  TempDir tmp;
  const auto cfg = make_config(broker.uri(), tmp.path() / "outbox", 1);
  {
    auto first = open_publisher(cfg);
    REQUIRE(poll_until(*first, [&] { return first->connected(); }, 10s));
    broker.stop(SIGKILL);
    REQUIRE(poll_until(*first, [&] { return !first->connected(); }, 5s));
    for (int i = 0; i < 5; ++i) REQUIRE(first->submit_visit(make_visit(i), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
    first->flush(footfall::clock::wall_ms());
    first->poll(footfall::clock::wall_ms());
    CHECK(first->counters().outbox_records == 5);
    CHECK(first->counters().acked == 0);
  }  // the gateway goes down with 5 unacked batches

  REQUIRE_MESSAGE(broker.start(), broker.log());
  TestSubscriber sub(consumer(broker.uri()));
  REQUIRE_MESSAGE(sub.start(), sub.error());
  auto second = open_publisher(cfg);
  CHECK(second->counters().outbox_records == 5);
  REQUIRE(poll_until(*second, [&] { return second->counters().acked == 5; }, 10s));
  CHECK(second->counters().republished == 5);
  CHECK(second->counters().outbox_records == 0);
  REQUIRE(wait_until([&] { return unique_count(sub, topic_of("visits")) == 5; }, 5s));
  const std::uint64_t epoch = read_epoch(cfg.outbox_dir);
  const auto d = dedup(sub.messages(), topic_of("visits"));
  for (std::size_t i = 0; i < d.batches.size(); ++i) {
    CHECK(d.batches[i].at("batch_id") == std::string(kSite) + "-" + std::to_string(epoch) + "-" + std::to_string(i + 1));
    CHECK(d.batches[i].at("visits").at(0).at("device") == pseudonym(static_cast<int>(i)));
  }
  // New batches continue the sequence instead of reusing an id.
  REQUIRE(second->submit_visit(make_visit(5), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
  second->flush(footfall::clock::wall_ms());
  REQUIRE(wait_until([&] {
    second->poll(footfall::clock::wall_ms());
    return unique_count(sub, topic_of("visits")) == 6;
  }, 5s));
  CHECK(dedup(sub.messages(), topic_of("visits")).batches.back().at("seq") == 6);
}

TEST_CASE("a full outbox turns accepts_more() false and drops nothing; it drains when the broker comes") {
  auto bo = broker_options();
  bo.start = false;
  MosquittoBroker broker(bo);
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  TempDir tmp;
  auto cfg = make_config(broker.uri(), tmp.path() / "outbox", 1);
  cfg.outbox.max_total_bytes = 8192;
  cfg.outbox.segment_bytes = 2048;
  cfg.outbox.max_record_bytes = 2048;
  auto pub = open_publisher(cfg);

  int accepted = 0;
  for (int i = 0; i < 500 && pub->accepts_more(); ++i) {
    const auto verdict = pub->submit_visit(make_visit(i), footfall::clock::wall_ms());
    if (verdict != SubmitVerdict::accepted) break;
    ++accepted;
    pub->poll(footfall::clock::wall_ms());
  }
  CHECK_FALSE(pub->accepts_more());
  CHECK(pub->submit_visit(make_visit(accepted), footfall::clock::wall_ms()) == SubmitVerdict::back_pressure);
  auto c = pub->counters();
  CHECK(accepted > 5);
  CHECK(c.full_events == 1);
  CHECK(c.refused_back_pressure >= 1);
  CHECK(c.outbox_disk_bytes <= cfg.outbox.max_total_bytes);
  CHECK(c.drops_by_reason.empty());
  CHECK(c.batches_sealed == static_cast<std::uint64_t>(accepted));

  REQUIRE_MESSAGE(broker.start(), broker.log());
  TestSubscriber sub(consumer(broker.uri()));
  REQUIRE_MESSAGE(sub.start(), sub.error());
  REQUIRE(poll_until(*pub, [&] {
    const auto k = pub->counters();
    return pub->accepts_more() && k.acked == k.batches_sealed && k.outbox_records == 0;
  }, 20s));
  REQUIRE(wait_until([&] { return unique_count(sub, topic_of("visits")) == static_cast<std::size_t>(accepted); }, 10s));
  std::vector<std::string> devices;
  for (const json& b : dedup(sub.messages(), topic_of("visits")).batches) devices.push_back(b.at("visits").at(0).at("device"));
  for (int i = 0; i < accepted; ++i) CHECK(devices[static_cast<std::size_t>(i)] == pseudonym(i));
  CHECK(pub->submit_visit(make_visit(accepted), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
}

TEST_CASE("wrong credentials: a clear error, counted, and the data stays in the outbox") {
  auto bo = broker_options();
  bo.users = {{"gateway", "right-password"}};
  MosquittoBroker broker(bo);
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  TempDir tmp;
  auto cfg = make_config(broker.uri(), tmp.path() / "outbox", 1);
  cfg.username = "gateway";
  cfg.password = "wrong-password";
  {
    auto pub = open_publisher(cfg);
    REQUIRE(pub->submit_visit(make_visit(0), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
    pub->flush(footfall::clock::wall_ms());
    REQUIRE(poll_until(*pub, [&] { return pub->counters().auth_failures >= 1; }, 10s));
    CHECK_FALSE(pub->connected());
    const std::string err = pub->last_error();
    CHECK_MESSAGE((err.find("not authorized") != std::string::npos || err.find("bad user name") != std::string::npos), err);
    CHECK(err.find("gateway") != std::string::npos);  // names the user it tried
    CHECK(pub->counters().outbox_records == 1);
    CHECK(pub->counters().acked == 0);
  }
  // With the right password the kept batch goes out.
  auto so = consumer(broker.uri());
  so.username = "gateway";
  so.password = "right-password";
  TestSubscriber sub(so);
  REQUIRE_MESSAGE(sub.start(), sub.error());
  cfg.password = "right-password";
  auto pub = open_publisher(cfg);
  REQUIRE(poll_until(*pub, [&] { return pub->counters().acked == 1; }, 10s));
  REQUIRE(wait_until([&] { return sub.count(topic_of("visits")) == 1; }, 5s));
}

TEST_CASE("TLS listener with a test CA: connects, verifies and publishes") {
  auto bo = broker_options();
  bo.tls = true;
  MosquittoBroker broker(bo);
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  auto so = consumer(broker.uri());
  so.ca_file = broker.ca_file().string();
  TestSubscriber sub(so);
  REQUIRE_MESSAGE(sub.start(), sub.error());
  TempDir tmp;
  auto cfg = make_config(broker.uri(), tmp.path() / "outbox", 1);
  cfg.tls.enabled = true;
  cfg.tls.ca_file = broker.ca_file().string();
  auto pub = open_publisher(cfg);
  REQUIRE(pub->submit_visit(make_visit(0), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
  pub->flush(footfall::clock::wall_ms());
  REQUIRE_MESSAGE(poll_until(*pub, [&] { return pub->counters().acked == 1; }, 10s), pub->last_error());
  REQUIRE(wait_until([&] { return sub.count(topic_of("visits")) == 1; }, 5s));

  // Without the CA the broker's certificate cannot be trusted: no connection, data kept.
  TempDir other;
  auto untrusting = make_config(broker.uri(), other.path() / "outbox", 1);
  untrusting.tls.enabled = true;
  untrusting.tls.ca_file = (other.path() / "no-such-ca.crt").string();
  auto stranger = open_publisher(untrusting);
  REQUIRE(stranger->submit_visit(make_visit(1), footfall::clock::wall_ms()) == SubmitVerdict::accepted);
  stranger->flush(footfall::clock::wall_ms());
  REQUIRE(poll_until(*stranger, [&] { return stranger->counters().connect_failures >= 1; }, 10s));
  CHECK(stranger->counters().acked == 0);
  CHECK(stranger->counters().outbox_records == 1);
}

TEST_CASE("last will: a killed gateway leaves a retained offline status") {
  MosquittoBroker broker;
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  auto so = consumer(broker.uri());
  so.filter = topic_of("status");
  TestSubscriber sub(so);
  REQUIRE_MESSAGE(sub.start(), sub.error());
  TempDir tmp;
  const pid_t child = footfall::test::spawn_program(
      {FOOTFALL_PUBLISHER_CHILD, broker.uri(), (tmp.path() / "outbox").string(), kTenant, kSite}, tmp.path() / "child.log");
  REQUIRE(child > 0);
  auto has_state = [](const std::vector<Received>& msgs, const char* state, const char* reason) {
    for (const Received& r : msgs) {
      const json j = json::parse(r.payload);
      if (j.at("state") == state && j.at("reason") == reason) return true;
    }
    return false;
  };
  const bool online = wait_until([&] { return has_state(sub.messages(), "online", "connected"); }, 10s);
  if (!online) footfall::test::stop_program(child, SIGKILL);
  REQUIRE(online);
  footfall::test::stop_program(child, SIGKILL);
  REQUIRE(wait_until([&] { return has_state(sub.messages(), "offline", "connection_lost"); }, 10s));

  // Retained: a consumer that arrives later learns the site is offline at once.
  auto lo = consumer(broker.uri());
  lo.client_id = "late-consumer";
  lo.filter = topic_of("status");
  TestSubscriber late(lo);
  REQUIRE_MESSAGE(late.start(), late.error());
  REQUIRE(wait_until([&] { return !late.messages().empty(); }, 5s));
  const Received r = late.messages().front();
  CHECK(r.retained);
  const json j = json::parse(r.payload);
  CHECK(j.at("state") == "offline");
  CHECK(j.at("since").is_null());
  CHECK(j.at("client_id") == std::string("footfall-gw-") + kTenant + "-" + kSite);
}
