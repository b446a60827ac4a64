// Device linking inside the presence tracker, with synthetic sightings: which addresses become one device.
#include <doctest/doctest.h>

#include <algorithm>
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

// ---------------------------------------------------------------- crowds of one model

using footfall::probe::presence::CrowdEstimate;

TEST_CASE("crowd estimate: burst rate x the period between two bursts of one address gives the phones present") {
  CrowdEstimate c(300 * sec, 4);
  CHECK(c.phones(iphone, B) == 0);  // nothing heard
  // 10 phones, one every 3 s of phase, each bursting every 30 s: one burst every 3 s over 20 minutes.
  for (std::int64_t k = 0; k < 400; ++k) c.burst(iphone, B + k * 3 * sec, k < 10 ? 0.0 : 30.0);
  const std::int64_t end = B + 400 * 3 * sec;
  CHECK(c.period_s(iphone) == doctest::Approx(30.0));
  CHECK(c.phones(iphone, end) == doctest::Approx(10.0).epsilon(0.05));
  // Half the phones gone: ten minutes later the rate, and the estimate, have halved.
  for (std::int64_t k = 0; k < 100; ++k) c.burst(iphone, end + k * 6 * sec, 30.0);
  CHECK(c.phones(iphone, end + 600 * sec) == doctest::Approx(5.0).epsilon(0.1));
  // No period sample yet (every burst from a new address): no estimate.
  for (std::int64_t k = 0; k < 100; ++k) c.burst(pixel, B + k * sec, 0.0);
  CHECK(c.phones(pixel, B + 100 * sec) == 0);
}

TEST_CASE("crowd estimate is bounded: a new fingerprint takes the weakest entry of its set, not a crowd's") {
  CrowdEstimate c(300 * sec, 1);  // one set of four entries
  for (std::int64_t k = 0; k < 300; ++k) c.burst(iphone, B + k * sec, 30.0);
  const double before = c.phones(iphone, B + 300 * sec);
  CHECK(before > 15);  // 300 bursts within one time constant: 300 x (1 - 1/e) / 300 s x 30 s = 19
  // Forty other fingerprints, each heard twice, all after the crowd's bursts.
  for (std::uint64_t f = 1; f <= 40; ++f)
    for (std::int64_t k = 0; k < 2; ++k) c.burst(f, B + 300 * sec + static_cast<std::int64_t>(f) * 100 * ms + k, 20.0);
  CHECK(c.phones(iphone, B + 305 * sec) == doctest::Approx(before).epsilon(0.05));  // still held
  CHECK(c.period_s(1) == 0);                                                        // long replaced
  CHECK(c.period_s(40) == doctest::Approx(20.0));
  CHECK(c.memory_bytes() == 4 * 32);
}

namespace {
using footfall::probe::presence::DeviceLinker;
using footfall::probe::presence::DeviceTable;
using footfall::probe::presence::LinkConfig;
using footfall::probe::presence::LinkCounters;
using footfall::probe::presence::no_record;

// A DeviceTable and its DeviceLinker driven as the tracker drives them (without departures).
struct Linking {
  DeviceTable table{64};
  DeviceLinker linker;
  LinkCounters counters;
  explicit Linking(const LinkConfig& c = {}) : linker(c, 64) {}
  // A frame of `addr` (sequence number random enough: 17 x the time in seconds); the device it went to.
  // start: a new device whatever the linker would say (the set-up of a scene).
  std::uint32_t hear(std::uint64_t addr, std::int64_t ts, std::uint32_t via = no_record, bool start = false) {
    const Sighting s = probe(addr, ts, -60, static_cast<std::uint16_t>((ts / sec * 17) & 0xfff));
    std::uint32_t pos = via != no_record ? via : table.find(s.mac.as_u64());
    if (pos == no_record && !start) pos = linker.place(table, s.mac.as_u64(), s, counters);
    if (pos == no_record) {
      pos = table.insert(s.mac.as_u64());
      table.at(pos).first_seen_ns = table.at(pos).last_seen_ns = ts;
      table.at(pos).fingerprint = s.fingerprint;
      linker.on_arrival(table, pos, s);
      return pos;
    }
    if (ts > table.at(pos).last_seen_ns) table.at(pos).last_seen_ns = ts;
    linker.after_heard(table, pos, s);
    table.touch(pos);
    return pos;
  }
};

// Phones 0..phones-1 of one model, phone i on address 100 + i bursting every 30 s from i s on, for 5 minutes;
// each of the first `devices` phones starts a device, the others are heard through device (i % devices): fewer
// devices than phones.
std::vector<std::uint32_t> crowd_heard(Linking& l, std::uint64_t phones, std::uint64_t devices) {
  std::vector<std::uint32_t> pos(devices, no_record);
  for (std::int64_t k = 0; k < 10; ++k)
    for (std::uint64_t i = 0; i < phones; ++i) {
      const std::int64_t ts = B + static_cast<std::int64_t>(i) * sec + k * 30 * sec;
      if (i < devices) {
        pos[i] = l.hear(random_address(100 + i), ts, no_record, k == 0);
      } else {
        l.hear(random_address(100 + i), ts, pos[i % devices]);
      }
    }
  return pos;
}
}  // namespace

TEST_CASE("crowd rule: a phone not due is refused; with enough devices the address still goes to one") {
  Linking l;
  const auto pos = crowd_heard(l, 6, 6);
  CHECK(l.table.size() == 6);
  CHECK(l.linker.crowds().phones(iphone, B + 276 * sec) == doctest::Approx(6.0).epsilon(0.1));
  CHECK(l.linker.period_s(pos[0]) == doctest::Approx(30.0));
  // 2-7 s after each device's last burst (period 30 s): none is due, but the crowd has its 6 devices.
  l.hear(random_address(1), B + 277 * sec);
  CHECK(l.counters.refused_timing == 6);
  CHECK(l.counters.crowd_starts == 0);
  CHECK(l.table.size() == 6);  // linked to one of them
}

TEST_CASE("crowd rule: short of devices, an address no due phone explains starts a device; a due one links") {
  Linking l;
  crowd_heard(l, 8, 6);  // 8 phones heard through 6 devices
  CHECK(l.linker.crowds().phones(iphone, B + 279 * sec) == doctest::Approx(8.0).epsilon(0.1));
  l.hear(random_address(1), B + 279500 * ms);  // 2.5-7.5 s after each device's last burst: none due, a new one
  CHECK(l.counters.crowd_starts == 1);
  CHECK(l.table.size() == 7);
  // Device 2 last burst at 272 s: at 302 s its phone is due within 10 % of its period and takes the address.
  const std::uint32_t taken = l.hear(random_address(2), B + 302 * sec);
  CHECK(l.counters.crowd_starts == 1);
  CHECK(l.table.size() == 7);
  CHECK(l.table.at(taken).key == mac(random_address(2)).as_u64());
  CHECK(l.linker.previous_address(taken) == mac(random_address(102)));
  // Without the crowd rule the first address would have gone to a device as well.
  LinkConfig off;
  off.crowd_phones = 1e9;
  Linking m(off);
  crowd_heard(m, 8, 6);
  m.hear(random_address(1), B + 279500 * ms);
  CHECK(m.counters.crowd_starts == 0);
  CHECK(m.table.size() == 6);
}

TEST_CASE("the crowd rule needs a period: phones that never reuse an address get no estimate") {
  Linking l;
  // 10 phones of one model, a new address at every burst (as the captured iPhones do).
  for (std::int64_t k = 0; k < 10; ++k)
    for (std::uint64_t i = 0; i < 10; ++i)
      l.hear(random_address(1000 * static_cast<std::uint64_t>(k) + i), B + static_cast<std::int64_t>(i) * sec + k * 30 * sec);
  CHECK(l.linker.crowds().period_s(iphone) == 0);
  CHECK(l.linker.crowds().phones(iphone, B + 300 * sec) == 0);
  CHECK(l.counters.refused_timing == 0);
  CHECK(l.counters.crowd_starts == 0);
}

TEST_CASE("one phone keeping its address for two bursts stays one device") {
  PresenceTracker t(no_updates());
  EventLog log;
  std::uint16_t seq = 0;
  for (std::int64_t burst = 0; burst < 60; ++burst)
    for (int f = 0; f < 2; ++f)
      t.on_sighting(probe(random_address(static_cast<std::uint64_t>(burst / 2)), B + burst * 30 * sec + f * 20 * ms, -60,
                          seq += 997),
                    log);
  CHECK(t.counters().link.new_addresses == 30);
  CHECK(log.devices().size() == 1);
  check_balanced(t);
}
