// The receive side over real sockets on 127.0.0.1: hello checks, limits, hostile input, storage, acks,
// dedup across restarts, back-pressure, clock correction, many probes at once.
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <zstd.h>

#include <fstream>
#include <map>
#include <iterator>
#include <tuple>
#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "common/wire/frame.h"
#include "gateway/journal/corrected_batch.h"
#include "tests/support/gateway_harness.h"

using namespace footfall;
using namespace footfall::gateway;
using namespace footfall::gateway::testing;

namespace {

std::vector<JournalEntry> journal_entries(GatewayUnderTest& gw) {
  return gw.call([](ReceiveServer& s) {
    std::vector<JournalEntry> all;
    JournalEntry e;
    std::uint64_t after = 0;
    while (auto seq = s.journal().read_next(after, e)) {
      after = *seq;
      JournalEntry copy = e;
      const auto offset = e.frame.data() - e.payload.data();
      copy.frame = std::span<const std::uint8_t>(copy.payload).subspan(static_cast<std::size_t>(offset), e.frame.size());
      all.push_back(std::move(copy));
    }
    return all;
  });
}

constexpr std::int64_t kHour = 3600LL * 1'000'000'000;

}  // namespace

TEST_CASE("hello: the right token is accepted and acked_through starts at 0") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  const auto t0 = now_ns();
  const auto reply = probe.hello("entrance", "s3cret", t0);
  REQUIRE(reply);
  CHECK(reply->status == wire::HelloStatus::accepted);
  CHECK(reply->reason == wire::RefuseReason::none);
  CHECK(reply->acked_through == 0);
  CHECK(reply->gateway_clock_ns >= t0);
  CHECK(reply->gateway_clock_ns < t0 + 5'000'000'000);
  CHECK(ReceiveCounters::get(gw.counters().sessions_established) == 1);
}

TEST_CASE("hello: bad token and unknown probe are refused, counted, closed, and nothing is stored") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  std::mt19937 rng(1);
  {
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    REQUIRE(probe.send(wire::Hello{"entrance", "wrong", "x", now_ns()}));
    REQUIRE(probe.send(make_batch(1, 5, now_ns(), rng)));  // sent before reading the refusal: must be ignored
    const auto reply = probe.receive_as<wire::HelloReply>();
    REQUIRE(reply);
    CHECK(reply->status == wire::HelloStatus::refused);
    CHECK(reply->reason == wire::RefuseReason::bad_token);
    CHECK(probe.wait_closed());
  }
  {
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    const auto reply = probe.hello("loading-bay", "s3cret", now_ns());
    REQUIRE(reply);
    CHECK(reply->status == wire::HelloStatus::refused);
    CHECK(reply->reason == wire::RefuseReason::unknown_probe);
    CHECK(probe.wait_closed());
  }
  CHECK(eventually([&] { return gw.counters().refused(wire::RefuseReason::bad_token) == 1; }));
  CHECK(gw.counters().refused(wire::RefuseReason::unknown_probe) == 1);
  CHECK(ReceiveCounters::get(gw.counters().batches_received) == 0);
  CHECK(journal_entries(gw).empty());
}

TEST_CASE("a frame before the hello closes the connection, counted") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  std::mt19937 rng(2);
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  REQUIRE(probe.send(make_batch(1, 3, now_ns(), rng)));
  CHECK_FALSE(probe.receive(3000ms).has_value());
  CHECK(probe.wait_closed());
  CHECK(eventually([&] { return gw.counters().closes(CloseReason::frame_before_hello) == 1; }));
  CHECK(journal_entries(gw).empty());
}

TEST_CASE("a batch before the hello is refused from its header: its body is never read, let alone decompressed") {
  TempDir dir;
  auto config = test_config(dir.path());
  config.hello_timeout_s = 60;  // a gateway that waited for the body would still be waiting when the test ends
  GatewayUnderTest gw(config);
  {
    // Only the header of a batch announcing 900 KiB: the body never comes, and is not needed to refuse it.
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    const std::vector<std::uint8_t> header{0x46, 0x57, wire::kWireVersion, 0x03, 0x00, 0x10, 0x0e, 0x00};
    REQUIRE(probe.send_bytes(header));
    CHECK(probe.wait_closed());
    CHECK(eventually([&] { return gw.counters().closes(CloseReason::frame_before_hello) == 1; }));
    CHECK(gw.counters().bad(wire::BadReason::unexpected_type) == 1);
  }
  {
    // A whole 16 MiB zstd bomb sent first: refused as frame_before_hello, not from its stated size.
    const std::vector<std::uint8_t> zeros(16u << 20, 0);
    std::vector<std::uint8_t> bomb(ZSTD_compressBound(zeros.size()));
    const std::size_t n = ZSTD_compress(bomb.data(), bomb.size(), zeros.data(), zeros.size(), 19);
    REQUIRE_FALSE(ZSTD_isError(n));
    bomb.resize(n);
    std::vector<std::uint8_t> frame;
    wire::append_frame(frame, wire::MessageType::batch, [&](std::vector<std::uint8_t>& o) {
      for (int i = 0; i < 8; ++i) o.push_back(i == 0 ? 1 : 0);  // seq 1
      o.push_back(wire::kBatchCodecZstd);
      o.insert(o.end(), bomb.begin(), bomb.end());
    });
    MESSAGE("zstd bomb frame: " << frame.size() << " bytes stating " << zeros.size() << " decompressed");
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    REQUIRE(probe.send_bytes(frame));
    CHECK(probe.wait_closed());
    CHECK(eventually([&] { return gw.counters().closes(CloseReason::frame_before_hello) == 2; }));
  }
  // Nothing was judged from a body: no decompression refusal, no batch received, nothing stored.
  CHECK(gw.counters().bad(wire::BadReason::unexpected_type) == 2);
  CHECK(gw.counters().bad(wire::BadReason::decompressed_too_large) == 0);
  CHECK(gw.counters().bad(wire::BadReason::crc_mismatch) == 0);
  CHECK(ReceiveCounters::get(gw.counters().batches_received) == 0);
  CHECK(gw.counters().closes(CloseReason::hello_timeout) == 0);
  CHECK(journal_entries(gw).empty());
}

TEST_CASE("an oversize frame header closes the connection before the body is buffered") {
  TempDir dir;
  auto config = test_config(dir.path());
  config.max_frame_bytes = 4096;
  GatewayUnderTest gw(config);
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
  // Header of a batch announcing a 1 MiB body; the body never needs to come.
  const std::vector<std::uint8_t> header{0x46, 0x57, 0x01, 0x03, 0x00, 0x00, 0x10, 0x00};
  REQUIRE(probe.send_bytes(header));
  CHECK(probe.wait_closed());
  CHECK(eventually([&] { return gw.counters().bad(wire::BadReason::frame_too_large) == 1; }));
  CHECK(eventually([&] { return gw.counters().closes(CloseReason::bad_frame) == 1; }));
}

TEST_CASE("a zstd bomb is refused from its stated size and closes the connection") {
  TempDir dir;
  auto config = test_config(dir.path());
  config.max_decompressed_bytes = 1u << 20;
  GatewayUnderTest gw(config);
  // 64 MiB of zeros compress to a few KiB that state their 64 MiB size.
  const std::vector<std::uint8_t> zeros(64u << 20, 0);
  std::vector<std::uint8_t> bomb(ZSTD_compressBound(zeros.size()));
  const std::size_t n = ZSTD_compress(bomb.data(), bomb.size(), zeros.data(), zeros.size(), 3);
  REQUIRE_FALSE(ZSTD_isError(n));
  bomb.resize(n);
  REQUIRE(bomb.size() < 64u << 10);
  std::vector<std::uint8_t> frame;
  wire::append_frame(frame, wire::MessageType::batch, [&](std::vector<std::uint8_t>& o) {
    for (int i = 0; i < 8; ++i) o.push_back(i == 0 ? 1 : 0);  // seq 1
    o.push_back(wire::kBatchCodecZstd);
    o.insert(o.end(), bomb.begin(), bomb.end());
  });
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
  REQUIRE(probe.send_bytes(frame));
  CHECK(probe.wait_closed());
  CHECK(eventually([&] { return gw.counters().bad(wire::BadReason::decompressed_too_large) == 1; }));
  CHECK(journal_entries(gw).empty());
}

TEST_CASE("garbage closes the connection with the reason counted") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(probe.send_bytes(std::span(reinterpret_cast<const std::uint8_t*>(garbage.data()), garbage.size())));
  CHECK(probe.wait_closed());
  CHECK(eventually([&] { return gw.counters().bad(wire::BadReason::bad_magic) == 1; }));
  CHECK(eventually([&] { return gw.counters().closes(CloseReason::bad_frame) == 1; }));
}

TEST_CASE("a batch is stored durably before its ack, and a duplicate is acked again but stored once") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  std::mt19937 rng(3);
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
  const wire::Batch batch = make_batch(1, 40, now_ns(), rng);
  std::vector<std::uint8_t> frame;
  wire::Encoder encoder;
  REQUIRE_FALSE(encoder.encode(batch, frame));
  REQUIRE(probe.send_bytes(frame));
  const auto ack = probe.receive_as<wire::Ack>();
  REQUIRE(ack);
  CHECK(ack->cumulative == 1);
  CHECK(ack->ranges.empty());
  // When the ack arrives the frame is already in a journal file on disk, synced by a commit.
  CHECK(ReceiveCounters::get(gw.counters().commits) >= 1);
  std::string on_disk;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path()))
    if (f.path().extension() == ".spool") on_disk += footfall::testing::slurp(f.path());
  CHECK(on_disk.find(std::string(frame.begin(), frame.end())) != std::string::npos);

  REQUIRE(probe.send_bytes(frame));  // the probe never saw the ack: it resends
  const auto again = probe.receive_as<wire::Ack>();
  REQUIRE(again);
  CHECK(again->cumulative == 1);
  CHECK(ReceiveCounters::get(gw.counters().batches_stored) == 1);
  CHECK(ReceiveCounters::get(gw.counters().batches_duplicate) == 1);
  const auto entries = journal_entries(gw);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].meta.probe_id == "entrance");
  CHECK(entries[0].meta.probe_seq == 1);
  wire::Decoder decoder;
  wire::Batch stored;
  REQUIRE_FALSE(corrected_batch(entries[0], decoder, stored));
  CHECK(stored == batch);  // clock within tolerance: times untouched
}

TEST_CASE("selective acks: a gap is acked by range and acked_through stops below it") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  std::mt19937 rng(4);
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
  for (std::uint64_t seq : {1, 2, 4}) REQUIRE(probe.send(make_batch(seq, 3, now_ns(), rng)));
  wire::Ack last;
  REQUIRE(eventually([&] {
    if (auto a = probe.receive_as<wire::Ack>(100ms)) last = *a;
    return last.covers(4) && last.covers(2);
  }));
  CHECK(last.cumulative == 2);
  REQUIRE(last.ranges.size() == 1);
  CHECK(last.ranges[0] == wire::SeqRange{4, 4});
  CHECK_FALSE(last.covers(3));
  TestProbe again;
  REQUIRE(again.connect(gw.port()));
  const auto reply = again.hello("entrance", "s3cret", now_ns());
  REQUIRE(reply);
  CHECK(reply->acked_through == 2);
}

TEST_CASE("restart on the same journal: acked_through survives and resends count once") {
  TempDir dir;
  std::mt19937 rng(5);
  std::vector<wire::Batch> batches;
  for (std::uint64_t seq = 1; seq <= 6; ++seq) batches.push_back(make_batch(seq, 10, now_ns(), rng));
  {
    GatewayUnderTest gw(test_config(dir.path()));
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
    for (std::size_t i = 0; i < 5; ++i) REQUIRE(probe.send(batches[i]));
    wire::Ack last;
    REQUIRE(eventually([&] {
      if (auto a = probe.receive_as<wire::Ack>(100ms)) last = *a;
      return last.cumulative == 5;
    }));
  }
  GatewayUnderTest gw(test_config(dir.path()));
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  const auto reply = probe.hello("entrance", "s3cret", now_ns());
  REQUIRE(reply);
  CHECK(reply->acked_through == 5);
  for (std::size_t i = 2; i < 6; ++i) REQUIRE(probe.send(batches[i]));  // 3..5 again, and 6
  wire::Ack last;
  REQUIRE(eventually([&] {
    if (auto a = probe.receive_as<wire::Ack>(100ms)) last = *a;
    return last.cumulative == 6;
  }));
  CHECK(ReceiveCounters::get(gw.counters().batches_stored) == 1);
  CHECK(eventually([&] { return ReceiveCounters::get(gw.counters().batches_duplicate) == 3; }));
  const auto entries = journal_entries(gw);
  REQUIRE(entries.size() == 6);
  for (std::size_t i = 0; i < entries.size(); ++i) CHECK(entries[i].meta.probe_seq == i + 1);
}

TEST_CASE("a new spool under the same probe id starts a sequence space of its own; both spools' batches stay") {
  TempDir dir;
  std::mt19937 rng(11);
  constexpr std::uint64_t kOldSpool = 0x1111111111111111ull;
  constexpr std::uint64_t kNewSpool = 0x2222222222222222ull;
  auto send_all = [&](TestProbe& probe, std::uint64_t through) {
    for (std::uint64_t seq = 1; seq <= through; ++seq) REQUIRE(probe.send(make_batch(seq, 4, now_ns(), rng)));
    wire::Ack last;
    REQUIRE(eventually([&] {
      if (auto a = probe.receive_as<wire::Ack>(100ms)) last = *a;
      return last.cumulative == through;
    }));
  };
  {
    GatewayUnderTest gw(test_config(dir.path()));
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    const auto reply = probe.hello("entrance", "s3cret", now_ns(), kOldSpool);
    REQUIRE(reply);
    CHECK(reply->acked_through == 0);
    send_all(probe, 8);
    CHECK(ReceiveCounters::get(gw.counters().spools_new) == 1);
  }
  // The gateway restarted meanwhile; the probe comes back with a new spool numbered from 1.
  GatewayUnderTest gw(test_config(dir.path()));
  {
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    const auto reply = probe.hello("entrance", "s3cret", now_ns(), kNewSpool);
    REQUIRE(reply);
    CHECK(reply->acked_through == 0);  // not the old spool's 8
    send_all(probe, 5);
  }
  CHECK(ReceiveCounters::get(gw.counters().spools_new) == 1);
  CHECK(ReceiveCounters::get(gw.counters().batches_stored) == 5);
  CHECK(ReceiveCounters::get(gw.counters().batches_duplicate) == 0);
  {
    // The old spool again (say its card came back): its space is still there.
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    const auto reply = probe.hello("entrance", "s3cret", now_ns(), kOldSpool);
    REQUIRE(reply);
    CHECK(reply->acked_through == 8);
  }
  {
    // A probe of before identities (spool 0) has a space of its own too: the behaviour of before.
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    const auto reply = probe.hello("entrance", "s3cret", now_ns(), 0);
    REQUIRE(reply);
    CHECK(reply->acked_through == 0);
  }
  CHECK(ReceiveCounters::get(gw.counters().spools_new) == 1);  // spool 0 is no identity: not counted
  const auto entries = journal_entries(gw);
  std::map<std::uint64_t, std::vector<std::uint64_t>> seqs_by_spool;
  for (const auto& e : entries) seqs_by_spool[e.meta.spool_id].push_back(e.meta.probe_seq);
  CHECK(seqs_by_spool == std::map<std::uint64_t, std::vector<std::uint64_t>>{
                             {kOldSpool, {1, 2, 3, 4, 5, 6, 7, 8}}, {kNewSpool, {1, 2, 3, 4, 5}}});
}

TEST_CASE("journal full: no ack, nothing dropped; consuming frees space and the waiting batch is acked") {
  TempDir dir;
  auto config = test_config(dir.path());
  config.journal_max_mb = 1;
  config.max_frame_bytes = 64u << 10;
  GatewayUnderTest gw(config);
  std::mt19937_64 rng(6);
  std::mt19937 rng32(6);
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
  // Random fingerprints barely compress: about 40 KiB per batch, so about 25 fill the journal.
  auto heavy = [&](std::uint64_t seq) {
    auto b = make_batch(seq, 1500, now_ns(), rng32);
    for (auto& e : b.body.events) e.fingerprint = rng();
    return b;
  };
  std::uint64_t seq = 0;
  std::uint64_t unacked_seq = 0;
  while (seq < 100) {
    ++seq;
    REQUIRE(probe.send(heavy(seq)));
    if (!eventually([&] { return gw.counters().get(gw.counters().batches_waiting_full) > 0 || probe.available() > 0; }))
      FAIL("neither an ack nor back-pressure");
    if (ReceiveCounters::get(gw.counters().batches_waiting_full) > 0) {
      unacked_seq = seq;
      break;
    }
    const auto ack = probe.receive_as<wire::Ack>();
    REQUIRE(ack);
    REQUIRE(ack->cumulative == seq);
  }
  REQUIRE(unacked_seq > 5);
  CHECK(probe.available() == 0);  // the waiting batch is not acked
  const auto held_before = journal_entries(gw).size();
  CHECK(held_before == unacked_seq - 1);
  const auto health = gw.call([](ReceiveServer& s) { return to_json(s.health()); });
  CHECK(health["journal"]["full"] == true);

  // The next stage publishes and trims the oldest half: the waiting batch goes in and is acked.
  gw.call([&](ReceiveServer& s) {
    REQUIRE_FALSE(s.journal().consume_through(held_before / 2));
    s.journal_space_freed();
    return 0;
  });
  const auto ack = probe.receive_as<wire::Ack>();
  REQUIRE(ack);
  CHECK(ack->cumulative == unacked_seq);
  const auto entries = journal_entries(gw);
  REQUIRE_FALSE(entries.empty());
  CHECK(entries.back().meta.probe_seq == unacked_seq);
  CHECK(std::count_if(entries.begin(), entries.end(), [&](const JournalEntry& e) { return e.meta.probe_seq == unacked_seq; }) == 1);
}

TEST_CASE("a consumed (trimmed) batch resent after a restart still counts once") {
  TempDir dir;
  std::mt19937 rng(7);
  const auto b1 = make_batch(1, 5, now_ns(), rng);
  const auto b2 = make_batch(2, 5, now_ns(), rng);
  {
    GatewayUnderTest gw(test_config(dir.path()));
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
    REQUIRE(probe.send(b1));
    REQUIRE(probe.send(b2));
    wire::Ack last;
    REQUIRE(eventually([&] {
      if (auto a = probe.receive_as<wire::Ack>(100ms)) last = *a;
      return last.cumulative == 2;
    }));
    gw.call([](ReceiveServer& s) { return s.journal().consume_through(2).message(); });
    CHECK(journal_entries(gw).empty());
  }
  GatewayUnderTest gw(test_config(dir.path()));
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  const auto reply = probe.hello("entrance", "s3cret", now_ns());
  REQUIRE(reply);
  CHECK(reply->acked_through == 2);
  REQUIRE(probe.send(b2));
  const auto ack = probe.receive_as<wire::Ack>();
  REQUIRE(ack);
  CHECK(ack->cumulative == 2);
  CHECK(ReceiveCounters::get(gw.counters().batches_duplicate) == 1);
  CHECK(journal_entries(gw).empty());
}

TEST_CASE("a probe clock 3 hours behind: offset estimated, event times corrected, offset in health") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  std::mt19937 rng(8);
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  const std::int64_t skew = -3 * kHour;  // probe clock = true time - 3 h
  REQUIRE(probe.hello("entrance", "s3cret", now_ns() + skew));
  wire::Heartbeat hb;
  hb.probe_clock_ns = now_ns() + skew;
  hb.capture_received = 1234;
  REQUIRE(probe.send(hb));
  const std::int64_t probe_time = now_ns() + skew;
  const auto batch = make_batch(1, 6, probe_time, rng);
  REQUIRE(probe.send(batch));
  REQUIRE(probe.receive_as<wire::Ack>());

  const auto entries = journal_entries(gw);
  REQUIRE(entries.size() == 1);
  const std::int64_t applied = entries[0].meta.correction_ns;
  CHECK(applied > 3 * kHour - 100'000'000);  // network delay only adds; loopback is far below 100 ms
  CHECK(applied < 3 * kHour + 1'000'000'000);
  wire::Decoder decoder;
  wire::Batch corrected;
  REQUIRE_FALSE(corrected_batch(entries[0], decoder, corrected));
  REQUIRE(corrected.body.events.size() == batch.body.events.size());
  for (std::size_t i = 0; i < batch.body.events.size(); ++i) {
    CHECK(corrected.body.events[i].ts_ns == batch.body.events[i].ts_ns + applied);
    CHECK(corrected.body.events[i].first_seen_ns == batch.body.events[i].first_seen_ns + applied);
    CHECK(corrected.body.events[i].dwell_s == batch.body.events[i].dwell_s);
  }
  // On the gateway's clock the events happened about now.
  CHECK(std::abs(corrected.body.events[0].ts_ns - now_ns()) < 5'000'000'000);

  const auto health = gw.call([](ReceiveServer& s) { return to_json(s.health()); });
  const auto& clock = health["probes"]["entrance"]["clock"];
  CHECK(clock["samples"] == 2);
  CHECK(clock["correction_ns"].get<std::int64_t>() == applied);
  CHECK(health["probes"]["entrance"]["heartbeat"]["capture_received"] == 1234);
}

TEST_CASE("a small offset is not corrected, and a replaying probe (clock 0) never is") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  std::mt19937 rng(9);
  {
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    REQUIRE(probe.hello("entrance", "s3cret", now_ns() - 500'000'000));  // 0.5 s: within tolerance
    REQUIRE(probe.send(make_batch(1, 2, now_ns(), rng)));
    REQUIRE(probe.receive_as<wire::Ack>());
  }
  TestProbe replay;
  REQUIRE(replay.connect(gw.port()));
  REQUIRE(replay.hello("food-court", "t0ken", 0));
  const std::int64_t capture_time = 1'500'000'000'000'000'000;  // 2017: a replayed capture
  const auto batch = make_batch(1, 4, capture_time, rng);
  wire::Heartbeat hb;  // probe_clock 0 too
  REQUIRE(replay.send(hb));
  REQUIRE(replay.send(batch));
  REQUIRE(replay.receive_as<wire::Ack>());
  const auto entries = journal_entries(gw);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].meta.correction_ns == 0);
  CHECK(entries[0].meta.offset_known);
  CHECK(entries[1].meta.replay);
  CHECK(entries[1].meta.correction_ns == 0);
  wire::Decoder decoder;
  wire::Batch stored;
  REQUIRE_FALSE(corrected_batch(entries[1], decoder, stored));
  CHECK(stored.body.events.front().ts_ns == batch.body.events.front().ts_ns);
  const auto health = gw.call([](ReceiveServer& s) { return to_json(s.health()); });
  CHECK(health["probes"]["food-court"]["clock"]["replay"] == true);
  CHECK(health["probes"]["food-court"]["clock"]["offset_ns"].is_null());
}

TEST_CASE("a second session of the same probe replaces the first") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  TestProbe old_session;
  REQUIRE(old_session.connect(gw.port()));
  REQUIRE(old_session.hello("entrance", "s3cret", now_ns()));
  TestProbe new_session;
  REQUIRE(new_session.connect(gw.port()));
  const auto reply = new_session.hello("entrance", "s3cret", now_ns());
  REQUIRE(reply);
  CHECK(reply->status == wire::HelloStatus::accepted);
  CHECK(old_session.wait_closed());
  CHECK(eventually([&] { return gw.counters().closes(CloseReason::replaced) == 1; }));
  std::mt19937 rng(10);
  REQUIRE(new_session.send(make_batch(1, 2, now_ns(), rng)));
  CHECK(new_session.receive_as<wire::Ack>());
}

TEST_CASE("reload: a removed probe and a changed token end their sessions; listed probes keep theirs") {
  TempDir dir;
  GatewayConfig config = test_config(dir.path());
  config.probes.push_back({"lobby", "l0bby", "lobby"});
  GatewayUnderTest gw(config);
  TestProbe entrance, food, lobby;
  for (const auto& [p, id, token] : {std::tuple{&entrance, "entrance", "s3cret"}, std::tuple{&food, "food-court", "t0ken"},
                               std::tuple{&lobby, "lobby", "l0bby"}}) {
    REQUIRE(p->connect(gw.port()));
    REQUIRE(p->hello(id, token, now_ns())->status == wire::HelloStatus::accepted);
  }
  GatewayConfig next = config;
  next.probes = {{"entrance", "s3cret", "entrance"}, {"food-court", "new-t0ken", "food"}, {"cafe", "caf3", "cafe"}};
  gw.call([&](ReceiveServer& s) {
    s.reload(next, nullptr);
    return 0;
  });
  CHECK(lobby.wait_closed());
  CHECK(food.wait_closed());
  CHECK(gw.counters().closes(CloseReason::probe_removed) == 1);
  CHECK(gw.counters().closes(CloseReason::token_changed) == 1);
  std::mt19937 rng(12);
  REQUIRE(entrance.send(make_batch(1, 2, now_ns(), rng)));
  CHECK(entrance.receive_as<wire::Ack>());  // the same session, after the reload

  auto hello = [&](const std::string& id, const std::string& token) {
    TestProbe p;
    REQUIRE(p.connect(gw.port()));
    const auto reply = p.hello(id, token, now_ns());
    REQUIRE(reply);
    return *reply;
  };
  CHECK(hello("lobby", "l0bby").reason == wire::RefuseReason::unknown_probe);
  CHECK(hello("food-court", "t0ken").reason == wire::RefuseReason::bad_token);
  CHECK(hello("food-court", "new-t0ken").status == wire::HelloStatus::accepted);
  CHECK(hello("cafe", "caf3").status == wire::HelloStatus::accepted);
  const auto health = gw.call([](ReceiveServer& s) { return to_json(s.health()); });
  CHECK(health["probes"]["cafe"]["zone"] == "cafe");
  CHECK(health["receive"]["sessions_closed"]["probe_removed"] == 1);
}

TEST_CASE("deadlines: no hello in time closes the connection; max_connections refuses the extra one") {
  TempDir dir;
  auto config = test_config(dir.path());
  config.hello_timeout_s = 1;
  config.max_connections = 2;
  GatewayUnderTest gw(config);
  TestProbe silent;
  REQUIRE(silent.connect(gw.port()));
  TestProbe second;
  REQUIRE(second.connect(gw.port()));
  REQUIRE(eventually([&] { return ReceiveCounters::get(gw.counters().connections_accepted) == 2; }));
  TestProbe third;
  REQUIRE(third.connect(gw.port()));
  CHECK(third.wait_closed());
  CHECK(eventually([&] { return ReceiveCounters::get(gw.counters().connections_refused_max) == 1; }));
  CHECK(silent.wait_closed(5000ms));
  CHECK(eventually([&] { return gw.counters().closes(CloseReason::hello_timeout) == 2; }));
}

TEST_CASE("out of file descriptors: a waiting connection is accepted with the spare one and closed, and counted") {
  TempDir dir;
  GatewayUnderTest gw(test_config(dir.path()));
  // Keep only one descriptor free: the limit a little above the highest one open, the rest filled.
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  int highest = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    highest = std::max(highest, std::stoi(entry.path().filename().string()));
  const rlimit low{static_cast<rlim_t>(highest + 16), before.rlim_max};
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  std::vector<footfall::UniqueFd> filler;
  for (footfall::UniqueFd fd(::open("/dev/null", O_RDONLY)); fd.valid(); fd = footfall::UniqueFd(::open("/dev/null", O_RDONLY)))
    filler.push_back(std::move(fd));
  filler.pop_back();
  // The client takes the last one (a plain socket: no event loop to make); the gateway then has none to accept.
  footfall::UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const bool client_ok = client.valid();
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(gw.port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool connected = client_ok && ::connect(client.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
  const bool refused = eventually([&] { return ReceiveCounters::get(gw.counters().connections_refused_fds) == 1; });
  char byte = 0;
  const bool closed = connected && ::recv(client.get(), &byte, 1, 0) == 0;  // EOF: closed, not left waiting
  filler.clear();
  ::setrlimit(RLIMIT_NOFILE, &before);
  REQUIRE(client_ok);
  REQUIRE(connected);
  CHECK(refused);
  CHECK(closed);
  CHECK(ReceiveCounters::get(gw.counters().connections_accepted) == 0);
  // With descriptors back, the next connection is served as usual.
  TestProbe probe;
  REQUIRE(probe.connect(gw.port()));
  const auto reply = probe.hello("entrance", "s3cret", now_ns());
  REQUIRE(reply);
  CHECK(reply->status == wire::HelloStatus::accepted);
}

TEST_CASE("200 concurrent probe connections each sending a few batches are all acked") {
  TempDir dir;
  auto config = test_config(dir.path());
  constexpr int kProbes = 200;
  constexpr std::uint64_t kBatches = 4;
  config.probes.clear();
  for (int i = 0; i < kProbes; ++i) config.probes.push_back({"p" + std::to_string(i), "tok" + std::to_string(i), "z"});
  GatewayUnderTest gw(config);
  std::vector<std::unique_ptr<TestProbe>> probes;
  for (int i = 0; i < kProbes; ++i) {
    probes.push_back(std::make_unique<TestProbe>());
    REQUIRE(probes.back()->connect(gw.port()));
  }
  REQUIRE(eventually([&] { return ReceiveCounters::get(gw.counters().connections_open) == kProbes; }));
  std::atomic<int> all_acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = t; i < kProbes; i += 4) {
        auto& p = *probes[static_cast<std::size_t>(i)];
        if (!p.send(wire::Hello{"p" + std::to_string(i), "tok" + std::to_string(i), "t", now_ns()})) return;
        for (std::uint64_t seq = 1; seq <= kBatches; ++seq) p.send(make_batch(seq, 50, now_ns(), rng));
      }
      for (int i = t; i < kProbes; i += 4) {
        auto& p = *probes[static_cast<std::size_t>(i)];
        if (!p.receive_as<wire::HelloReply>()) return;
        wire::Ack last;
        while (last.cumulative < kBatches) {
          auto a = p.receive_as<wire::Ack>(10000ms);
          if (!a) return;
          last = *a;
        }
        ++all_acked;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(all_acked == kProbes);
  CHECK(ReceiveCounters::get(gw.counters().batches_stored) == kProbes * kBatches);
  CHECK(ReceiveCounters::get(gw.counters().events_stored) == kProbes * kBatches * 50);
  // Group commit: far fewer fdatasyncs than batches.
  MESSAGE("commits for " << kProbes * kBatches << " batches: " << ReceiveCounters::get(gw.counters().commits));
  CHECK(ReceiveCounters::get(gw.counters().commits) < kProbes * kBatches);
  CHECK(journal_entries(gw).size() == kProbes * kBatches);
}

TEST_CASE("stop writes health.json with probes, counters and the journal") {
  TempDir dir;
  {
    GatewayUnderTest gw(test_config(dir.path()));
    TestProbe probe;
    REQUIRE(probe.connect(gw.port()));
    REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
    std::mt19937 rng(11);
    REQUIRE(probe.send(make_batch(1, 7, now_ns(), rng)));
    REQUIRE(probe.receive_as<wire::Ack>());
  }
  const auto doc = nlohmann::json::parse(footfall::testing::slurp(dir.path() / "health.json"));
  CHECK(doc["site"] == "mall-1");
  CHECK(doc["probes"]["entrance"]["events_stored"] == 7);
  CHECK(doc["probes"]["entrance"]["acked_through"] == 1);
  CHECK(doc["probes"]["entrance"]["connected"] == false);
  CHECK(doc["probes"]["food-court"]["sessions"] == 0);
  CHECK(doc["receive"]["batches_stored"] == 1);
  CHECK(doc["journal"]["held_records"] == 1);
}
