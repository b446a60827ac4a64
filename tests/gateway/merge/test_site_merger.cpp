#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "probe/presence/presence_tracker.h"
#include "gateway/merge/site_merger.h"

using footfall::MacAddress;
using footfall::PresenceEvent;
using footfall::PresenceKind;
using footfall::Sighting;
using footfall::SightingKind;
using namespace footfall::gateway;

namespace {
constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t s = 1'000'000'000;
constexpr std::int64_t t0 = 1'699'999'980LL * s;  // a minute boundary: probes' update instants fall on t0 + k min

const MacAddress phone = *MacAddress::parse("da:a1:19:00:00:01");  // locally administered
const MacAddress laptop = *MacAddress::parse("00:1b:63:00:00:02");
const MacAddress watch = *MacAddress::parse("00:1b:63:00:00:03");

struct Recorder final : SiteSink {
  std::vector<SiteArrival> arrivals;
  std::vector<Visit> visits;
  std::vector<DeviceMerge> merges;
  void on_arrival(const SiteArrival& a) override { arrivals.push_back(a); }
  void on_visit(const Visit& v) override { visits.push_back(v); }
  void on_merged(const DeviceMerge& m) override { merges.push_back(m); }
};

// What one probe heard: (time, signal) per frame.
struct Heard {
  std::int64_t t;
  std::int8_t rssi;
};
std::vector<Heard> every(std::int64_t from, std::int64_t to, std::int64_t step, std::vector<std::int8_t> rssi) {
  std::vector<Heard> out;
  for (std::int64_t t = from, i = 0; t <= to; t += step, ++i)
    out.push_back(Heard{t, rssi[static_cast<std::size_t>(i) % rssi.size()]});
  return out;
}

struct Script {
  std::string probe;
  MacAddress mac;
  std::vector<Heard> heard;
  std::uint64_t fingerprint = 0;
  // 802.11 sequence number of each frame: none (0) or the phone's own counter, one step per 10 s of time, so
  // one frame heard by several probes carries one number.
  bool counts_seq = false;
};

struct Emitted {
  std::int64_t at_ns;  // when the probe's tracker emitted it
  std::string probe;
  PresenceEvent event;
};

// Runs each probe's own presence tracker (default config: updates every 60 s, departure after 300 s of
// silence) over its frames and returns each probe's events in emission order.
std::vector<std::vector<Emitted>> probe_streams(const std::vector<std::string>& probes,
                                                const std::vector<Script>& scripts, std::int64_t end_ns,
                                                bool link_addresses = true) {
  std::vector<std::vector<Emitted>> streams;
  for (const std::string& probe : probes) {
    struct Collect final : footfall::probe::presence::PresenceSink {
      std::vector<Emitted>* out;
      std::string probe;
      std::int64_t now = 0;
      void on_presence(const PresenceEvent& e, footfall::probe::presence::DepartureCause) override {
        out->push_back(Emitted{now, probe, e});
      }
    };
    std::vector<Emitted> stream;
    Collect sink;
    sink.out = &stream;
    sink.probe = probe;
    std::vector<Sighting> frames;
    for (const Script& sc : scripts) {
      if (sc.probe != probe) continue;
      for (const Heard& h : sc.heard) {
        Sighting f;
        f.ts_ns = h.t;
        f.mac = sc.mac;
        f.rssi_dbm = h.rssi;
        f.has_rssi = true;
        f.freq_mhz = 2437;
        f.fingerprint = sc.fingerprint;
        if (sc.counts_seq) f.seq = static_cast<std::uint16_t>((h.t - t0) / (10 * s));
        frames.push_back(f);
      }
    }
    std::stable_sort(frames.begin(), frames.end(), [](const Sighting& a, const Sighting& b) { return a.ts_ns < b.ts_ns; });
    footfall::probe::presence::PresenceConfig config;
    config.link.link_addresses = link_addresses;
    footfall::probe::presence::PresenceTracker tracker(config);
    // The capture loop's advance() once a second, so silence-driven events carry their real emission time.
    std::size_t next = 0;
    for (std::int64_t now = t0; now <= end_ns; now += s) {
      for (; next < frames.size() && frames[next].ts_ns <= now; ++next) {
        sink.now = frames[next].ts_ns;
        tracker.on_sighting(frames[next], sink);
      }
      sink.now = now;
      tracker.advance(now, sink);
    }
    streams.push_back(std::move(stream));
  }
  return streams;
}

// Delivers the streams as the gateway would receive them: each event delayed by up to max_delay_ns
// (batching, uplink), each probe's own order kept.
std::vector<Emitted> received(const std::vector<std::vector<Emitted>>& streams, std::int64_t max_delay_ns, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::int64_t, Emitted>> all;
  for (const auto& stream : streams) {
    std::int64_t last = 0;
    for (const Emitted& e : stream) {
      const std::int64_t delay = max_delay_ns == 0 ? 0 : static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(max_delay_ns));
      last = std::max(last, e.at_ns + delay);
      all.emplace_back(last, e);
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Emitted> out;
  for (auto& [at, e] : all) out.push_back(e);
  return out;
}

std::vector<Emitted> one_probe_after_another(const std::vector<std::vector<Emitted>>& streams) {
  std::vector<Emitted> out;
  for (const auto& stream : streams) out.insert(out.end(), stream.begin(), stream.end());
  return out;
}

SiteMergeConfig mall_config() {
  SiteMergeConfig c;
  c.probes = {{"p1", "entrance"}, {"p2", "food court"}, {"p3", "atrium"}};
  return c;
}

Recorder run(SiteMerger& merger, const std::vector<Emitted>& events, std::int64_t end_ns) {
  Recorder r;
  for (const Emitted& e : events) merger.on_presence(e.probe, e.event, r);
  merger.advance(end_ns, r);
  return r;
}

std::int8_t rounded_mean(const std::vector<Heard>& heard) {
  std::int64_t sum = 0;
  for (const Heard& h : heard) sum += h.rssi;
  const auto n = static_cast<std::int64_t>(heard.size());
  return static_cast<std::int8_t>(sum < 0 ? -((-2 * sum + n) / (2 * n)) : (2 * sum + n) / (2 * n));
}

void check_probe(const ProbeVisit& pv, const std::string& probe, const std::string& zone, const std::vector<Heard>& heard) {
  CAPTURE(probe);
  CHECK(pv.probe == probe);
  CHECK(pv.zone == zone);
  CHECK(pv.first_seen_ns == heard.front().t);
  CHECK(pv.last_seen_ns == heard.back().t);
  CHECK(pv.frames == heard.size());
  CHECK(pv.rssi_min == std::min_element(heard.begin(), heard.end(), [](auto a, auto b) { return a.rssi < b.rssi; })->rssi);
  CHECK(pv.rssi_max == std::max_element(heard.begin(), heard.end(), [](auto a, auto b) { return a.rssi < b.rssi; })->rssi);
  CHECK(pv.rssi_mean == rounded_mean(heard));
  CHECK(pv.strongest_freq_mhz == 2437);
  CHECK(pv.presences == 1);
}

// A phone walks entrance -> food court -> atrium, heard by two probes at a time along the way.
struct Walk {
  std::vector<Heard> at_p1 = every(t0 + 5 * s, t0 + 185 * s, 10 * s, {-50, -60, -57});
  std::vector<Heard> at_p2 = every(t0 + 125 * s, t0 + 365 * s, 10 * s, {-70, -71});
  std::vector<Heard> at_p3 = every(t0 + 305 * s, t0 + 605 * s, 20 * s, {-65, -75, -66});
  std::vector<Script> scripts() const {
    return {{"p1", phone, at_p1, 0}, {"p2", phone, at_p2, 0xabcd}, {"p3", phone, at_p3, 0x1234}};
  }
};
constexpr std::int64_t walk_end = t0 + 3600 * s;

}  // namespace

TEST_CASE("merge: a device heard by three probes with overlapping presence is one visit") {
  const Walk walk;
  const auto streams = probe_streams({"p1", "p2", "p3"}, walk.scripts(), walk_end);
  SiteMerger merger(mall_config());
  const Recorder r = run(merger, received(streams, 0, 1), walk_end);

  REQUIRE(r.arrivals.size() == 1);
  CHECK(r.arrivals[0].zone == "entrance");
  CHECK(r.arrivals[0].ts_ns == t0 + 5 * s);
  REQUIRE(r.visits.size() == 1);
  const Visit& v = r.visits[0];
  CHECK(v.device == phone);
  CHECK(v.arrival_ns == t0 + 5 * s);
  CHECK(v.departure_ns == t0 + 605 * s);
  CHECK(v.dwell_s == 600);
  CHECK(v.zones == std::vector<std::string>{"entrance", "food court", "atrium"});
  CHECK(v.entry_zone == "entrance");
  CHECK(v.exit_zone == "atrium");
  CHECK(v.randomized);
  CHECK(v.fingerprint == 0x1234);  // the latest one reported
  CHECK(v.end == VisitEnd::departed);
  REQUIRE(v.probes.size() == 3);
  check_probe(v.probes[0], "p1", "entrance", walk.at_p1);
  check_probe(v.probes[1], "p2", "food court", walk.at_p2);
  check_probe(v.probes[2], "p3", "atrium", walk.at_p3);
  CHECK(v.frames_heard == walk.at_p1.size() + walk.at_p2.size() + walk.at_p3.size());
  CHECK(v.frames == v.frames_heard);  // no raw sightings: nothing known to be duplicate
  REQUIRE_FALSE(v.strongest_zone.empty());
  CHECK(v.strongest_zone.front() == ZoneSegment{t0 + 5 * s, "entrance"});
  CHECK(v.strongest_zone.back().zone == "atrium");  // alone at the end

  const auto& c = merger.counters();
  CHECK(c.site_arrivals == 1);
  CHECK(c.visits == 1);
  CHECK(c.devices == 0);
  CHECK(c.events_in == c.arrivals + c.updates + c.departures + c.unknown_probe);
  CHECK(c.arrivals == 3);
  CHECK(c.departures == 3);
  CHECK(c.adopted == 0);
  CHECK(merger.occupancy().present == 0);
}

TEST_CASE("merge: the order in which probes' events interleave does not change the visit") {
  const Walk walk;
  const auto streams = probe_streams({"p1", "p2", "p3"}, walk.scripts(), walk_end);
  SiteMerger reference_merger(mall_config());
  const Recorder reference = run(reference_merger, received(streams, 0, 1), walk_end);
  REQUIRE(reference.visits.size() == 1);

  for (unsigned seed = 1; seed <= 8; ++seed) {
    CAPTURE(seed);
    SiteMerger merger(mall_config());
    const Recorder r = run(merger, received(streams, 30 * s, seed), walk_end);  // up to 30 s uplink delay
    REQUIRE(r.visits.size() == 1);
    CHECK(r.visits[0] == reference.visits[0]);
  }

  // Each probe's whole stream after the other's (a probe replaying its backlog long after the others): the
  // site clock waits for the probes behind, so it stays one visit without any grace ...
  SiteMerger no_grace(mall_config());
  const Recorder after = run(no_grace, one_probe_after_another(streams), walk_end);
  REQUIRE(after.visits.size() == 1);
  CHECK(after.visits[0] == reference.visits[0]);

  // ... as long as they lag by less than max_probe_lag_ns. With 0 (the clock is the newest event of any probe:
  // nobody is waited for), every probe's part closes before the next probe's stream comes: three visits.
  SiteMergeConfig no_wait = mall_config();
  no_wait.max_probe_lag_ns = 0;
  SiteMerger newest_clock(no_wait);
  CHECK(run(newest_clock, one_probe_after_another(streams), walk_end).visits.size() == 3);
  CHECK(newest_clock.counters().late_events > 0);

  SiteMergeConfig with_grace = mall_config();
  with_grace.visit_grace_ns = 900 * s;
  SiteMerger graced(with_grace);
  const Recorder r = run(graced, one_probe_after_another(streams), walk_end);
  REQUIRE(r.visits.size() == 1);
  CHECK(r.visits[0] == reference.visits[0]);
  CHECK(graced.counters().rejoined == 2);
}

TEST_CASE("merge: a long gap gives two visits; a gap shorter than the departure silence does not") {
  const std::vector<Heard> early = every(t0 + 5 * s, t0 + 65 * s, 10 * s, {-60});
  SUBCASE("same probe, 15 minutes apart") {
    const auto streams = probe_streams({"p1"}, {{"p1", laptop, early}, {"p1", laptop, every(t0 + 1000 * s, t0 + 1060 * s, 10 * s, {-60})}}, walk_end);
    SiteMerger merger(mall_config());
    const Recorder r = run(merger, received(streams, 0, 1), walk_end);
    REQUIRE(r.visits.size() == 2);
    CHECK(r.visits[0].departure_ns == t0 + 65 * s);
    CHECK(r.visits[1].arrival_ns == t0 + 1000 * s);
    CHECK(r.visits[1].dwell_s == 60);
    CHECK_FALSE(r.visits[0].randomized);
  }
  SUBCASE("two probes, coverage gap of 435 s (> 300 s silence): two visits, one per zone") {
    const auto streams = probe_streams({"p1", "p2"}, {{"p1", laptop, early}, {"p2", laptop, every(t0 + 500 * s, t0 + 560 * s, 10 * s, {-60})}}, walk_end);
    SiteMerger merger(mall_config());
    const Recorder r = run(merger, received(streams, 0, 1), walk_end);
    REQUIRE(r.visits.size() == 2);
    CHECK(r.visits[0].zones == std::vector<std::string>{"entrance"});
    CHECK(r.visits[1].zones == std::vector<std::string>{"food court"});

    SiteMergeConfig graced = mall_config();
    graced.visit_grace_ns = 600 * s;
    SiteMerger bridged(graced);
    const Recorder rb = run(bridged, received(streams, 0, 1), walk_end);
    REQUIRE(rb.visits.size() == 1);
    CHECK(rb.visits[0].zones == std::vector<std::string>{"entrance", "food court"});
    CHECK(rb.visits[0].dwell_s == 555);
    CHECK(bridged.counters().rejoined == 1);
  }
  SUBCASE("two probes, coverage gap of 135 s: one visit without any grace") {
    const auto streams = probe_streams({"p1", "p2"}, {{"p1", laptop, early}, {"p2", laptop, every(t0 + 200 * s, t0 + 260 * s, 10 * s, {-60})}}, walk_end);
    SiteMerger merger(mall_config());
    const Recorder r = run(merger, received(streams, 0, 1), walk_end);
    REQUIRE(r.visits.size() == 1);
    CHECK(r.visits[0].zones == std::vector<std::string>{"entrance", "food court"});
    CHECK(r.visits[0].entry_zone == "entrance");
    CHECK(r.visits[0].exit_zone == "food court");
  }
  SUBCASE("back to a zone after the probe there let it go: A, B, A") {
    const auto streams = probe_streams(
        {"p1", "p2"},
        {{"p1", laptop, early}, {"p2", laptop, every(t0 + 100 * s, t0 + 700 * s, 10 * s, {-60})},
         {"p1", laptop, every(t0 + 600 * s, t0 + 660 * s, 10 * s, {-60})}},
        walk_end);
    SiteMerger merger(mall_config());
    const Recorder r = run(merger, received(streams, 0, 1), walk_end);
    REQUIRE(r.visits.size() == 1);
    CHECK(r.visits[0].zones == std::vector<std::string>{"entrance", "food court", "entrance"});
    REQUIRE(r.visits[0].probes.size() == 2);
    CHECK(r.visits[0].probes[0].presences == 2);
    CHECK(r.visits[0].probes[0].frames == 14);
    CHECK(r.visits[0].probes[0].first_seen_ns == t0 + 5 * s);
    CHECK(r.visits[0].probes[0].last_seen_ns == t0 + 660 * s);
  }
}

namespace {
// A hand-made event; the interval statistics are zero (as from a version 1 probe) unless given.
PresenceEvent event(PresenceKind kind, const MacAddress& mac, std::int64_t ts, std::int64_t first, std::int64_t last,
                    std::uint32_t frames, std::int8_t rssi = -60, std::uint32_t interval_frames = 0,
                    std::int8_t interval_rssi = 0) {
  PresenceEvent e;
  e.kind = kind;
  if (kind == PresenceKind::departure) e.cause = footfall::DepartureCause::silence;
  e.ts_ns = ts;
  e.mac = mac;
  e.randomized = mac.locally_administered();
  e.first_seen_ns = first;
  e.last_seen_ns = last;
  e.frames = frames;
  e.rssi_min = e.rssi_max = e.rssi_mean = rssi;
  e.interval_frames = interval_frames;
  e.interval_rssi_mean = interval_rssi;
  return e;
}
PresenceEvent arrival(const MacAddress& mac, std::int64_t t, std::int8_t rssi = -60) {
  return event(PresenceKind::arrival, mac, t, t, t, 1, rssi, 1, rssi);
}
PresenceEvent departure(const MacAddress& mac, std::int64_t first, std::int64_t last, std::uint32_t frames) {
  return event(PresenceKind::departure, mac, last, first, last, frames);
}

std::uint32_t zone_count(const SiteOccupancy& o, const std::string& zone) {
  for (const auto& z : o.zones)
    if (z.zone == zone) return z.devices;
  FAIL("no zone " << zone);
  return 0;
}
}  // namespace

TEST_CASE("merge: occupancy of the site and per zone") {
  SiteMergeConfig c;
  c.probes = {{"p1", "entrance"}, {"p2", "entrance"}, {"p3", "atrium"}};
  c.visit_grace_ns = 100 * s;
  SiteMerger m(c);
  Recorder r;
  m.on_presence("p1", arrival(laptop, t0 + 1 * s), r);
  m.on_presence("p2", arrival(laptop, t0 + 2 * s), r);  // same zone twice: counted once there
  m.on_presence("p2", arrival(phone, t0 + 3 * s), r);
  m.on_presence("p3", arrival(phone, t0 + 4 * s), r);  // in reach of both zones: counted in both
  m.on_presence("p3", arrival(watch, t0 + 5 * s), r);
  SiteOccupancy o = m.occupancy();
  CHECK(o.present == 3);
  CHECK(o.leaving == 0);
  CHECK(zone_count(o, "entrance") == 2);
  CHECK(zone_count(o, "atrium") == 2);
  CHECK(o.zones.size() == 2);
  CHECK(r.arrivals.size() == 3);

  m.on_presence("p1", departure(laptop, t0 + 1 * s, t0 + 10 * s, 3), r);
  CHECK(zone_count(m.occupancy(), "entrance") == 2);  // still heard at p2
  m.on_presence("p2", departure(laptop, t0 + 2 * s, t0 + 20 * s, 3), r);
  o = m.occupancy();
  CHECK(o.present == 2);
  CHECK(o.leaving == 1);  // within the grace
  CHECK(zone_count(o, "entrance") == 1);
  CHECK(r.visits.empty());
  m.advance(t0 + 119 * s, r);
  CHECK(r.visits.empty());
  m.advance(t0 + 120 * s, r);  // last heard at +20 s, grace 100 s
  REQUIRE(r.visits.size() == 1);
  CHECK(r.visits[0].device == laptop);
  CHECK(r.visits[0].dwell_s == 19);
  CHECK(m.occupancy().leaving == 0);
  CHECK(m.counters().devices == 2);
}

TEST_CASE("merge: strongest zone over time from the probes' interval statistics") {
  // The phone stands at A for two minutes, at B for two, then at A again; both probes hear every frame.
  // Update instants are t0 + 60 s, 120 s, ...: segments start at the interval in which the lead changed.
  std::vector<Heard> at_a, at_b;
  for (std::int64_t t = 5; t < 300; t += 10) {
    const bool near_b = t >= 120 && t < 240;
    at_a.push_back(Heard{t0 + t * s, static_cast<std::int8_t>(near_b ? -80 : -55)});
    at_b.push_back(Heard{t0 + t * s, static_cast<std::int8_t>(near_b ? -55 : -80)});
  }
  const auto streams = probe_streams({"p1", "p2"}, {{"p1", phone, at_a}, {"p2", phone, at_b}}, walk_end);
  SiteMergeConfig c;
  c.probes = {{"p1", "A"}, {"p2", "B"}};
  SiteMerger m(c);
  const Recorder r = run(m, received(streams, 0, 1), walk_end);
  REQUIRE(r.visits.size() == 1);
  const std::vector<ZoneSegment> expected{{t0 + 5 * s, "A"}, {t0 + 120 * s, "B"}, {t0 + 240 * s, "A"}};
  CHECK(r.visits[0].strongest_zone == expected);
  // Cumulative means alone never put B ahead (at best a tie at t0 + 240 s); over the stay A -65, B -70.
  CHECK(r.visits[0].probes[0].rssi_mean == -65);
  CHECK(r.visits[0].probes[1].rssi_mean == -70);
}

TEST_CASE("merge: after a long stay a short move still shows, since each interval's own mean is known") {
  // Twenty minutes at A, two at B, three at A again. The cumulative means after twenty minutes barely move
  // in two minutes: a strength derived from them could not tell B ahead; the events' interval means can.
  std::vector<Heard> at_a, at_b;
  for (std::int64_t t = 5; t < 1500; t += 10) {
    const bool near_b = t >= 1200 && t < 1320;
    at_a.push_back(Heard{t0 + t * s, static_cast<std::int8_t>(near_b ? -78 : -52)});
    at_b.push_back(Heard{t0 + t * s, static_cast<std::int8_t>(near_b ? -50 : -75)});
  }
  const auto streams = probe_streams({"p1", "p2"}, {{"p1", phone, at_a}, {"p2", phone, at_b}}, walk_end);
  SiteMergeConfig c;
  c.probes = {{"p1", "A"}, {"p2", "B"}};
  for (unsigned seed : {1u, 2u, 3u}) {
    CAPTURE(seed);
    SiteMerger m(c);
    const Recorder r = run(m, received(streams, 20 * s, seed), walk_end);
    REQUIRE(r.visits.size() == 1);
    const std::vector<ZoneSegment> expected{{t0 + 5 * s, "A"}, {t0 + 1200 * s, "B"}, {t0 + 1320 * s, "A"}};
    CHECK(r.visits[0].strongest_zone == expected);
    CHECK(m.counters().samples_late == 0);
  }
}

TEST_CASE("merge: interval strength is exact per event; arrival and update in one interval combine") {
  SiteMergeConfig c;
  c.probes = {{"p1", "A"}, {"p2", "B"}};
  SiteMerger m(c);
  Recorder r;
  const std::int64_t a = t0 + 1 * s;
  // Interval ending t0 + 60 s. A: arrival frame -40 plus 3 frames at -75 (together -66.25); B: 4 at -65.
  // Taken apart, A's one loud arrival frame would have won the interval.
  m.on_presence("p1", arrival(phone, a, -40), r);
  m.on_presence("p2", arrival(phone, a, -65), r);
  m.on_presence("p1", event(PresenceKind::update, phone, t0 + 60 * s, a, t0 + 59 * s, 4, -66, 3, -75), r);
  m.on_presence("p2", event(PresenceKind::update, phone, t0 + 60 * s, a, t0 + 59 * s, 4, -65, 3, -65), r);
  // Interval ending t0 + 120 s: B gets 2 loud frames (-20) after 100 quiet ones; A stays at -60.
  // The cumulative mean of B hardly moves, its interval mean says -20: B leads that interval.
  m.on_presence("p2", event(PresenceKind::update, phone, t0 + 120 * s, a, t0 + 119 * s, 6, -52, 2, -20), r);
  m.on_presence("p1", event(PresenceKind::update, phone, t0 + 120 * s, a, t0 + 119 * s, 24, -60, 20, -60), r);
  // Interval ending t0 + 180 s: frames without a signal value (interval mean 0) give no sample; A's departure
  // (last heard t0 + 150 s, 5 frames at -70) is the only one: A.
  m.on_presence("p2", event(PresenceKind::update, phone, t0 + 180 * s, a, t0 + 170 * s, 9, -52, 3, 0), r);
  m.on_presence("p1", event(PresenceKind::departure, phone, t0 + 150 * s, a, t0 + 150 * s, 29, -62, 5, -70), r);
  m.on_presence("p2", event(PresenceKind::departure, phone, t0 + 170 * s, a, t0 + 170 * s, 9, -52, 0, 0), r);
  CHECK(r.visits.empty());         // p1 has not reported beyond t0 + 150 s yet
  m.advance(t0 + 180 * s, r);      // both probes have reported this far
  REQUIRE(r.visits.size() == 1);
  // B leads the first two intervals (one segment), A the third.
  CHECK(r.visits[0].strongest_zone == std::vector<ZoneSegment>{{a, "B"}, {t0 + 120 * s, "A"}});
  CHECK(m.counters().samples_late == 0);

  // Events without interval statistics (a probe still on wire version 1) give no samples at all: the
  // strongest zone is then the entry zone alone.
  SiteMerger old(c);
  Recorder r2;
  PresenceEvent v1_arrival = arrival(phone, a, -40);
  v1_arrival.interval_frames = 0;
  v1_arrival.interval_rssi_mean = 0;
  old.on_presence("p2", v1_arrival, r2);
  old.on_presence("p1", event(PresenceKind::update, phone, t0 + 60 * s, a, t0 + 59 * s, 4, -70), r2);
  old.on_presence("p2", event(PresenceKind::departure, phone, t0 + 59 * s, a, t0 + 59 * s, 4, -40), r2);
  old.on_presence("p1", event(PresenceKind::departure, phone, t0 + 59 * s, a, t0 + 59 * s, 4, -70), r2);
  old.advance(t0 + 60 * s, r2);
  REQUIRE(r2.visits.size() == 1);
  CHECK(r2.visits[0].strongest_zone == std::vector<ZoneSegment>{{a, "B"}});
}

TEST_CASE("merge: a BLE device and a WiFi device with the same 48 bits are two visits") {
  SiteMergeConfig c;
  c.probes = {{"p1", "A"}, {"p2", "A"}};
  SiteMerger m(c);
  Recorder r;
  PresenceEvent ble_arrival = arrival(laptop, t0 + 2 * s);
  ble_arrival.ble = true;
  m.on_presence("p1", arrival(laptop, t0 + 1 * s), r);
  m.on_presence("p1", ble_arrival, r);
  REQUIRE(r.arrivals.size() == 2);
  CHECK_FALSE(r.arrivals[0].ble);
  CHECK(r.arrivals[1].ble);
  CHECK(m.occupancy().present == 2);
  CHECK(m.counters().devices == 2);
  CHECK(m.counters().repeated_arrivals == 0);

  // Raw WiFi frames deduplicate against the WiFi device only.
  Sighting f;
  f.mac = laptop;
  f.seq = 7;
  f.ts_ns = t0 + 3 * s;
  m.on_sighting("p1", f);
  f.ts_ns += 100 * ms;
  m.on_sighting("p2", f);  // the same frame heard by the other probe
  CHECK(m.counters().duplicate_frames == 1);

  PresenceEvent ble_departure = departure(laptop, t0 + 2 * s, t0 + 40 * s, 9);
  ble_departure.ble = true;
  m.on_presence("p1", ble_departure, r);
  m.advance(t0 + 40 * s, r);  // p2, silent all along, has reported this far too
  REQUIRE(r.visits.size() == 1);
  CHECK(r.visits[0].ble);
  CHECK(r.visits[0].device == laptop);
  CHECK(r.visits[0].frames_heard == 9);
  CHECK(r.visits[0].duplicate_frames == 0);
  CHECK(m.occupancy().present == 1);  // the WiFi one is still there

  m.on_presence("p1", departure(laptop, t0 + 1 * s, t0 + 20 * s, 5), r);
  REQUIRE(r.visits.size() == 2);
  CHECK_FALSE(r.visits[1].ble);
  CHECK(r.visits[1].frames_heard == 5);
  CHECK(r.visits[1].duplicate_frames == 1);
  CHECK(r.visits[1].dwell_s == 19);
}

TEST_CASE("merge: a frame heard by two probes counts once when raw sightings show it") {
  SiteMergeConfig c;
  c.probes = {{"p1", "A"}, {"p2", "B"}};
  SiteMerger m(c);
  Recorder r;
  const std::int64_t a = t0 + 10 * s;
  m.on_presence("p1", arrival(laptop, a), r);
  m.on_presence("p2", arrival(laptop, a + 100 * ms), r);
  auto frame = [](std::int64_t ts, std::uint16_t seq, SightingKind kind = SightingKind::probe_req) {
    Sighting f;
    f.ts_ns = ts;
    f.mac = laptop;
    f.seq = seq;
    f.kind = kind;
    return f;
  };
  for (std::uint16_t seq = 1; seq <= 5; ++seq) m.on_sighting("p1", frame(a + seq * s, seq));
  m.on_sighting("p2", frame(a + 1 * s + 200 * ms, 1));  // within 1 s: duplicate
  m.on_sighting("p2", frame(a + 2 * s - 300 * ms, 2));  // p2's clock a little behind: duplicate
  m.on_sighting("p2", frame(a + 3 * s + 999 * ms, 3));  // 0.999 s: duplicate
  m.on_sighting("p2", frame(a + 4 * s + 1500 * ms, 4)); // 1.5 s: another frame that reused the number
  m.on_sighting("p2", frame(a + 5 * s, 0, SightingKind::ble_adv));
  m.on_sighting("p9", frame(a + 5 * s, 5));
  CHECK(m.counters().duplicate_frames == 3);
  CHECK(m.counters().sightings_not_dedupable == 1);
  CHECK(m.counters().sightings_unknown_probe == 1);
  CHECK(m.counters().unknown_probe == 0);
  CHECK(m.counters().sightings_in == 11);

  m.on_presence("p1", departure(laptop, a, a + 5 * s, 6), r);
  m.on_presence("p2", departure(laptop, a + 100 * ms, a + 6 * s, 4), r);
  m.advance(a + 6 * s, r);
  REQUIRE(r.visits.size() == 1);
  CHECK(r.visits[0].frames_heard == 10);
  CHECK(r.visits[0].duplicate_frames == 3);
  CHECK(r.visits[0].frames == 7);

  // A duplicate of a device not at the site is counted apart.
  m.on_sighting("p1", frame(a + 20 * s, 9));
  m.on_sighting("p2", frame(a + 20 * s, 9));
  CHECK(m.counters().duplicates_without_visit == 1);
}

TEST_CASE("merge: a full table evicts the least recently active device, counted, with its visit") {
  SiteMergeConfig c;
  c.probes = {{"p1", "A"}};
  c.max_devices = 2;
  SiteMerger m(c);
  Recorder r;
  m.on_presence("p1", arrival(laptop, t0 + 1 * s), r);
  m.on_presence("p1", arrival(watch, t0 + 2 * s), r);
  m.on_presence("p1", event(PresenceKind::update, laptop, t0 + 60 * s, t0 + 1 * s, t0 + 50 * s, 5), r);
  m.on_presence("p1", arrival(phone, t0 + 61 * s), r);  // watch is now the least recently active
  REQUIRE(r.visits.size() == 1);
  CHECK(r.visits[0].device == watch);
  CHECK(r.visits[0].end == VisitEnd::evicted);
  CHECK(m.counters().evicted == 1);
  CHECK(m.counters().devices == 2);
  CHECK(m.counters().peak_devices == 2);
  CHECK(m.occupancy().present == 2);

  // Its later departure adopts a fresh presence rather than failing.
  m.on_presence("p1", departure(watch, t0 + 2 * s, t0 + 62 * s, 4), r);
  CHECK(m.counters().adopted == 1);
  CHECK(m.counters().evicted == 2);  // made room again

  REQUIRE(r.visits.size() == 3);
  CHECK(r.visits[1].device == laptop);  // evicted to make room for the watch's return
  CHECK(r.visits[2].device == watch);
  CHECK(r.visits[2].end == VisitEnd::departed);
  m.flush(r);
  CHECK(m.counters().flushed == 1);
  CHECK(m.counters().devices == 0);
  CHECK(m.counters().site_arrivals == m.counters().visits);
  CHECK(r.visits.back().end == VisitEnd::flushed);
}

TEST_CASE("merge: odd input is counted, not fatal; bad config names the key") {
  SiteMergeConfig c;
  c.probes = {{"p1", ""}};
  SiteMerger m(c);
  Recorder r;
  m.on_presence("ghost", arrival(laptop, t0), r);
  CHECK(m.counters().unknown_probe == 1);
  CHECK(r.arrivals.empty());
  m.on_presence("p1", arrival(laptop, t0), r);
  m.on_presence("p1", arrival(laptop, t0), r);  // announced twice
  CHECK(m.counters().repeated_arrivals == 1);
  m.on_presence("p1", arrival(laptop, t0 + 30 * s), r);  // the probe restarted and lost the presence
  CHECK(m.counters().restarted == 1);
  REQUIRE(r.arrivals.size() == 1);
  CHECK(r.arrivals[0].zone == "p1");  // no zone configured: the probe is its own zone
  m.on_presence("p1", departure(laptop, t0 + 30 * s, t0 + 40 * s, 2), r);
  REQUIRE(r.visits.size() == 1);
  CHECK(r.visits[0].probes.at(0).presences == 2);
  CHECK(r.visits[0].dwell_s == 40);

  SiteMergeConfig bad;
  CHECK(validate(bad).find("probes") == 0);
  bad.probes = {{"p1", "A"}, {"p1", "B"}};
  CHECK(validate(bad).find("probes[1].probe_id") == 0);
  bad.probes = {{"p1", "A"}};
  bad.update_interval_ns = 0;
  CHECK(validate(bad).find("update_interval_ns") == 0);
  CHECK_THROWS_AS(SiteMerger{bad}, std::invalid_argument);
}

TEST_CASE("merge: per-visit bounds fold presences and strength samples, counted") {
  SiteMergeConfig c;
  c.probes = {{"p1", "A"}, {"p2", "B"}};
  SUBCASE("presences beyond max_presences_per_visit fold into the probe's latest") {
    c.max_presences_per_visit = 2;
    SiteMerger m(c);
    Recorder r;
    m.on_presence("p2", arrival(laptop, t0 + 1 * s), r);
    const std::int64_t starts[] = {2, 400, 800};
    const std::uint32_t frames[] = {3, 4, 5};
    for (int i = 0; i < 3; ++i) {
      m.on_presence("p1", arrival(laptop, t0 + starts[i] * s), r);
      m.on_presence("p1", departure(laptop, t0 + starts[i] * s, t0 + (starts[i] + 10) * s, frames[i]), r);
    }
    m.on_presence("p2", departure(laptop, t0 + 1 * s, t0 + 900 * s, 50), r);
    m.advance(t0 + 900 * s, r);
    CHECK(m.counters().presences_folded == 2);
    REQUIRE(r.visits.size() == 1);
    const Visit& v = r.visits[0];
    REQUIRE(v.probes.size() == 2);
    CHECK(v.probes[1].probe == "p1");
    CHECK(v.probes[1].presences == 3);
    CHECK(v.probes[1].frames == 12);
    CHECK(v.probes[1].first_seen_ns == t0 + 2 * s);
    CHECK(v.probes[1].last_seen_ns == t0 + 810 * s);
    CHECK(v.zones == std::vector<std::string>{"B", "A"});  // folded re-hearings no longer show as A, B, A
    CHECK(v.frames_heard == 62);
  }
  SUBCASE("strength samples beyond max_strength_samples fold into segments early; later ones are late") {
    c.max_strength_samples = 4;
    SiteMerger m(c);
    Recorder r;
    m.on_presence("p1", arrival(laptop, t0 + 1 * s), r);
    for (std::uint32_t k = 1; k <= 6; ++k)
      m.on_presence("p1", event(PresenceKind::update, laptop, t0 + k * 60 * s, t0 + 1 * s, t0 + (k * 60 - 1) * s, 10 * k,
                                -60, 10, -60), r);
    CHECK(m.counters().samples_folded_early == 4);  // two folds of the older half
    // p2 reports the first interval only now (a very slow uplink): already folded, counted and ignored.
    m.on_presence("p2", event(PresenceKind::update, laptop, t0 + 60 * s, t0 + 2 * s, t0 + 59 * s, 30, -40, 30, -40), r);
    CHECK(m.counters().samples_late == 1);
    CHECK(m.counters().adopted == 1);
    m.on_presence("p2", departure(laptop, t0 + 2 * s, t0 + 59 * s, 30), r);
    m.on_presence("p1", departure(laptop, t0 + 1 * s, t0 + 359 * s, 60), r);
    m.advance(t0 + 360 * s, r);  // p1 declared it gone after its update at +360 s
    REQUIRE(r.visits.size() == 1);
    CHECK(r.visits[0].strongest_zone == std::vector<ZoneSegment>{{t0 + 1 * s, "A"}});
  }
}

namespace {
// One phone at two probes A and B, an update per minute at each carrying the given interval means, then a
// departure at both: the visit's strongest_zone path under `c`.
std::vector<ZoneSegment> path_of(SiteMergeConfig c, const std::vector<std::pair<std::int8_t, std::int8_t>>& minutes) {
  c.probes = {{"p1", "A"}, {"p2", "B"}};
  SiteMerger m(c);
  Recorder r;
  const std::int64_t a = t0 + 1 * s;
  m.on_presence("p1", event(PresenceKind::arrival, phone, a, a, a, 1, -60, 0, 0), r);
  m.on_presence("p2", event(PresenceKind::arrival, phone, a, a, a, 1, -60, 0, 0), r);
  std::uint32_t frames = 1;
  std::int64_t last = a;
  for (std::size_t k = 0; k < minutes.size(); ++k) {
    const std::int64_t instant = t0 + static_cast<std::int64_t>(k + 1) * 60 * s;
    last = instant - 1 * s;
    frames += 6;
    m.on_presence("p1", event(PresenceKind::update, phone, instant, a, last, frames, -60, 6, minutes[k].first), r);
    m.on_presence("p2", event(PresenceKind::update, phone, instant, a, last, frames, -60, 6, minutes[k].second), r);
  }
  m.on_presence("p1", departure(phone, a, last, frames), r);
  m.on_presence("p2", departure(phone, a, last, frames), r);
  REQUIRE(r.visits.size() == 1);
  return r.visits[0].strongest_zone;
}
}  // namespace

TEST_CASE("merge: strongest zone damping: hysteresis in dB and a hold in intervals") {
  const std::int64_t a = t0 + 1 * s;
  const auto from = [](int minute) { return t0 + minute * 60 * s; };
  // Standing between A and B: 1-2 dB of noise flips the loudest probe every minute; then a real move to B.
  const std::vector<std::pair<std::int8_t, std::int8_t>> noisy{
      {-60, -61}, {-61, -60}, {-60, -62}, {-62, -60}, {-60, -61}, {-70, -50}, {-71, -52}, {-69, -50}};

  SiteMergeConfig undamped;
  undamped.strongest_zone_hysteresis_db = 0;
  CHECK(path_of(undamped, noisy) == std::vector<ZoneSegment>{{a, "A"}, {from(1), "B"}, {from(2), "A"}, {from(3), "B"},
                                                            {from(4), "A"}, {from(5), "B"}});
  SiteMergeConfig damped;  // the default: 3 dB
  CHECK(damped.strongest_zone_hysteresis_db == 3);
  CHECK(path_of(damped, noisy) == std::vector<ZoneSegment>{{a, "A"}, {from(5), "B"}});

  // A hold of 2 intervals: a one-minute excursion to B does not count, two minutes do, from the first.
  const std::vector<std::pair<std::int8_t, std::int8_t>> excursions{
      {-55, -75}, {-75, -55}, {-55, -75}, {-75, -55}, {-75, -55}, {-75, -55}};
  SiteMergeConfig held;
  held.strongest_zone_hold_intervals = 2;
  CHECK(path_of(held, excursions) == std::vector<ZoneSegment>{{a, "A"}, {from(3), "B"}});
  CHECK(path_of(SiteMergeConfig{}, excursions) ==
        std::vector<ZoneSegment>{{a, "A"}, {from(1), "B"}, {from(2), "A"}, {from(3), "B"}});
  // A challenge still short of the hold when the visit ends changes nothing.
  CHECK(path_of(held, {{-55, -75}, {-55, -75}, {-75, -55}}) == std::vector<ZoneSegment>{{a, "A"}});

  SiteMergeConfig bad;
  bad.probes = {{"p1", "A"}};
  bad.strongest_zone_hold_intervals = 0;
  CHECK(validate(bad).starts_with("strongest_zone_hold_intervals"));
  bad.strongest_zone_hold_intervals = 1;
  bad.strongest_zone_hysteresis_db = 61;
  CHECK(validate(bad).starts_with("strongest_zone_hysteresis_db"));
}

TEST_CASE("merge: the site clock waits for the slowest probe, up to max_probe_lag_ns") {
  SiteMergeConfig c;
  c.probes = {{"p1", "A"}, {"p2", "B"}};
  REQUIRE(c.max_probe_lag_ns == 3600 * s);
  c.max_probe_lag_ns = 300 * s;
  // The phone is heard at p1 from +0 to +100 s (p1 declares it gone at +400 s), at p2 from +120 s to +500 s;
  // p2's uplink is behind: its events come after p1 has already declared the departure.
  const auto feed_until_p1_departure = [](SiteMerger& m, Recorder& r) {
    m.on_presence("p2", arrival(laptop, t0 + 50 * s), r);
    m.on_presence("p1", arrival(phone, t0), r);
    m.on_presence("p1", event(PresenceKind::departure, phone, t0 + 400 * s, t0, t0 + 100 * s, 10), r);
  };
  SUBCASE("a slow probe's part of the visit is waited for") {
    SiteMerger m(c);
    Recorder r;
    feed_until_p1_departure(m, r);
    CHECK(r.visits.empty());
    CHECK(m.occupancy().leaving == 1);
    CHECK(m.clock_ns() == t0 + 100 * s);  // p2 at +50 s, but at most 300 s behind p1's +400 s
    m.on_presence("p2", arrival(phone, t0 + 120 * s), r);
    m.on_presence("p2", event(PresenceKind::departure, phone, t0 + 800 * s, t0 + 120 * s, t0 + 500 * s, 20), r);
    CHECK(r.visits.empty());  // p1 has reported only up to +400 s
    m.probe_progress("p1", t0 + 800 * s, r);  // p1 heard nothing since
    REQUIRE(r.visits.size() == 1);
    CHECK(r.visits[0].zones == std::vector<std::string>{"A", "B"});
    CHECK(r.visits[0].arrival_ns == t0);
    CHECK(r.visits[0].departure_ns == t0 + 500 * s);
    CHECK(m.counters().rejoined == 1);
    CHECK(m.counters().late_events == 0);

    // p2 goes quiet for good (link down): it holds the site back by max_probe_lag_ns, no more.
    m.on_presence("p1", arrival(watch, t0 + 1000 * s), r);
    m.on_presence("p1", event(PresenceKind::departure, watch, t0 + 1400 * s, t0 + 1000 * s, t0 + 1100 * s, 5), r);
    CHECK(r.visits.size() == 1);
    m.probe_progress("p1", t0 + 1699 * s, r);
    CHECK(r.visits.size() == 1);
    m.probe_progress("p1", t0 + 1700 * s, r);
    REQUIRE(r.visits.size() == 2);
    CHECK(r.visits[1].device == watch);
    CHECK(m.clock_ns() == t0 + 1400 * s);
    // What p2 sends from before the clock now is late, counted.
    m.on_presence("p2", event(PresenceKind::update, laptop, t0 + 900 * s, t0 + 50 * s, t0 + 880 * s, 9), r);
    CHECK(m.counters().late_events == 1);
    m.probe_progress("p9", t0 + 9000 * s, r);  // unknown probe: ignored
    CHECK(m.clock_ns() == t0 + 1400 * s);
  }
  SUBCASE("without the lag bound the clock is the newest event of any probe: the visit splits") {
    c.max_probe_lag_ns = 0;
    SiteMerger m(c);
    Recorder r;
    feed_until_p1_departure(m, r);
    REQUIRE(r.visits.size() == 1);
    m.on_presence("p2", arrival(phone, t0 + 120 * s), r);
    CHECK(m.counters().late_events == 2);  // p1's +0 s after p2's +50 s, and this one after p1's +400 s
    CHECK(m.counters().site_arrivals == 3);  // laptop, phone, phone again
  }
  SUBCASE("a bad bound names the key") {
    c.max_probe_lag_ns = -1;
    CHECK(validate(c).find("max_probe_lag_ns") == 0);
  }
}

namespace {

// The walk of three probes again, by a phone that takes a new random address every minute and keeps its
// sequence counter (as an iPhone 7 does), one fingerprint on every probe.
std::vector<Script> rotating_walk(std::size_t& addresses) {
  const Walk walk;
  std::vector<Script> scripts;
  std::set<std::uint64_t> used;
  auto add = [&](const std::string& probe, const std::vector<Heard>& heard) {
    for (const Heard& h : heard) {
      const auto k = static_cast<std::uint8_t>((h.t - t0 - 5 * s) / (60 * s));
      const MacAddress mac{{0xda, 0xa1, 0x19, 0x00, 0x01, k}};
      used.insert(mac.as_u64());
      if (scripts.empty() || scripts.back().probe != probe || scripts.back().mac != mac)
        scripts.push_back(Script{probe, mac, {}, 0x77, true});
      scripts.back().heard.push_back(h);
    }
  };
  add("p1", walk.at_p1);
  add("p2", walk.at_p2);
  add("p3", walk.at_p3);
  addresses = used.size();
  return scripts;
}

PresenceEvent linked_event(PresenceKind kind, std::int64_t ts, const MacAddress& mac, std::uint64_t device,
                           const MacAddress& previous = {}) {
  PresenceEvent e;
  e.kind = kind;
  e.ts_ns = ts;
  e.mac = mac;
  e.randomized = true;
  e.fingerprint = 0x77;
  e.first_seen_ns = t0;
  e.last_seen_ns = kind == PresenceKind::arrival ? t0 : ts;
  e.frames = 3;
  e.rssi_min = -70;
  e.rssi_max = -60;
  e.rssi_mean = -65;
  e.device = device;
  e.previous_mac = previous;
  e.addresses = previous == MacAddress{} ? 1 : 2;
  return e;
}

const MacAddress address_a = *MacAddress::parse("da:00:00:00:00:0a");
const MacAddress address_b = *MacAddress::parse("da:00:00:00:00:0b");

}  // namespace

TEST_CASE("merge: a phone that changes its address every minute is one visit at three probes") {
  std::size_t addresses = 0;
  const auto scripts = rotating_walk(addresses);
  REQUIRE(addresses == 11);
  for (unsigned seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    SiteMerger merger(mall_config());
    const Recorder r = run(merger, received(probe_streams({"p1", "p2", "p3"}, scripts, walk_end), 90 * s, seed), walk_end);
    CHECK(r.arrivals.size() == 1 + r.merges.size());
    REQUIRE(r.visits.size() == 1);
    const Visit& v = r.visits[0];
    CHECK(v.device == MacAddress{{0xda, 0xa1, 0x19, 0x00, 0x01, 0x00}});  // named by its first address
    CHECK(v.arrival_ns == t0 + 5 * s);
    CHECK(v.departure_ns == t0 + 605 * s);
    CHECK(v.dwell_s == 600);
    CHECK(v.addresses == addresses);
    CHECK(v.zones == std::vector<std::string>{"entrance", "food court", "atrium"});
    const auto& c = merger.counters();
    CHECK(c.site_arrivals == c.visits + c.devices + c.merged);
    CHECK(c.devices == 0);
    CHECK(merger.occupancy().present == 0);
  }
  // Without linking at the probes every address is a visitor of its own: what the site counted before.
  SiteMerger unlinked(mall_config());
  const Recorder naive = run(unlinked, received(probe_streams({"p1", "p2", "p3"}, scripts, walk_end, false), 0, 1), walk_end);
  CHECK(naive.visits.size() == addresses);
}

TEST_CASE("merge: a device one probe announced on its own is absorbed when another probe links its address") {
  SiteMerger m(mall_config());
  Recorder r;
  m.on_presence("p1", linked_event(PresenceKind::arrival, t0, address_a, 1), r);
  m.on_presence("p2", linked_event(PresenceKind::arrival, t0, address_a, 5), r);
  // p2 heard the phone's next address as a new device; p1 then reports it as its device 1's.
  m.on_presence("p2", linked_event(PresenceKind::arrival, t0 + 70 * s, address_b, 6), r);
  CHECK(r.arrivals.size() == 2);
  CHECK(m.occupancy().present == 2);
  m.on_presence("p1", linked_event(PresenceKind::update, t0 + 120 * s, address_b, 1, address_a), r);
  REQUIRE(r.merges.size() == 1);
  CHECK(r.merges[0].absorbed == r.arrivals[1].id);
  CHECK(r.merges[0].into == r.arrivals[0].id);
  CHECK(r.merges[0].absorbed_device == address_b);
  CHECK(r.merges[0].into_device == address_a);
  CHECK(r.merges[0].zone == "entrance");
  CHECK(m.occupancy().present == 1);
  // Every probe presence is now one device's: their departures end one visit.
  m.on_presence("p2", linked_event(PresenceKind::departure, t0 + 130 * s, address_b, 6), r);
  m.on_presence("p2", linked_event(PresenceKind::departure, t0 + 140 * s, address_a, 5), r);
  m.on_presence("p1", linked_event(PresenceKind::departure, t0 + 150 * s, address_b, 1, address_a), r);
  m.advance(t0 + 3600 * s, r);
  REQUIRE(r.visits.size() == 1);
  CHECK(r.visits[0].id == r.arrivals[0].id);
  CHECK(r.visits[0].addresses == 2);
  CHECK(r.visits[0].probes.size() == 2);
  const auto& c = m.counters();
  CHECK(c.merged == 1);
  CHECK(c.site_arrivals == c.visits + c.devices + c.merged);
  CHECK(m.occupancy().present == 0);
}

TEST_CASE("merge: an address a probe gives to another of its devices starts another site device") {
  SiteMerger m(mall_config());
  Recorder r;
  m.on_presence("p1", linked_event(PresenceKind::arrival, t0, address_a, 1), r);
  m.on_presence("p1", linked_event(PresenceKind::update, t0 + 60 * s, address_b, 1, address_a), r);
  CHECK(m.counters().linked_by_device == 1);
  // The first address heard again later: the probe's linker says it is another phone (its device 2).
  m.on_presence("p1", linked_event(PresenceKind::arrival, t0 + 90 * s, address_a, 2), r);
  CHECK(m.counters().split_by_probe == 1);
  REQUIRE(r.arrivals.size() == 2);
  CHECK(r.arrivals[1].device == address_a);
  CHECK(r.arrivals[0].id != r.arrivals[1].id);
  CHECK(m.occupancy().present == 2);
  // Another probe hearing the first address now joins the newest claim: p1's device 2.
  m.on_presence("p2", linked_event(PresenceKind::arrival, t0 + 95 * s, address_a, 9), r);
  CHECK(r.arrivals.size() == 2);
  m.on_presence("p1", linked_event(PresenceKind::departure, t0 + 100 * s, address_b, 1, address_a), r);
  m.on_presence("p1", linked_event(PresenceKind::departure, t0 + 110 * s, address_a, 2), r);
  m.on_presence("p2", linked_event(PresenceKind::departure, t0 + 120 * s, address_a, 9), r);
  m.advance(t0 + 3600 * s, r);
  REQUIRE(r.visits.size() == 2);
  CHECK(r.visits[0].probes.size() + r.visits[1].probes.size() == 3);
  CHECK(m.counters().merged == 0);
}

TEST_CASE("merge: a device keeps its latest max_addresses_per_device addresses") {
  SiteMergeConfig config = mall_config();
  config.max_addresses_per_device = 3;
  SiteMerger m(config);
  Recorder r;
  MacAddress previous;
  for (std::uint8_t k = 0; k < 10; ++k) {
    const MacAddress mac{{0xda, 0, 0, 0, 1, k}};
    m.on_presence("p1", linked_event(k == 0 ? PresenceKind::arrival : PresenceKind::update, t0 + k * 60 * s, mac, 1, previous), r);
    previous = mac;
  }
  CHECK(m.counters().addresses_forgotten == 7);
  // Another probe's new device with the third-newest address joins; one with a forgotten address does not.
  m.on_presence("p2", linked_event(PresenceKind::arrival, t0 + 600 * s, MacAddress{{0xda, 0, 0, 0, 1, 7}}, 4), r);
  CHECK(r.arrivals.size() == 1);
  m.on_presence("p3", linked_event(PresenceKind::arrival, t0 + 600 * s, MacAddress{{0xda, 0, 0, 0, 1, 6}}, 4), r);
  CHECK(r.arrivals.size() == 2);
  m.flush(r);
  REQUIRE(r.visits.size() == 2);
  CHECK(r.visits[0].addresses + r.visits[1].addresses == 11);
  SiteMergeConfig bad = mall_config();
  bad.max_addresses_per_device = 0;
  CHECK(validate(bad) == "max_addresses_per_device: 1 .. 65535");
}

TEST_CASE("merge: a full visit never folds a new presence over an open one; no link outlives its device") {
  SiteMergeConfig config = mall_config();
  config.max_presences_per_visit = 3;
  SiteMerger m(config);
  Recorder r;
  const MacAddress address_c = *MacAddress::parse("da:00:00:00:00:0c");
  // One phone: p1's device 1, and two devices of p2 that a merge joins (p2 announced the next address apart).
  m.on_presence("p1", linked_event(PresenceKind::arrival, t0, address_a, 1), r);
  m.on_presence("p2", linked_event(PresenceKind::arrival, t0, address_c, 2), r);
  m.on_presence("p1", linked_event(PresenceKind::update, t0 + 60 * s, address_c, 1, address_a), r);
  m.on_presence("p2", linked_event(PresenceKind::arrival, t0 + 70 * s, address_b, 3), r);
  m.on_presence("p1", linked_event(PresenceKind::update, t0 + 120 * s, address_b, 1, address_c), r);
  REQUIRE(r.merges.size() == 2);
  // The visit is full (3 presences: p1/1, p2/2, p2/3, all open). p2 restarts and numbers from 1 again: its
  // device 2 comes back with another first_seen, a new presence of p2 while p2/3 is still open.
  PresenceEvent restarted = linked_event(PresenceKind::update, t0 + 130 * s, address_b, 2);
  restarted.first_seen_ns = t0 + 125 * s;
  m.on_presence("p2", restarted, r);
  m.on_presence("p2", linked_event(PresenceKind::update, t0 + 140 * s, address_b, 3), r);  // p2/3 goes on
  for (const auto& [probe, device] : std::vector<std::pair<std::string, std::uint64_t>>{{"p1", 1}, {"p2", 3}}) {
    PresenceEvent gone = linked_event(PresenceKind::departure, t0 + 150 * s, address_b, device);
    m.on_presence(probe, gone, r);
  }
  PresenceEvent gone = linked_event(PresenceKind::departure, t0 + 150 * s, address_b, 2);
  gone.first_seen_ns = t0 + 125 * s;
  m.on_presence("p2", gone, r);
  m.advance(t0 + 3600 * s, r);
  REQUIRE(r.visits.size() == 1);
  CHECK(m.occupancy().present == 0);
  // The probes' device numbers outlived the visit only on the probes: an event naming one now starts a new device.
  m.on_presence("p2", linked_event(PresenceKind::arrival, t0 + 4000 * s, address_c, 3), r);
  CHECK(m.counters().stale_links == 0);
  CHECK(m.counters().site_arrivals == m.counters().visits + m.counters().devices + m.counters().merged);
}
