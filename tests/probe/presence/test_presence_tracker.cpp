#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
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
// A whole minute since the Unix epoch (1'700'000'040 = 60 * 28'333'334), so update instants are B + k min.
constexpr std::int64_t B = 1'700'000'040 * sec;

struct Logged {
  PresenceEvent event;
  DepartureCause cause;
  bool operator==(const Logged&) const = default;
};

struct EventLog : PresenceSink {
  std::vector<Logged> all;
  void on_presence(const PresenceEvent& e, DepartureCause c) override {
    CHECK(e.cause == c);  // the event carries its cause to the gateway
    CHECK((c == DepartureCause::none) == (e.kind != PresenceKind::departure));
    all.push_back({e, c});
  }
  [[nodiscard]] std::vector<Logged> of(PresenceKind k) const {
    std::vector<Logged> out;
    for (const auto& l : all)
      if (l.event.kind == k) out.push_back(l);
    return out;
  }
};

MacAddress mac(std::uint64_t v) {
  MacAddress m;
  for (std::size_t i = 0; i < 6; ++i) m.octets[i] = static_cast<std::uint8_t>(v >> (40 - 8 * i));
  return m;
}

constexpr std::uint64_t phone = 0xdaa1'190b'2cffULL;  // locally administered: a randomised address
constexpr std::uint64_t laptop = 0x001b'63aa'bbccULL;

Sighting probe(std::uint64_t addr, std::int64_t ts, std::int8_t rssi, std::uint16_t freq = 2412) {
  Sighting s;
  s.ts_ns = ts;
  s.mac = mac(addr);
  s.kind = SightingKind::probe_req;
  s.rssi_dbm = rssi;
  s.has_rssi = true;
  s.freq_mhz = freq;
  return s;
}

}  // namespace

TEST_CASE("first sighting at or above the floor is an arrival carrying that frame") {
  PresenceTracker t;
  EventLog log;
  Sighting s = probe(phone, B + 10 * sec + 123, -71, 2437);
  s.fingerprint = 0x5eed;
  t.on_sighting(s, log);
  REQUIRE(log.all.size() == 1);
  const auto& [e, cause] = log.all[0];
  CHECK(e.kind == PresenceKind::arrival);
  CHECK(cause == DepartureCause::none);
  CHECK(e.ts_ns == B + 10 * sec + 123);
  CHECK(e.first_seen_ns == e.ts_ns);
  CHECK(e.last_seen_ns == e.ts_ns);
  CHECK(e.mac == mac(phone));
  CHECK(e.randomized);
  CHECK(e.fingerprint == 0x5eed);
  CHECK(e.frames == 1);
  CHECK(e.rssi_min == -71);
  CHECK(e.rssi_max == -71);
  CHECK(e.rssi_mean == -71);
  CHECK(e.strongest_freq_mhz == 2437);
  CHECK(e.dwell_s == 0);
  CHECK(e.interval_frames == 1);
  CHECK(e.interval_rssi_mean == -71);
  CHECK_FALSE(e.ble);
  CHECK(t.counters().arrivals == 1);
  CHECK(t.size() == 1);
  check_balanced(t);
}

TEST_CASE("signal floor: below it nothing starts, at it a device arrives") {
  PresenceTracker t;  // floor -90 dBm
  EventLog log;
  t.on_sighting(probe(phone, B, -91), log);
  CHECK(log.all.empty());
  CHECK(t.counters().below_floor == 1);
  CHECK(t.size() == 0);
  t.on_sighting(probe(phone, B + sec, -90), log);
  REQUIRE(log.all.size() == 1);
  CHECK(log.all[0].event.kind == PresenceKind::arrival);
  CHECK(log.all[0].event.ts_ns == B + sec);
  check_balanced(t);
}

TEST_CASE("below-floor sightings neither extend a presence nor enter its statistics") {
  PresenceTracker t(no_updates());
  EventLog log;
  t.on_sighting(probe(phone, B, -60), log);
  for (int i = 1; i <= 5; ++i) t.on_sighting(probe(phone, B + i * 50 * sec, -95), log);  // up to B + 250 s
  t.advance(B + 300 * sec, log);
  const auto gone = log.of(PresenceKind::departure);
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].event.last_seen_ns == B);
  CHECK(gone[0].event.frames == 1);
  CHECK(gone[0].event.rssi_min == -60);
  CHECK(t.counters().below_floor == 5);
}

TEST_CASE("a sighting without a signal value counts and leaves the signal statistics empty") {
  PresenceTracker t(no_updates());
  EventLog log;
  Sighting s = probe(laptop, B, 0, 0);
  s.has_rssi = false;
  t.on_sighting(s, log);
  REQUIRE(log.all.size() == 1);
  CHECK(log.all[0].event.frames == 1);
  CHECK(log.all[0].event.rssi_mean == 0);
  CHECK_FALSE(log.all[0].event.randomized);
  t.on_sighting(probe(laptop, B + sec, -50, 5180), log);
  t.flush(log);
  const auto& d = log.all.back().event;
  CHECK(d.frames == 2);
  CHECK(d.rssi_min == -50);
  CHECK(d.rssi_mean == -50);
  CHECK(d.strongest_freq_mhz == 5180);
  CHECK(t.counters().without_rssi == 1);
}

TEST_CASE("updates come at whole intervals while present, with statistics since arrival") {
  PresenceTracker t;  // 60 s interval, aligned to the minute
  EventLog log;
  t.on_sighting(probe(phone, B + 10 * sec, -70), log);
  t.on_sighting(probe(phone, B + 20 * sec, -60), log);
  t.on_sighting(probe(phone, B + 70 * sec, -80), log);
  t.advance(B + 130 * sec, log);
  const auto ups = log.of(PresenceKind::update);
  REQUIRE(ups.size() == 2);
  CHECK(ups[0].event.ts_ns == B + 60 * sec);
  CHECK(ups[0].event.frames == 2);
  CHECK(ups[0].event.first_seen_ns == B + 10 * sec);
  CHECK(ups[0].event.last_seen_ns == B + 20 * sec);
  CHECK(ups[0].event.rssi_mean == -65);
  CHECK(ups[1].event.ts_ns == B + 120 * sec);
  CHECK(ups[1].event.frames == 3);
  CHECK(ups[1].event.last_seen_ns == B + 70 * sec);
  CHECK(ups[1].event.rssi_min == -80);
  CHECK(ups[1].event.rssi_max == -60);
  CHECK(ups[1].event.rssi_mean == -70);
  CHECK(t.counters().updates == 2);
}

TEST_CASE("interval statistics cover exactly the frames since the presence's previous event") {
  PresenceTracker t;  // updates every minute
  EventLog log;
  t.on_sighting(probe(phone, B + 10 * sec, -70), log);
  t.on_sighting(probe(phone, B + 20 * sec, -60), log);
  t.on_sighting(probe(phone, B + 30 * sec, -61), log);  // interval mean -60.5 rounds to -61
  t.on_sighting(probe(phone, B + 70 * sec, -80), log);
  Sighting silent = probe(phone, B + 80 * sec, 0);
  silent.has_rssi = false;
  t.on_sighting(silent, log);                           // counts as a frame, not in the signal mean
  silent.ts_ns = B + 200 * sec;
  t.on_sighting(silent, log);                           // the only frame of its interval
  t.on_sighting(probe(phone, B + 250 * sec, -50), log);
  t.advance(B + 551 * sec, log);                        // leaves at B + 550 s
  REQUIRE(log.all.size() == 11);                        // arrival, 9 updates (B+60 .. B+540), departure

  struct Expect {
    PresenceKind kind;
    std::uint32_t frames, interval_frames;
    std::int8_t rssi_mean, interval_rssi_mean;
  };
  const std::vector<Expect> expected{
      {PresenceKind::arrival, 1, 1, -70, -70},
      {PresenceKind::update, 3, 2, -64, -61},  // B+60: cumulative -191/3
      {PresenceKind::update, 5, 2, -68, -80},  // B+120: -80 and a frame without signal
      {PresenceKind::update, 5, 0, -68, 0},    // B+180: nothing heard
      {PresenceKind::update, 6, 1, -68, 0},    // B+240: one frame, no signal
      {PresenceKind::update, 7, 1, -64, -50},  // B+300
      {PresenceKind::update, 7, 0, -64, 0},    // B+360 .. B+540
      {PresenceKind::update, 7, 0, -64, 0},
      {PresenceKind::update, 7, 0, -64, 0},
      {PresenceKind::update, 7, 0, -64, 0},
      {PresenceKind::departure, 7, 0, -64, 0},
  };
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    const PresenceEvent& e = log.all[i].event;
    CHECK(e.kind == expected[i].kind);
    CHECK(e.frames == expected[i].frames);
    CHECK(e.interval_frames == expected[i].interval_frames);
    CHECK(e.rssi_mean == expected[i].rssi_mean);
    CHECK(e.interval_rssi_mean == expected[i].interval_rssi_mean);
  }
  CHECK(log.all.back().event.cause == DepartureCause::silence);

  // Without updates, the departure's interval is everything after the arrival frame.
  PresenceTracker quiet(no_updates());
  EventLog qlog;
  for (int i = 0; i < 4; ++i) quiet.on_sighting(probe(laptop, B + i * sec, static_cast<std::int8_t>(-60 - i)), qlog);
  quiet.flush(qlog);
  REQUIRE(qlog.all.size() == 2);
  CHECK(qlog.all[1].event.interval_frames == 3);
  CHECK(qlog.all[1].event.interval_rssi_mean == -62);
  CHECK(qlog.all[1].event.cause == DepartureCause::shutdown);
}

TEST_CASE("an update instant reports the frames applied before it; a frame at the instant comes after") {
  PresenceTracker t;
  EventLog log;
  t.on_sighting(probe(phone, B + 30 * sec, -70), log);
  t.on_sighting(probe(phone, B + 60 * sec, -70), log);  // exactly at the instant
  REQUIRE(log.all.size() == 2);
  CHECK(log.all[1].event.kind == PresenceKind::update);
  CHECK(log.all[1].event.frames == 1);
}

TEST_CASE("departure after the silence: ts is the last frame, dwell is last minus first") {
  PresenceTracker t(no_updates());
  EventLog log;
  t.on_sighting(probe(phone, B + sec, -70), log);
  t.on_sighting(probe(phone, B + 60 * sec, -70), log);
  t.on_sighting(probe(phone, B + 125 * sec + 500'000'000, -70), log);
  t.advance(B + 425 * sec + 499'999'999, log);
  CHECK(log.of(PresenceKind::departure).empty());
  t.advance(B + 425 * sec + 500'000'000, log);
  const auto gone = log.of(PresenceKind::departure);
  REQUIRE(gone.size() == 1);
  CHECK(gone[0].cause == DepartureCause::silence);
  CHECK(gone[0].event.ts_ns == B + 125 * sec + 500'000'000);
  CHECK(gone[0].event.first_seen_ns == B + sec);
  CHECK(gone[0].event.last_seen_ns == B + 125 * sec + 500'000'000);
  CHECK(gone[0].event.dwell_s == 124);
  CHECK(gone[0].event.frames == 3);
  CHECK(t.size() == 0);
  check_balanced(t);
}

TEST_CASE("advance alone lets a silent device leave, after its updates during the silence") {
  PresenceTracker t;
  EventLog log;
  t.on_sighting(probe(phone, B + 10 * sec, -70), log);
  t.advance(B + 3600 * sec, log);  // one jump of an hour
  REQUIRE(log.all.size() == 7);
  CHECK(log.all[0].event.kind == PresenceKind::arrival);
  for (int k = 1; k <= 5; ++k) {  // instants B+60 .. B+300, all before the deadline B+310
    CHECK(log.all[k].event.kind == PresenceKind::update);
    CHECK(log.all[k].event.ts_ns == B + k * 60 * sec);
  }
  CHECK(log.all[6].event.kind == PresenceKind::departure);
  CHECK(log.all[6].event.ts_ns == B + 10 * sec);
  CHECK(t.counters().departures == 1);
}

TEST_CASE("a departure due at an update instant comes first and the device gets no update there") {
  PresenceTracker t;
  EventLog log;
  t.on_sighting(probe(phone, B, -70), log);  // deadline B + 300 s, an update instant
  t.advance(B + 301 * sec, log);
  REQUIRE(log.all.size() == 6);
  CHECK(log.all[4].event.ts_ns == B + 240 * sec);
  CHECK(log.all[5].event.kind == PresenceKind::departure);
}

TEST_CASE("a device returning after its departure arrives anew") {
  PresenceTracker t(no_updates());
  EventLog log;
  t.on_sighting(probe(phone, B, -70), log);
  t.on_sighting(probe(phone, B + 300 * sec, -65), log);  // exactly the silence later: it had left
  t.on_sighting(probe(phone, B + 900 * sec, -60), log);
  REQUIRE(log.all.size() == 5);
  CHECK(log.all[0].event.kind == PresenceKind::arrival);
  CHECK(log.all[1].event.kind == PresenceKind::departure);
  CHECK(log.all[1].event.ts_ns == B);
  CHECK(log.all[2].event.kind == PresenceKind::arrival);
  CHECK(log.all[2].event.first_seen_ns == B + 300 * sec);
  CHECK(log.all[2].event.frames == 1);
  CHECK(log.all[2].event.rssi_max == -65);
  CHECK(log.all[3].event.kind == PresenceKind::departure);
  CHECK(log.all[4].event.kind == PresenceKind::arrival);
  CHECK(t.counters().arrivals == 3);
  check_balanced(t);
}

TEST_CASE("signal statistics are exact: min, max, mean rounded half away from zero") {
  PresenceTracker t(no_updates());
  EventLog log;
  for (int r : {-70, -60, -81, -64}) t.on_sighting(probe(phone, B, static_cast<std::int8_t>(r)), log);  // sum -275, mean -68.75
  t.on_sighting(probe(laptop, B, -60), log);
  t.on_sighting(probe(laptop, B, -61), log);  // mean -60.5
  t.flush(log);
  const auto gone = log.of(PresenceKind::departure);
  REQUIRE(gone.size() == 2);
  CHECK(gone[0].event.mac == mac(phone));
  CHECK(gone[0].event.frames == 4);
  CHECK(gone[0].event.rssi_min == -81);
  CHECK(gone[0].event.rssi_max == -60);
  CHECK(gone[0].event.rssi_mean == -69);
  CHECK(gone[1].event.rssi_mean == -61);
}

TEST_CASE("strongest channel is where the device was first heard loudest") {
  PresenceTracker t(no_updates());
  EventLog log;
  t.on_sighting(probe(phone, B, -70, 2412), log);
  t.on_sighting(probe(phone, B + sec, -55, 5180), log);
  t.on_sighting(probe(phone, B + 2 * sec, -55, 2437), log);  // as loud, later: does not replace
  t.on_sighting(probe(phone, B + 3 * sec, -60, 2462), log);
  t.flush(log);
  CHECK(log.all.back().event.strongest_freq_mhz == 5180);
  CHECK(log.all.back().event.rssi_max == -55);
}

TEST_CASE("full table evicts the device heard least recently, reported and counted") {
  PresenceConfig c = no_updates();
  c.max_devices = 3;
  PresenceTracker t(c);
  EventLog log;
  t.on_sighting(probe(0xa, B, -70), log);
  t.on_sighting(probe(0xb, B + 1 * sec, -70), log);
  t.on_sighting(probe(0xc, B + 2 * sec, -70), log);
  t.on_sighting(probe(0xa, B + 3 * sec, -70), log);  // a is now the most recent
  t.on_sighting(probe(0xd, B + 4 * sec, -70), log);  // full: b goes
  REQUIRE(log.all.size() == 5);  // three arrivals, b's departure, d's arrival
  CHECK(log.all[3].event.kind == PresenceKind::departure);
  CHECK(log.all[3].cause == DepartureCause::evicted);
  CHECK(log.all[3].event.mac == mac(0xb));
  CHECK(log.all[3].event.ts_ns == B + 1 * sec);
  CHECK(log.all[4].event.kind == PresenceKind::arrival);
  CHECK(log.all[4].event.mac == mac(0xd));
  t.on_sighting(probe(0xe, B + 5 * sec, -70), log);  // c goes next
  REQUIRE(log.all.size() == 7);
  CHECK(log.all[5].event.mac == mac(0xc));
  CHECK(log.all[5].cause == DepartureCause::evicted);
  CHECK(t.counters().evictions == 2);
  CHECK(t.counters().departures == 2);
  CHECK(t.size() == 3);
  check_balanced(t);
}

TEST_CASE("flush reports everyone still present, least recently heard first, and empties the table") {
  PresenceTracker t(no_updates());
  EventLog log;
  t.on_sighting(probe(0xa, B, -70), log);
  t.on_sighting(probe(0xb, B + 5 * sec, -70), log);
  t.on_sighting(probe(0xa, B + 65 * sec, -70), log);
  log.all.clear();
  t.flush(log);
  REQUIRE(log.all.size() == 2);
  CHECK(log.all[0].event.mac == mac(0xb));
  CHECK(log.all[1].event.mac == mac(0xa));
  CHECK(log.all[1].event.dwell_s == 65);
  for (const auto& l : log.all) {
    CHECK(l.event.kind == PresenceKind::departure);
    CHECK(l.cause == DepartureCause::shutdown);
  }
  CHECK(t.size() == 0);
  CHECK(t.counters().flushed == 2);
  check_balanced(t);
  t.on_sighting(probe(0xa, B + 70 * sec, -70), log);
  CHECK(log.all.back().event.kind == PresenceKind::arrival);
}

TEST_CASE("only probe requests count by default; access points and BLE when configured") {
  auto with_kind = [](Sighting s, SightingKind k) {
    s.kind = k;
    return s;
  };
  {
    PresenceTracker t;
    EventLog log;
    t.on_sighting(with_kind(probe(laptop, B, -40), SightingKind::beacon), log);
    t.on_sighting(with_kind(probe(laptop, B, -40), SightingKind::probe_resp), log);
    t.on_sighting(with_kind(probe(phone, B, -40), SightingKind::ble_adv), log);
    CHECK(log.all.empty());
    CHECK(t.counters().ignored_kind == 3);
    check_balanced(t);
  }
  {
    PresenceConfig c;
    c.track_ble_adverts = true;
    c.track_access_points = true;
    PresenceTracker t(c);
    EventLog log;
    t.on_sighting(with_kind(probe(laptop, B, -40), SightingKind::beacon), log);
    t.on_sighting(with_kind(probe(laptop, B, -40), SightingKind::probe_resp), log);  // same device
    t.on_sighting(probe(phone, B, -40), log);
    t.on_sighting(with_kind(probe(phone, B, -40), SightingKind::ble_adv), log);  // other radio: other device
    const auto arrivals = log.of(PresenceKind::arrival);
    REQUIRE(arrivals.size() == 3);
    CHECK(t.size() == 3);
    CHECK_FALSE(arrivals[0].event.ble);
    CHECK_FALSE(arrivals[1].event.ble);
    CHECK(arrivals[2].event.ble);
    CHECK(arrivals[1].event.mac == arrivals[2].event.mac);
    // Each radio's presence keeps its own statistics and leaves with its own flag.
    t.on_sighting(with_kind(probe(phone, B + sec, -50), SightingKind::ble_adv), log);
    t.flush(log);
    for (const auto& l : log.of(PresenceKind::departure)) {
      if (l.event.mac != mac(phone)) continue;
      CHECK(l.event.frames == (l.event.ble ? 2u : 1u));
      CHECK(l.event.rssi_max == -40);
      CHECK(l.event.rssi_min == (l.event.ble ? -50 : -40));
    }
  }
}

TEST_CASE("late frames: within the tolerance applied with their own time, beyond it dropped") {
  PresenceConfig c;
  c.update_interval_ns = sec;  // an instant every second shows when each device stops being reported
  PresenceTracker t(c);        // tolerance 5 s, silence 300 s
  EventLog log;
  t.on_sighting(probe(phone, B + 100 * sec, -70), log);
  t.on_sighting(probe(phone, B + 98 * sec, -60), log);  // 2 s late, present device
  t.on_sighting(probe(laptop, B + 97 * sec, -70), log);  // 3 s late, new device
  t.on_sighting(probe(0xe, B + 94 * sec, -70), log);     // 6 s late: dropped
  CHECK(t.counters().late == 1);
  REQUIRE(log.all.size() == 2);
  CHECK(log.all[1].event.mac == mac(laptop));
  CHECK(log.all[1].event.first_seen_ns == B + 97 * sec);

  t.advance(B + 399 * sec, log);  // laptop's deadline B+397 has passed but it queues behind the phone
  for (const auto& l : log.of(PresenceKind::update))
    if (l.event.mac == mac(laptop)) CHECK(l.event.ts_ns < B + 397 * sec);
  CHECK(log.of(PresenceKind::departure).empty());
  t.advance(B + 400 * sec, log);
  const auto gone = log.of(PresenceKind::departure);
  REQUIRE(gone.size() == 2);
  CHECK(gone[0].event.mac == mac(phone));
  CHECK(gone[0].event.ts_ns == B + 100 * sec);  // last_seen never goes backwards
  CHECK(gone[0].event.frames == 2);
  CHECK(gone[0].event.rssi_max == -60);
  CHECK(gone[1].event.mac == mac(laptop));
  CHECK(gone[1].event.ts_ns == B + 97 * sec);
  CHECK(gone[1].event.dwell_s == 0);
  check_balanced(t);
}

TEST_CASE("advance behind the clock changes nothing") {
  PresenceTracker t(no_updates());
  EventLog log;
  t.on_sighting(probe(phone, B + 500 * sec, -70), log);
  t.advance(B, log);
  t.advance(B + 799 * sec, log);
  CHECK(log.all.size() == 1);
  t.advance(B + 800 * sec, log);
  CHECK(log.all.size() == 2);
}

namespace {
// A day of a small shop: 400 devices, bursts of probes with gaps longer and shorter than the silence,
// some below the floor, a few slightly out of order.
std::vector<Sighting> shop_day() {
  std::vector<Sighting> out;
  std::uint64_t state = 7;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  std::int64_t ts = B;
  for (int i = 0; i < 30'000; ++i) {
    ts += static_cast<std::int64_t>(next() % 6000) * 1'000'000;  // 0..6 s apart
    const std::int64_t jitter = next() % 50 == 0 ? -static_cast<std::int64_t>(next() % 3000) * 1'000'000 : 0;
    Sighting s = probe(0x0200'0000'0000ULL + next() % 400, ts + jitter, static_cast<std::int8_t>(-40 - next() % 55),
                       static_cast<std::uint16_t>(2412 + 5 * (next() % 13)));
    s.fingerprint = next() % 4;
    out.push_back(s);
  }
  return out;
}
}  // namespace

TEST_CASE("determinism: the same input gives the same events, live pacing or replay") {
  const auto day = shop_day();
  auto replay = [&](bool live) {
    PresenceTracker t;
    EventLog log;
    std::int64_t prev = B;
    for (const auto& s : day) {
      // Live: the capture loop also calls advance() during gaps, never beyond the next frame's time.
      if (live && s.ts_ns > prev) t.advance(prev + (s.ts_ns - prev) / 2, log);
      t.on_sighting(s, log);
      if (s.ts_ns > prev) prev = s.ts_ns;
    }
    t.advance(prev + 3600 * sec, log);
    check_balanced(t);
    return log.all;
  };
  const auto first = replay(false);
  const auto second = replay(false);
  const auto live = replay(true);
  CHECK(first.size() > 1000);  // the input exercises arrivals, updates and departures
  std::set<PresenceKind> kinds;
  for (const auto& l : first) kinds.insert(l.event.kind);
  CHECK(kinds.size() == 3);
  CHECK(first == second);
  CHECK(first == live);

  // Over every presence of the day, the intervals add up to the frames, late frames included. A presence is
  // a device's (random addresses of one fingerprint are linked).
  std::map<std::uint64_t, std::uint64_t> heard;
  std::size_t departures = 0, mismatched = 0;
  for (const auto& l : first) {
    auto& sum = heard[l.event.device];
    if (l.event.kind == PresenceKind::arrival) sum = 0;
    sum += l.event.interval_frames;
    if (l.event.kind != PresenceKind::departure) continue;
    ++departures;
    mismatched += sum != l.event.frames;
  }
  CHECK(departures > 100);
  CHECK(mismatched == 0);
}

TEST_CASE("100k devices: the table grows, finds each, lets all go, and is reused") {
  PresenceConfig c = no_updates();
  c.max_devices = 200'000;
  PresenceTracker t(c);
  EventLog log;
  const std::size_t empty_bytes = t.memory_bytes();
  const std::size_t empty_slots = t.table().index_slots();
  constexpr std::uint64_t n = 100'000;
  // Odd: one vendor block, consecutive. Even: randomised-looking, spread by an odd multiplier (a bijection).
  auto addr = [](std::uint64_t i) {
    return i % 2 ? 0x001b'6300'0000ULL + i : 0x0200'0000'0000ULL | ((i * 0x9e37'79b1ULL) & 0xff'ffff'ffffULL);
  };
  for (std::uint64_t i = 0; i < n; ++i) t.on_sighting(probe(addr(i), B + static_cast<std::int64_t>(i) * 1000, -70), log);
  CHECK(t.size() == n);
  CHECK(t.counters().arrivals == n);
  CHECK(t.table().index_slots() > empty_slots);
  CHECK(t.memory_bytes() > empty_bytes);
  // Records and their link state, the address index, the linker's two indexes (empty here: no fingerprints)
  // and its fixed parts (crowd estimate, walk scratch).
  CHECK(t.memory_bytes() <= n * (sizeof(footfall::probe::presence::DeviceRecord) +
                                 sizeof(footfall::probe::presence::LinkState)) +
                                4 * (262'144 + 2 * 1024) + t.linker().fixed_bytes());
  for (std::uint64_t i = 0; i < n; ++i) t.on_sighting(probe(addr(i), B + 200 * sec, -60), log);
  CHECK(t.counters().arrivals == n);  // all found again
  CHECK(log.all.size() == n);
  t.advance(B + 500 * sec, log);
  CHECK(t.size() == 0);
  std::set<std::uint64_t> departed;
  std::size_t wrong_frames = 0;
  for (const auto& l : log.of(PresenceKind::departure)) {
    wrong_frames += l.event.frames != 2;
    departed.insert(l.event.mac.as_u64());
  }
  CHECK(departed.size() == n);
  CHECK(wrong_frames == 0);
  const std::size_t bytes_after_first = t.memory_bytes();
  for (std::uint64_t i = 0; i < n; ++i) t.on_sighting(probe(addr(i) ^ 0x1000, B + 600 * sec, -70), log);
  CHECK(t.size() == n);
  CHECK(t.memory_bytes() == bytes_after_first);  // freed records reused, no growth
  check_balanced(t);
}

TEST_CASE("bad configuration is rejected with the key named") {
  PresenceConfig c;
  c.max_devices = 0;
  CHECK(footfall::probe::presence::validate(c).find("max_devices") != std::string::npos);
  CHECK_THROWS_AS(PresenceTracker{c}, std::invalid_argument);
  c = {};
  c.reorder_tolerance_ns = c.departure_silence_ns;
  CHECK(footfall::probe::presence::validate(c).find("reorder_tolerance_ns") != std::string::npos);
  c = {};
  c.departure_silence_ns = 0;
  CHECK(footfall::probe::presence::validate(c).find("departure_silence_ns") != std::string::npos);
  c = {};
  c.track_probe_requests = false;
  CHECK_FALSE(footfall::probe::presence::validate(c).empty());
  CHECK(footfall::probe::presence::validate(PresenceConfig{}).empty());
}
