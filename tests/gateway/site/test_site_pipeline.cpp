// The site stage in process, with a real journal and a real publisher (outbox on disk): what is released
// upstream and when, the replay after a restart, the opt-out, and back-pressure from a full outbox.
#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/wire/codec.h"
#include "common/clock.h"
#include "gateway/journal/journal.h"
#include "gateway/publish/outbox.h"
#include "gateway/publish/publisher.h"
#include "gateway/receive/receive_health.h"
#include "gateway/site/receive_snapshot.h"
#include "gateway/site/site_pipeline.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_subscriber.h"

using namespace footfall;
using namespace footfall::gateway;
using footfall::test::MosquittoBroker;
using footfall::test::SubscriberOptions;
using footfall::test::TempDir;
using footfall::test::TestSubscriber;
using footfall::test::wait_until;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'793'610'000'000'000'000;  // 2026-11-02T09:00:00Z
constexpr std::int64_t kSecond = 1'000'000'000;

MacAddress mac(std::uint8_t last) { return MacAddress{{0x00, 0x1b, 0x63, 0x84, 0x45, last}}; }

PresenceEvent event(PresenceKind kind, std::uint8_t device, std::int64_t first_s, std::int64_t last_s) {
  PresenceEvent e;
  e.kind = kind;
  e.mac = mac(device);
  e.first_seen_ns = kT0 + first_s * kSecond;
  e.last_seen_ns = kT0 + last_s * kSecond;
  e.ts_ns = e.last_seen_ns;
  e.frames = static_cast<std::uint32_t>(1 + last_s - first_s);
  e.interval_frames = 1;
  e.rssi_min = -70;
  e.rssi_max = -50;
  e.rssi_mean = -60;
  e.interval_rssi_mean = -60;
  e.dwell_s = static_cast<std::uint32_t>(last_s - first_s);
  if (kind == PresenceKind::departure) e.cause = DepartureCause::silence;
  return e;
}

// A journal, a publisher on an outbox and the site stage between them, all in one temp folder.
class Site {
 public:
  explicit Site(const std::filesystem::path& dir, std::string broker_uri = "tcp://127.0.0.1:9",
                std::uint64_t outbox_bytes = 64ull << 20, std::size_t per_batch = 500)
      : dir_(dir) {
    JournalOptions jo;
    jo.dir = dir / "journal";
    jo.max_bytes = 16ull << 20;
    jo.fsync = false;
    auto j = Journal::open(jo);
    REQUIRE_MESSAGE(j.journal, j.error);
    journal_ = std::move(j.journal);
    feed_ = std::make_unique<DirectJournalFeed>(*journal_);

    publish::PublisherConfig pc;
    pc.server_uri = std::move(broker_uri);
    pc.tenant = "acme";
    pc.site = "office-1";
    pc.outbox_dir = dir / "outbox";
    pc.outbox.max_total_bytes = outbox_bytes;
    pc.outbox.segment_bytes = std::min<std::uint64_t>(outbox_bytes / 4, 4ull << 20);
    pc.outbox.max_record_bytes = static_cast<std::uint32_t>(std::min<std::uint64_t>(outbox_bytes / 4, 4ull << 20));
    pc.outbox_fsync.mode = segment_log::FsyncMode::always;
    pc.visits = {60'000, per_batch, 1u << 20};  // sealed by flush() or count, not by the clock
    pc.presence = {60'000, per_batch, 1u << 20};
    pc.probes = {600'000, 1000, 1u << 20};
    pc.reconnect_min = 1s;
    pc.reconnect_max = 1s;
    pc.shutdown_timeout = 500ms;
    auto p = publish::Publisher::open(pc, footfall::clock::wall_ns() / 1'000'000);
    REQUIRE_MESSAGE(p.publisher, p.error);
    publisher_ = std::move(p.publisher);

    SitePipelineConfig sc;
    sc.site = "office-1";
    sc.merge.probes = {{"entrance", "entrance"}, {"model-room", "model-room"}};
    sc.key_dir = dir / "keys";
    sc.create_keys = true;
    sc.checkpoint_path = dir / "journal" / kSiteCheckpointFile;
    sc.checkpoint_interval_ns = 0;
    if (std::filesystem::exists(dir / "optout.txt")) sc.opt_out_file = dir / "optout.txt";
    auto s = SitePipeline::open(sc, *feed_, *publisher_);
    REQUIRE_MESSAGE(s.pipeline, s.error);
    pipeline_ = std::move(s.pipeline);
  }
  ~Site() {
    if (pipeline_) pipeline_->finish(footfall::clock::wall_ns());
  }

  void store(const std::string& probe, std::vector<PresenceEvent> events) {
    wire::Batch batch;
    batch.seq = journal_->durable_through(probe, 0) + 1;
    batch.body.events = std::move(events);
    std::vector<std::uint8_t> frame;
    REQUIRE_FALSE(encoder_.encode(batch, frame));
    JournalRecordMeta meta;
    meta.probe_id = probe;
    meta.probe_seq = batch.seq;
    meta.replay = true;
    REQUIRE(journal_->store(meta, frame) == StoreOutcome::stored);
    REQUIRE_FALSE(journal_->commit());
  }
  // Steps until the stage has nothing more to read.
  void run() {
    for (int i = 0; i < 100 && pipeline_->step(footfall::clock::wall_ns()); ++i) {
    }
  }
  void flush_and_run() {
    publisher_->flush(footfall::clock::wall_ns() / 1'000'000);
    run();
  }

  SitePipeline& pipeline() { return *pipeline_; }
  publish::Publisher& publisher() { return *publisher_; }
  Journal& journal() { return *journal_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<DirectJournalFeed> feed_;
  std::unique_ptr<publish::Publisher> publisher_;
  std::unique_ptr<SitePipeline> pipeline_;
  wire::Encoder encoder_;
};

// Every item in the outbox (nothing is acked without a broker), by topic leaf.
std::map<std::string, std::vector<json>> outbox_items(const std::filesystem::path& dir) {
  auto o = publish::Outbox::open(dir, {}, {segment_log::FsyncMode::never, 0, 0}, 1);
  REQUIRE_MESSAGE(o.outbox, o.error);
  std::map<std::string, std::vector<json>> out;
  publish::OutboxItem item;
  publish::OutboxError error;
  std::uint64_t after = 0;
  while (o.outbox->read_next(after, item, error)) {
    after = item.seq;
    const json batch = json::parse(item.payload);
    const std::string leaf = item.topic.substr(item.topic.rfind('/') + 1);
    const char* array = leaf == "visits" ? "visits" : leaf == "presence" ? "changes" : "probes";
    for (const json& v : batch.at(array)) out[leaf].push_back(v);
  }
  return out;
}

}  // namespace

TEST_CASE("site stage: the journal is released only behind durable items and behind open visits") {
  TempDir tmp("footfall-site-stage");
  Site site(tmp.path());
  site.store("entrance", {event(PresenceKind::arrival, 1, 0, 0)});                                    // record 1: A arrives
  site.store("entrance", {event(PresenceKind::arrival, 2, 10, 10), event(PresenceKind::departure, 2, 10, 40)});  // 2: B's visit
  site.run();
  CHECK(site.pipeline().counters().records_read == 2);
  CHECK(site.pipeline().counters().visits_submitted == 1);
  CHECK(site.pipeline().counters().processed_through == 0);  // B's visit is only in memory: nothing released
  CHECK(site.journal().stats().held_records == 2);

  site.flush_and_run();
  CHECK(site.pipeline().counters().processed_through == 2);  // B's visit is on disk now ...
  CHECK(site.pipeline().counters().consumed_through == 0);   // ... but A's open visit started in record 1
  CHECK(site.journal().stats().held_records == 2);

  site.store("entrance", {event(PresenceKind::departure, 1, 0, 300)});  // record 3: A leaves
  site.run();
  CHECK(site.pipeline().counters().consumed_through == 0);  // A's visit not durable yet
  site.flush_and_run();
  CHECK(site.pipeline().counters().processed_through == 3);
  CHECK(site.pipeline().counters().consumed_through == 3);
  CHECK(site.journal().stats().held_records == 0);
  CHECK(site.pipeline().idle_and_durable());
}

TEST_CASE("site stage: a restart replays open visits from their start and publishes nothing twice") {
  TempDir tmp("footfall-site-stage");
  {
    Site site(tmp.path());
    site.store("entrance", {event(PresenceKind::arrival, 1, 0, 0)});
    site.store("model-room", {event(PresenceKind::arrival, 2, 10, 10), event(PresenceKind::departure, 2, 10, 40)});
    site.flush_and_run();
    site.flush_and_run();
    CHECK(site.pipeline().counters().processed_through == 2);
  }  // stopped: A's visit is open, its arrival record stays in the journal
  {
    Site site(tmp.path());
    site.store("entrance", {event(PresenceKind::departure, 1, 0, 300)});
    site.flush_and_run();
    site.flush_and_run();
    const SiteCounters& c = site.pipeline().counters();
    CHECK(c.records_replayed == 2);
    CHECK(c.replay_suppressed == 3);  // arrivals of A and B, B's visit: published by the first run
    CHECK(c.visits_submitted == 1);   // A's
    CHECK(site.journal().stats().held_records == 0);
  }
  const auto items = outbox_items(tmp.path() / "outbox");
  REQUIRE(items.count("visits") == 1);
  const auto& visits = items.at("visits");
  REQUIRE(visits.size() == 2);
  CHECK(visits[0].at("visit_id") != visits[1].at("visit_id"));
  CHECK(visits[0].at("device") != visits[1].at("device"));
  // A's visit was rebuilt from its arrival in the first run's records: complete, not just its last event.
  CHECK(visits[1].at("arrival") == "2026-11-02T09:00:00.000Z");
  CHECK(visits[1].at("departure") == "2026-11-02T09:05:00.000Z");
  // Presence: two arrivals and two departures, each once.
  REQUIRE(items.count("presence") == 1);
  CHECK(items.at("presence").size() == 4);
}

TEST_CASE("site stage: a device two probes announced apart is one visit once linked; the other departs") {
  TempDir tmp("footfall-site-stage");
  const MacAddress first{{0xda, 0x00, 0x00, 0x00, 0x00, 0x01}};
  const MacAddress next{{0xda, 0x00, 0x00, 0x00, 0x00, 0x02}};
  auto linked = [](PresenceEvent e, const MacAddress& address, std::uint64_t device, const MacAddress& previous) {
    e.mac = address;
    e.randomized = true;
    e.device = device;
    e.previous_mac = previous;
    return e;
  };
  {
    Site site(tmp.path());
    site.store("entrance", {linked(event(PresenceKind::arrival, 0, 0, 0), first, 1, {})});                // record 1
    // The model room heard the phone's next address first, as a device of its own.
    site.store("model-room", {linked(event(PresenceKind::arrival, 0, 50, 50), next, 7, {})});            // record 2
    site.store("entrance", {linked(event(PresenceKind::update, 0, 0, 60), next, 1, first)});             // record 3
    site.flush_and_run();
    CHECK(site.pipeline().gateway_health().counters.at("merge.merged") == 1);
    CHECK(site.pipeline().counters().consumed_through == 0);  // the visit is open: its start stays
    site.store("model-room", {linked(event(PresenceKind::departure, 0, 50, 70), next, 7, {})});
    site.store("entrance", {linked(event(PresenceKind::departure, 0, 0, 300), next, 1, first)});
    site.flush_and_run();
    site.flush_and_run();
    CHECK(site.pipeline().counters().visits_submitted == 1);
    CHECK(site.journal().stats().held_records == 0);
  }
  const auto items = outbox_items(tmp.path() / "outbox");
  REQUIRE(items.count("visits") == 1);
  REQUIRE(items.at("visits").size() == 1);
  const json& visit = items.at("visits")[0];
  CHECK(visit.at("arrival") == "2026-11-02T09:00:00.000Z");
  CHECK(visit.at("departure") == "2026-11-02T09:05:00.000Z");
  CHECK(visit.at("probes").size() == 2);
  // Presence: both arrivals; the absorbed device departs at the merge, the visit's at its end.
  REQUIRE(items.count("presence") == 1);
  const auto& changes = items.at("presence");
  REQUIRE(changes.size() == 4);
  CHECK(changes[0].at("kind") == "arrival");
  CHECK(changes[1].at("kind") == "arrival");
  CHECK(changes[2].at("kind") == "departure");
  CHECK(changes[2].at("device") == changes[1].at("device"));
  CHECK(changes[2].at("at") == "2026-11-02T09:01:00.000Z");
  CHECK(changes[3].at("kind") == "departure");
  CHECK(changes[3].at("device") == changes[0].at("device"));
  CHECK(changes[3].at("device") == visit.at("device"));
}

TEST_CASE("site stage: opted-out devices are dropped before the merge and counted") {
  TempDir tmp("footfall-site-stage");
  std::ofstream(tmp.path() / "optout.txt") << "# asked on 2026-10-01\n00:1B:63:84:45:01\n";
  {
    Site site(tmp.path());
    site.store("entrance", {event(PresenceKind::arrival, 1, 0, 0), event(PresenceKind::arrival, 2, 0, 0)});
    site.store("entrance", {event(PresenceKind::departure, 1, 0, 60), event(PresenceKind::departure, 2, 0, 60)});
    site.flush_and_run();
    site.flush_and_run();
    const SiteCounters& c = site.pipeline().counters();
    CHECK(c.events_in == 4);
    CHECK(c.events_opted_out == 2);
    CHECK(site.pipeline().merger().counters().events_in == 2);
    CHECK(c.visits_submitted == 1);
    const auto health = site.pipeline().gateway_health();
    CHECK(health.drops.count("opt_out", "events") == 2);
    CHECK(health.drops.by_reason().at("opt_out.events") == 2);
  }
  CHECK(outbox_items(tmp.path() / "outbox").at("visits").size() == 1);
}

TEST_CASE("site stage: a full outbox stops the reading; nothing is lost once the broker drains it") {
  MosquittoBroker broker;
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  broker.stop();  // away at first: the outbox fills
  SubscriberOptions so;
  so.uri = broker.uri();
  TempDir tmp("footfall-site-stage");
  Site site(tmp.path(), broker.uri(), 16 * 1024, 1);
  constexpr int kDevices = 60;
  for (int i = 0; i < kDevices; ++i)
    site.store("entrance", {event(PresenceKind::arrival, static_cast<std::uint8_t>(i), i, i),
                            event(PresenceKind::departure, static_cast<std::uint8_t>(i), i, i + 30)});
  site.run();
  for (int i = 0; i < 20; ++i) site.pipeline().step(footfall::clock::wall_ns());
  const SiteCounters& c = site.pipeline().counters();
  CHECK(c.back_pressure_waits > 0);
  CHECK_FALSE(site.publisher().accepts_more());
  CHECK(c.records_read < static_cast<std::uint64_t>(kDevices));  // stopped reading
  CHECK(site.journal().stats().held_records > 0);               // the rest waits in the journal

  REQUIRE_MESSAGE(broker.start(), broker.log());
  TestSubscriber sub(so);
  REQUIRE_MESSAGE(sub.start(), sub.error());
  REQUIRE(wait_until([&] {
    site.pipeline().step(footfall::clock::wall_ns());
    site.publisher().flush(footfall::clock::wall_ns() / 1'000'000);
    return site.journal().stats().held_records == 0 && site.publisher().counters().outbox_records == 0;
  }, 60s));
  CHECK(c.visits_submitted == kDevices);
  std::set<std::string> ids;
  wait_until([&] {
    ids.clear();
    for (const auto& m : sub.messages()) {
      if (!m.topic.ends_with("/visits")) continue;
      const json batch = json::parse(m.payload);
      for (const json& v : batch.at("visits")) ids.insert(v.at("visit_id").get<std::string>());
    }
    return ids.size() == kDevices;
  }, 20s);
  CHECK(ids.size() == kDevices);
}

TEST_CASE("receive snapshot: who replays a capture, spool depth, reload counters, from the receive side's health") {
  ReceiveHealth health;
  ProbeHealth at_entrance(ClockOffset(8, 0));
  at_entrance.connected = true;
  at_entrance.replay = true;
  at_entrance.has_heartbeat = true;
  at_entrance.last_heartbeat_ns = 1'000'000'000;
  at_entrance.heartbeat.spool_records = 9;
  at_entrance.batches_stored = 3;
  at_entrance.events_stored = 40;
  health.probes.emplace("entrance", at_entrance);
  ProbeHealth at_room(ClockOffset(8, 0));
  at_room.connected = false;
  at_room.clock.add_sample(1'002'000'000, 1'000'000'000);  // gateway minus probe: -2 ms
  health.probes.emplace("model-room", at_room);
  health.config.ok = 2;
  health.config.failed = 1;
  health.config.last_error = "probes[1].token: empty";
  health.receive.hello_refused[static_cast<std::size_t>(wire::RefuseReason::bad_token)] = 2;
  health.receive.bad_frames[static_cast<std::size_t>(wire::BadReason::bad_magic)] = 1;
  health.receive.closed[static_cast<std::size_t>(CloseReason::peer_closed)] = 5;
  health.journal.unreadable_records = 4;
  const ReceiveSnapshot snap = receive_snapshot(health);
  CHECK(snap.replaying == std::set<std::string>{"entrance"});
  REQUIRE(snap.probes.size() == 2);
  const auto& entrance = snap.probes[0].probe == "entrance" ? snap.probes[0] : snap.probes[1];
  const auto& room = snap.probes[0].probe == "entrance" ? snap.probes[1] : snap.probes[0];
  CHECK(entrance.connected);
  CHECK(entrance.spool_depth_records == 9);
  CHECK_FALSE(room.connected);
  CHECK(room.clock_offset_us == 2000);
  CHECK(snap.counters.at("config.reloads_ok") == 2);
  CHECK(snap.counters.at("config.reloads_failed") == 1);
  CHECK(snap.counters.at("probe.entrance.events_stored") == 40);
  // Refused hellos (by policy) and bad frames (errors) are drops; closed sessions are counters.
  CHECK(snap.drops.by_reason() == std::map<std::string, std::uint64_t>{{"journal.unreadable_records", 4},
                                                                       {"receive.bad_frames.bad_magic", 1},
                                                                       {"receive.hello_refused.bad_token", 2}});
  CHECK(snap.drops.errors() == 5);
  CHECK(snap.counters.at("receive.sessions_closed.peer_closed") == 5);
  CHECK(snap.counters.at("receive.connections_accepted") == 0);
  CHECK_FALSE(snap.counters.contains("journal.unreadable_records"));
}
