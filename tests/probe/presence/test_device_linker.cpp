// Device linking inside the presence tracker, with synthetic sightings: which addresses become one device.
#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <vector>

#include "probe/presence/presence_tracker.h"
#include "tests/probe/presence/presence_checks.h"

using footfall::MacAddress;
using footfall::PresenceEvent;
using footfall::PresenceKind;
using footfall::Sighting;
using footfall::SightingKind;
using footfall::probe::presence::DepartureCause;
using footfall::probe::presence::PresenceConfig;
using footfall::probe::presence::PresenceSink;
using footfall::probe::presence::PresenceTracker;
using footfall::probe::presence::testing::check_balanced;
using footfall::probe::presence::testing::no_updates;

namespace {
constexpr std::int64_t sec = 1'000'000'000;
constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t B = 1'700'000'040 * sec;
constexpr std::uint64_t iphone = 0x09e8'99ba'dc2b'b4bcULL;  // one model's fingerprint
constexpr std::uint64_t pixel = 0x5571'd7bc'8d67'920eULL;

struct EventLog : PresenceSink {
  std::vector<PresenceEvent> all;
  void on_presence(const PresenceEvent& e, DepartureCause) override { all.push_back(e); }
  [[nodiscard]] std::size_t count(PresenceKind k) const {
    std::size_t n = 0;
    for (const auto& e : all) n += e.kind == k;
    return n;
  }
  [[nodiscard]] std::set<std::uint64_t> devices() const {
    std::set<std::uint64_t> d;
    for (const auto& e : all) d.insert(e.device);
    return d;
  }
};

MacAddress mac(std::uint64_t v) {
  MacAddress m;
  for (std::size_t i = 0; i < 6; ++i) m.octets[i] = static_cast<std::uint8_t>(v >> (40 - 8 * i));
  return m;
}

// A randomised address (locally administered bit set) numbered n.
std::uint64_t random_address(std::uint64_t n) { return 0xda00'0000'0000ULL | n; }

Sighting probe(std::uint64_t addr, std::int64_t ts, std::int8_t rssi, std::uint16_t seq, std::uint64_t fp = iphone) {
  Sighting s;
  s.ts_ns = ts;
  s.mac = mac(addr);
  s.kind = SightingKind::probe_req;
  s.rssi_dbm = rssi;
  s.has_rssi = true;
  s.freq_mhz = 2437;
  s.seq = seq;
  s.fingerprint = fp;
  return s;
}

}  // namespace

TEST_CASE("an address change continues the device's presence: no departure, no second arrival") {
  PresenceTracker t(no_updates());
  EventLog log;
  // One phone: a burst every 40 s, a new random address each burst, steady signal, random sequence numbers.
  const std::uint16_t seqs[] = {100, 3000, 1700, 520, 2900};
  for (std::uint64_t burst = 0; burst < 5; ++burst)
    for (int f = 0; f < 3; ++f)
      t.on_sighting(probe(random_address(burst), B + static_cast<std::int64_t>(burst) * 40 * sec + f * 20 * ms, -50,
                          static_cast<std::uint16_t>(seqs[burst] + f)),
                    log);
  CHECK(log.count(PresenceKind::arrival) == 1);
  CHECK(log.count(PresenceKind::departure) == 0);
  CHECK(t.size() == 1);
  CHECK(t.counters().link.linked_signal == 4);
  t.flush(log);
  REQUIRE(log.all.size() == 2);
  const PresenceEvent& d = log.all.back();
  CHECK(d.device == log.all.front().device);
  CHECK(d.device != 0);
  CHECK(d.mac == mac(random_address(4)));
  CHECK(d.previous_mac == mac(random_address(3)));
  CHECK(d.addresses == 5);
  CHECK(d.frames == 15);
  CHECK(d.first_seen_ns == B);
  CHECK(d.last_seen_ns == B + 160 * sec + 40 * ms);
  check_balanced(t);
}

TEST_CASE("fixed (globally administered) addresses are never merged, and never a link target") {
  PresenceTracker t(no_updates());
  EventLog log;
  t.on_sighting(probe(0x001b'6300'0001ULL, B, -50, 10), log);
  t.on_sighting(probe(0x001b'6300'0002ULL, B + sec, -50, 11), log);  // same model, seq continues: still two
  t.on_sighting(probe(random_address(1), B + 2 * sec, -50, 12), log);  // random: no fixed device to join
  CHECK(log.count(PresenceKind::arrival) == 3);
  CHECK(log.devices().size() == 3);
  CHECK(t.counters().link.linked_sequence + t.counters().link.linked_signal == 0);
  check_balanced(t);
}

namespace {
// Phone A near (-40 dBm) then phone B far (-80 dBm), 20 frames each on one address, steady: their own
// spread narrows the gate to max(12 dB, 8 x spread), so B cannot join A. Returns A's and B's devices.
std::pair<std::uint64_t, std::uint64_t> near_and_far(PresenceTracker& t, EventLog& log) {
  for (int i = 0; i < 20; ++i)
    t.on_sighting(probe(random_address(1), B + i * 100 * ms, static_cast<std::int8_t>(-40 - i % 2),
                        static_cast<std::uint16_t>(100 + i)),
                  log);
  for (int i = 0; i < 20; ++i)
    t.on_sighting(probe(random_address(2), B + 3 * sec + i * 100 * ms, static_cast<std::int8_t>(-80 - i % 2),
                        static_cast<std::uint16_t>(2000 + i)),
                  log);
  REQUIRE(log.count(PresenceKind::arrival) == 2);
  CHECK(t.counters().link.refused_signal == 1);
  return {log.all[0].device, log.all[1].device};
}
}  // namespace

TEST_CASE("two phones of one model: a continuing sequence number picks the phone whatever the signal") {
  PresenceTracker t(no_updates());
  EventLog log;
  const auto [a, b] = near_and_far(t, log);
  // A's next address continues its counter (119 -> 120) although its signal now matches B's.
  t.on_sighting(probe(random_address(3), B + 30 * sec, -80, 120), log);
  CHECK(log.count(PresenceKind::arrival) == 2);
  CHECK(t.counters().link.linked_sequence == 1);
  t.flush(log);
  for (const auto& e : log.all) {
    if (e.kind != PresenceKind::departure) continue;
    if (e.device == a) {
      CHECK(e.mac == mac(random_address(3)));
      CHECK(e.previous_mac == mac(random_address(1)));
      CHECK(e.frames == 21);
    }
    if (e.device == b) CHECK(e.frames == 20);
  }
  check_balanced(t);
}

TEST_CASE("two phones of one model: the signal gate keeps a steady near phone and a far phone apart") {
  PresenceTracker t(no_updates());
  EventLog log;
  const auto [a, b] = near_and_far(t, log);
  // New addresses after 40 s with random sequence numbers: each goes to the phone whose signal it has.
  t.on_sighting(probe(random_address(3), B + 40 * sec, -79, 900), log);
  t.on_sighting(probe(random_address(4), B + 41 * sec, -41, 3500), log);
  CHECK(log.count(PresenceKind::arrival) == 2);
  CHECK(t.counters().link.linked_signal == 2);
  t.flush(log);
  for (const auto& e : log.all) {
    if (e.kind != PresenceKind::departure) continue;
    if (e.device == a) CHECK(e.mac == mac(random_address(4)));
    if (e.device == b) CHECK(e.mac == mac(random_address(3)));
  }
  check_balanced(t);
}

TEST_CASE("two phones linked wrongly: the old address heard again after its successor splits off") {
  PresenceTracker t(no_updates());
  EventLog log;
  t.on_sighting(probe(random_address(1), B, -50, 100), log);
  t.on_sighting(probe(random_address(2), B + 10 * sec, -50, 2000), log);  // linked (same model, close signal)
  CHECK(log.count(PresenceKind::arrival) == 1);
  // The first address again within 5 s of its successor: the same phone going back (swap, no split).
  t.on_sighting(probe(random_address(1), B + 12 * sec, -50, 101), log);
  CHECK(t.counters().link.returns == 1);
  CHECK(log.count(PresenceKind::arrival) == 1);
  // Now address 2 is the previous one; heard 20 s after address 1 came back: another phone all along.
  t.on_sighting(probe(random_address(2), B + 32 * sec, -50, 2001), log);
  CHECK(t.counters().link.overlap_splits == 1);
  CHECK(log.count(PresenceKind::arrival) == 2);
  CHECK(log.devices().size() == 2);
  // From then on address 2 is that new device's: its frames do not go to the first one.
  t.on_sighting(probe(random_address(2), B + 33 * sec, -50, 2002), log);
  t.flush(log);
  for (const auto& e : log.all)
    if (e.kind == PresenceKind::departure && e.mac == mac(random_address(2))) CHECK(e.frames == 2);
  check_balanced(t);
}

TEST_CASE("no link beyond the window, nor across fingerprints; link_addresses off gives one device per address") {
  PresenceConfig c = no_updates();
  c.link.window_ns = 60 * sec;
  PresenceTracker t(c);
  EventLog log;
  t.on_sighting(probe(random_address(1), B, -50, 100), log);
  t.on_sighting(probe(random_address(2), B + 61 * sec, -50, 101), log);  // seq continues, but silent too long
  t.on_sighting(probe(random_address(3), B + 70 * sec, -50, 102, pixel), log);  // another model
  CHECK(log.count(PresenceKind::arrival) == 3);

  PresenceConfig off = no_updates();
  off.link.link_addresses = false;
  PresenceTracker u(off);
  EventLog log2;
  for (std::uint64_t i = 0; i < 4; ++i) u.on_sighting(probe(random_address(i), B + static_cast<std::int64_t>(i) * sec, -50, static_cast<std::uint16_t>(i)), log2);
  CHECK(log2.count(PresenceKind::arrival) == 4);
  CHECK(log2.devices().size() == 4);
  check_balanced(u);

  PresenceConfig bad = no_updates();
  bad.link.window_ns = bad.departure_silence_ns + 1;
  CHECK(validate(bad).find("link_window_s") != std::string::npos);
}

TEST_CASE("bounded state: a phone rotating for an hour keeps two addresses indexed; all is freed on departure") {
  PresenceConfig c = no_updates();
  c.max_devices = 4;
  PresenceTracker t(c);
  EventLog log;
  // Two phones of different models, a new address every probe, every 10 s for an hour.
  for (std::uint64_t i = 0; i < 360; ++i) {
    const auto ts = B + static_cast<std::int64_t>(i) * 10 * sec;
    t.on_sighting(probe(random_address(2 * i), ts, -50, static_cast<std::uint16_t>(i * 7)), log);
    t.on_sighting(probe(random_address(2 * i + 1), ts + sec, -60, static_cast<std::uint16_t>(i * 13), pixel), log);
  }
  CHECK(t.size() == 2);
  CHECK(log.count(PresenceKind::arrival) == 2);
  CHECK(t.linker().previous_addresses() == 2);  // one previous address per device
  CHECK(t.linker().fingerprint_lists() == 2);
  // A third and a fourth random model, then more: the table's full-policy (evict least recent) bounds it all.
  for (std::uint64_t i = 0; i < 10; ++i)
    t.on_sighting(probe(random_address(10'000 + i), B + 3700 * sec + static_cast<std::int64_t>(i) * sec, -50, 5, 0x1000 + i), log);
  CHECK(t.size() == 4);
  CHECK(t.counters().evictions == 8);
  CHECK(t.linker().previous_addresses() <= 4);
  CHECK(t.linker().fingerprint_lists() <= 4);
  t.advance(B + 5 * 3600 * sec, log);
  CHECK(t.size() == 0);
  CHECK(t.linker().previous_addresses() == 0);
  CHECK(t.linker().fingerprint_lists() == 0);
  check_balanced(t);
}
