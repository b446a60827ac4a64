// What device linking costs per frame, beside the rest of the probe's per-frame work on the same frames.
// All frames are held in memory first, so no figure includes reading a file.
//
//   link_cost capture FILE [--repeat N]
//   link_cost crowd [--devices N] [--fingerprints M] [--rotate P] [--seconds S] [--seed S] [--repeat N]
//   link_cost crowd ... --write OUT.pcap: writes the crowd as a capture (for bench/probe_pipeline.sh) instead
//   either with --gate-db DB: link_rssi_gate_db DB, link_rssi_gate_k 0 (not the defaults: a narrow gate refuses
//   most candidates, lists grow and walks reach link_max_candidates: the walk's worst case)
//
// capture: the frames of a pcap file (a footfall-sim capture or a real one), from an empty table.
// crowd: a synthetic crowd of N phones present at once, of M models (tools/sim/crowd.h); its 120 s warm-up
//   goes through the tracker untimed before the S timed seconds.
//
// Stages, each run --repeat times interleaved, min and median printed in ns per (timed) frame:
//   parse                 parse_packet + to_sighting, as the capture stage calls them;
//   presence, link off    PresenceTracker (probe defaults), presence.link_addresses false: events counted;
//   presence, link on     the same with linking on;
//   linker's own work     a DeviceTable and its DeviceLinker driven as the tracker drives them, less the same
//                         drive replaying the linker's decisions on the table without the linker (so the
//                         table work is the same in both): what the linker itself adds, per frame;
//   place()               each call timed on its own (cycle counter, its own cost taken off): a new address's
//                         index lookups and candidate walk.
// Candidates: for each new random address with a fingerprint, the linkable devices of that fingerprint
// present at that moment (what the linker's walk may visit; it stops at link_max_candidates).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "probe/capture/pcap_source.h"
#include "probe/config/probe_config.h"
#include "probe/parse/packet.h"
#include "probe/pipeline/sighting.h"
#include "probe/presence/device_linker.h"
#include "probe/presence/device_table.h"
#include "probe/presence/presence_tracker.h"
#include "tools/sim/crowd.h"
#include "tools/sim/pcap_writer.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace {

using namespace footfall;
using namespace footfall::probe;
using Clock = std::chrono::steady_clock;

constexpr int kRadiotapLinkType = 127;

// Frames in one buffer, as the capture stage sees them.
struct Frames {
  struct Record {
    std::int64_t ts_ns;
    std::uint32_t offset;
    std::uint32_t length;
  };
  int link_type = kRadiotapLinkType;
  std::vector<std::uint8_t> bytes;
  std::vector<Record> records;
  std::size_t timed_from = 0;  // records before this are the untimed warm-up of the presence stages
  std::uint64_t phones = 0;     // crowd: phones heard in the timed part, those with random addresses (truth)
  std::uint64_t random_phones = 0;
  std::uint64_t all_phones = 0;  // crowd: phones heard at all (warm-up included), those with random addresses
  std::uint64_t all_random_phones = 0;

  void add(std::int64_t ts_ns, std::span<const std::uint8_t> record) {
    records.push_back({ts_ns, static_cast<std::uint32_t>(bytes.size()), static_cast<std::uint32_t>(record.size())});
    bytes.insert(bytes.end(), record.begin(), record.end());
  }
  [[nodiscard]] std::span<const std::uint8_t> at(std::size_t i) const {
    return {bytes.data() + records[i].offset, records[i].length};
  }
  [[nodiscard]] std::size_t timed() const { return records.size() - timed_from; }
};

Frames read_capture(const std::string& path) {
  capture::PcapSource source = capture::PcapSource::open_file(path);
  Frames f;
  f.link_type = source.link_type();
  capture::PacketView p;
  for (;;) {
    const capture::ReadStatus status = source.next(p);
    if (status == capture::ReadStatus::end) break;
    if (status != capture::ReadStatus::packet) throw std::runtime_error("capture: " + source.error_message());
    f.add(p.ts_ns, p.bytes);
  }
  return f;
}

Frames crowd_frames(const sim::CrowdOptions& o) {
  Frames f;
  f.link_type = kRadiotapLinkType;
  const sim::CrowdTruth truth = sim::generate_crowd(o, [&f](const sim::CrowdFrame& frame) {
    f.add(frame.ts_ns, frame.record);
    if (frame.warmup) f.timed_from = f.records.size();
  });
  f.phones = truth.phones;
  f.random_phones = truth.random_phones;
  f.all_phones = truth.all_phones;
  f.all_random_phones = truth.all_random_phones;
  return f;
}

// Events counted by kind; devices of each fingerprint present, for the candidate figures.
struct CountingSink : presence::PresenceSink {
  std::uint64_t events = 0;
  std::uint64_t devices_seen = 0;  // distinct `device` values
  bool track_fingerprints = false;
  std::unordered_map<std::uint64_t, std::uint32_t> present;  // fingerprint -> linkable devices present
  void on_presence(const PresenceEvent& e, DepartureCause) override {
    ++events;
    if (e.kind == PresenceKind::arrival) devices_seen = std::max<std::uint64_t>(devices_seen, e.device);
    if (!track_fingerprints || !e.randomized || e.fingerprint == 0) return;
    if (e.kind == PresenceKind::arrival) ++present[e.fingerprint];
    if (e.kind == PresenceKind::departure) --present[e.fingerprint];
  }
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Into `out`, whose memory is kept from run to run so that first-touch page faults are not timed.
double parse_all(const Frames& f, std::vector<Sighting>& out) {
  out.clear();
  out.reserve(f.records.size());
  const auto t0 = Clock::now();
  for (std::size_t i = 0; i < f.records.size(); ++i) {
    const std::span<const std::uint8_t> bytes = f.at(i);
    const parse::ParsedPacket parsed =
        parse::parse_packet(f.link_type, bytes, static_cast<std::uint32_t>(bytes.size()), false);
    if (parsed.what == parse::ParsedPacket::What::dropped) continue;
    if (const auto s = pipeline::to_sighting(parsed, f.records[i].ts_ns)) out.push_back(*s);
  }
  return seconds_since(t0);
}

// The probe's defaults (probe.json), with linking on or off; a gate below the defaults (--gate-db) makes the
// linker refuse most candidates, so that a fingerprint's list grows and walks reach link_max_candidates.
struct Setup {
  std::optional<double> gate_db;
  [[nodiscard]] presence::PresenceConfig presence(bool link) const {
    presence::PresenceConfig c = config::presence_config(config::ProbeConfig{}.presence);
    c.link.link_addresses = link;
    if (gate_db) {
      c.link.rssi_gate_db = *gate_db;
      c.link.rssi_gate_k = 0;
    }
    return c;
  }
};

struct PresenceRun {
  double seconds = 0;
  std::uint64_t events = 0;
  std::uint64_t devices = 0;
  presence::PresenceCounters counters;
};

// The sightings of the warm-up frames go in untimed; `warm` is how many of `sightings` they are.
PresenceRun run_presence(const Setup& setup, const std::vector<Sighting>& sightings, std::size_t warm, bool link) {
  presence::PresenceTracker tracker(setup.presence(link));
  CountingSink sink;
  for (std::size_t i = 0; i < warm; ++i) {
    tracker.advance(sightings[i].ts_ns, sink);
    tracker.on_sighting(sightings[i], sink);
  }
  const auto t0 = Clock::now();
  for (std::size_t i = warm; i < sightings.size(); ++i) {
    tracker.advance(sightings[i].ts_ns, sink);
    tracker.on_sighting(sightings[i], sink);
  }
  tracker.flush(sink);
  PresenceRun r;
  r.seconds = seconds_since(t0);
  r.events = sink.events;
  r.devices = sink.devices_seen;
  r.counters = tracker.counters();
  return r;
}

struct Candidates {
  std::uint64_t new_random = 0;  // new random addresses with a fingerprint (timed part)
  double sum = 0;                // linkable devices of that fingerprint present
  double sum_capped = 0;         // the same, at most link_max_candidates
  std::uint64_t at_cap = 0;
  std::uint32_t max = 0;
  std::uint64_t fingerprints = 0;  // distinct fingerprints of linkable devices
};

// Untimed: a linking run that looks, before each new random address, at how many candidates it has.
Candidates count_candidates(const Setup& setup, const std::vector<Sighting>& sightings, std::size_t warm) {
  const presence::PresenceConfig config = setup.presence(true);
  presence::PresenceTracker tracker(config);
  CountingSink sink;
  sink.track_fingerprints = true;
  Candidates c;
  for (std::size_t i = 0; i < sightings.size(); ++i) {
    const Sighting& s = sightings[i];
    tracker.advance(s.ts_ns, sink);
    const std::uint64_t before = tracker.counters().link.new_addresses;
    const auto it = sink.present.find(s.fingerprint);
    const std::uint32_t present = it == sink.present.end() ? 0 : it->second;
    tracker.on_sighting(s, sink);
    if (i < warm || tracker.counters().link.new_addresses == before) continue;
    if (s.kind != SightingKind::probe_req || s.fingerprint == 0 || !s.mac.locally_administered()) continue;
    ++c.new_random;
    c.sum += present;
    c.sum_capped += std::min(present, config.link.max_candidates);
    if (present >= config.link.max_candidates) ++c.at_cap;
    c.max = std::max(c.max, present);
  }
  c.fingerprints = sink.present.size();
  return c;
}

// A cycle counter where there is one (cheaper to read than the clock), else the clock in ns.
std::uint64_t ticks() {
#if defined(__x86_64__)
  return __rdtsc();
#else
  return static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
#endif
}

enum class Drive : std::uint8_t {
  linker,       // the table and its linker, as the tracker drives them; records the linker's decisions
  replay,       // the same table operations from the recorded decisions, no linker: what linking adds is the difference
  time_place,   // as `linker`, with each place() call timed on its own
};

struct DriveRun {
  double seconds = 0;  // the timed part
  std::uint64_t place_calls = 0;
  std::uint64_t new_addresses = 0;  // of the timed part
  double place_ns = 0;  // per call, the timer's own cost taken off
};

// Drives a DeviceTable and its DeviceLinker in the order PresenceTracker::on_sighting does (departure by
// silence, eviction of the least recently heard when full, last_seen; no events, no statistics). `decision`
// holds, per sighting whose address no device holds, what place() answered (the device, or no_record).
DriveRun drive(const Setup& setup, const std::vector<Sighting>& sightings, std::size_t warm, Drive mode,
               std::vector<std::uint32_t>& decision) {
  const presence::PresenceConfig config = setup.presence(true);
  presence::DeviceTable table(config.max_devices);
  presence::DeviceLinker linker(config.link, config.max_devices);
  presence::LinkCounters counters;
  const bool with_linker = mode != Drive::replay;
  if (mode == Drive::linker) decision.assign(sightings.size(), presence::no_record);
  DriveRun r;
  std::uint64_t place_ticks = 0;
  const auto depart = [&](std::uint32_t pos) {
    if (with_linker) linker.forget(table, pos);
    table.erase(pos);
  };
  Clock::time_point t0 = Clock::now();
  std::uint64_t new_before = 0;
  for (std::size_t i = 0; i < sightings.size(); ++i) {
    if (i == warm) {
      t0 = Clock::now();
      new_before = counters.new_addresses;
    }
    const Sighting& s = sightings[i];
    if (s.kind != SightingKind::probe_req || (s.has_rssi && s.rssi_dbm < config.signal_floor_dbm)) continue;
    for (std::uint32_t old = table.least_recent();
         old != presence::no_record && table.at(old).last_seen_ns + config.departure_silence_ns <= s.ts_ns;
         old = table.least_recent())
      depart(old);
    const std::uint64_t key = s.mac.as_u64();
    std::uint32_t pos = table.find(key);
    if (pos == presence::no_record) {
      if (mode == Drive::replay) {
        pos = decision[i];
        if (pos != presence::no_record) table.rekey(pos, key);  // what the linker's address change does to the table
      } else if (mode == Drive::time_place && i >= warm) {
        const std::uint64_t k0 = ticks();
        pos = linker.place(table, key, s, counters);
        place_ticks += ticks() - k0;
        ++r.place_calls;
      } else {
        pos = linker.place(table, key, s, counters);
        decision[i] = pos;
      }
      if (pos == presence::no_record) {
        if (table.size() == table.capacity()) depart(table.least_recent());
        pos = table.insert(key);
        presence::DeviceRecord& n = table.at(pos);
        n.first_seen_ns = n.last_seen_ns = s.ts_ns;
        n.fingerprint = s.fingerprint;  // kept: a linkable device's list is keyed by it
        if (with_linker) linker.on_arrival(table, pos, s);
        continue;
      }
    }
    presence::DeviceRecord& d = table.at(pos);
    if (s.ts_ns > d.last_seen_ns) d.last_seen_ns = s.ts_ns;
    if (with_linker) linker.after_heard(table, pos, s);
    table.touch(pos);
  }
  r.seconds = seconds_since(t0);
  r.new_addresses = counters.new_addresses - new_before;
  if (mode == Drive::time_place && r.place_calls != 0) {
    // The tick length from this run, and the timer's own cost from empty timed calls.
    const std::uint64_t k0 = ticks();
    const auto c0 = Clock::now();
    std::uint64_t empty = 0;
    constexpr int calls = 1'000'000;
    for (int i = 0; i < calls; ++i) {
      const std::uint64_t e0 = ticks();
      empty += ticks() - e0;
    }
    const double ns_per_tick = seconds_since(c0) * 1e9 / static_cast<double>(ticks() - k0);
    const double per_call = static_cast<double>(place_ticks) / static_cast<double>(r.place_calls);
    r.place_ns = std::max(0.0, per_call - static_cast<double>(empty) / calls) * ns_per_tick;
  }
  return r;
}

struct Figures {
  std::vector<double> samples;
  void add(double v) { samples.push_back(v); }
  [[nodiscard]] double min() const { return *std::min_element(samples.begin(), samples.end()); }
  [[nodiscard]] double median() const {
    std::vector<double> s = samples;
    std::sort(s.begin(), s.end());
    return s.size() % 2 == 1 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
  }
};

int measure(const Setup& setup, const Frames& frames, int repeat, const std::string& what) {
  std::vector<Sighting> sightings;
  (void)parse_all(frames, sightings);
  std::vector<Sighting> scratch;
  (void)parse_all(frames, scratch);
  // Warm-up frames that gave sightings: every frame of the crowd is a probe request, so counts agree.
  const std::size_t warm = std::min(frames.timed_from, sightings.size());
  const double timed_frames = static_cast<double>(frames.timed());
  const Candidates cand = count_candidates(setup, sightings, warm);

  Figures parse_ns, off_ns, on_ns, with_ns, without_ns, place_ns;
  PresenceRun off, on;
  std::vector<std::uint32_t> decision;
  std::uint64_t place_calls = 0, new_timed = 0;
  for (int i = 0; i < repeat; ++i) {
    parse_ns.add(parse_all(frames, scratch) * 1e9 / static_cast<double>(frames.records.size()));
    off = run_presence(setup, sightings, warm, false);
    off_ns.add(off.seconds * 1e9 / timed_frames);
    on = run_presence(setup, sightings, warm, true);
    on_ns.add(on.seconds * 1e9 / timed_frames);
    const DriveRun with = drive(setup, sightings, warm, Drive::linker, decision);
    const DriveRun without = drive(setup, sightings, warm, Drive::replay, decision);
    with_ns.add(with.seconds * 1e9 / timed_frames);
    without_ns.add(without.seconds * 1e9 / timed_frames);
    const DriveRun timed = drive(setup, sightings, warm, Drive::time_place, decision);
    place_ns.add(timed.place_ns);
    place_calls = timed.place_calls;
    new_timed = with.new_addresses;
  }
  const auto& lc = on.counters.link;
  const std::uint64_t new_on = lc.new_addresses;
  std::printf("input: %s\n", what.c_str());
  if (setup.gate_db) std::printf("linker: link_rssi_gate_db %.2f, link_rssi_gate_k 0 (not the defaults)\n", *setup.gate_db);
  std::printf("frames %zu (timed %zu, warm-up %zu), sightings %zu, repeats %d (interleaved)\n", frames.records.size(),
              frames.timed(), frames.timed_from, sightings.size(), repeat);
  if (frames.phones != 0)
    std::printf("truth: %llu phones heard in the timed part, %llu of them with random addresses; %llu and %llu with "
                "the warm-up\n", static_cast<unsigned long long>(frames.phones),
                static_cast<unsigned long long>(frames.random_phones), static_cast<unsigned long long>(frames.all_phones),
                static_cast<unsigned long long>(frames.all_random_phones));
  if (frames.timed_from != 0) std::printf("(counts below include the warm-up)\n");
  std::printf("link off: arrivals %llu, events %llu, peak devices present %llu\n",
              static_cast<unsigned long long>(off.counters.arrivals), static_cast<unsigned long long>(off.events),
              static_cast<unsigned long long>(off.counters.peak_devices));
  std::printf("link on:  arrivals %llu, events %llu, peak devices present %llu; new addresses %llu, linked by "
              "sequence %llu, by signal %llu, walks capped %llu, overlap splits %llu\n",
              static_cast<unsigned long long>(on.counters.arrivals), static_cast<unsigned long long>(on.events),
              static_cast<unsigned long long>(on.counters.peak_devices), static_cast<unsigned long long>(new_on),
              static_cast<unsigned long long>(lc.linked_sequence), static_cast<unsigned long long>(lc.linked_signal),
              static_cast<unsigned long long>(lc.candidates_capped), static_cast<unsigned long long>(lc.overlap_splits));
  std::printf("candidates per new random address (linkable devices of its fingerprint present): mean %.1f, "
              "mean at most %u %.1f, at the cap %.1f %%, max %u; fingerprints %llu\n",
              cand.new_random ? cand.sum / static_cast<double>(cand.new_random) : 0.0, 32u,
              cand.new_random ? cand.sum_capped / static_cast<double>(cand.new_random) : 0.0,
              cand.new_random ? 100.0 * static_cast<double>(cand.at_cap) / static_cast<double>(cand.new_random) : 0.0,
              cand.max, static_cast<unsigned long long>(cand.fingerprints));
  std::printf("%-52s %10s %10s\n", "stage (timed frames)", "min ns", "median ns");
  const auto row = [](const char* name, const Figures& f) {
    std::printf("%-52s %10.1f %10.1f\n", name, f.min(), f.median());
  };
  row("parse_packet + to_sighting, per frame", parse_ns);
  row("presence tracker, link off, per frame", off_ns);
  row("presence tracker, link on, per frame", on_ns);
  row("table and linker driven as the tracker does, per frame", with_ns);
  row("the same table work replayed without the linker", without_ns);
  // Each the least disturbed (min) or typical (median) run of its own: a difference of single runs is noise
  // on a shared machine.
  const double linker_min = with_ns.min() - without_ns.min();
  const double linker_median = with_ns.median() - without_ns.median();
  std::printf("%-52s %10.1f %10.1f\n", "linker's own work, per frame (the difference)", linker_min, linker_median);
  row("place(), per call (timed one by one)", place_ns);
  std::printf("place() calls %llu (frames from an address no device holds now: new addresses and previous ones)\n",
              static_cast<unsigned long long>(place_calls));
  const auto per_new = [&](double per_frame) {
    return new_timed ? per_frame * timed_frames / static_cast<double>(new_timed) : 0.0;
  };
  std::printf("linker's own work per new address (all of it charged to the %llu new addresses of the timed part): "
              "%.1f ns (min), %.1f ns (median)\n",
              static_cast<unsigned long long>(new_timed), per_new(linker_min), per_new(linker_median));
  // The least disturbed runs: on a shared machine other work only ever adds time.
  std::printf("summary (min): linker_ns_per_frame %.1f linker_ns_per_new_address %.1f place_ns_per_call %.1f "
              "parse_ns_per_frame %.1f presence_off_ns_per_frame %.1f presence_on_ns_per_frame %.1f "
              "linker_vs_parse_pct %.0f linker_vs_presence_off_pct %.0f\n",
              linker_min, per_new(linker_min), place_ns.min(), parse_ns.min(), off_ns.min(), on_ns.min(),
              100.0 * linker_min / parse_ns.min(), 100.0 * linker_min / off_ns.min());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw std::invalid_argument("no command");
    const std::string command = argv[1];
    int repeat = 5;
    sim::CrowdOptions crowd;
    Setup setup;
    std::string file;
    std::string write_to;
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      const bool has_value = i + 1 < argc;
      if (a == "--repeat" && has_value) repeat = std::max(1, std::atoi(argv[++i]));
      else if (a == "--devices" && has_value) crowd.devices = static_cast<std::uint32_t>(std::stoul(argv[++i]));
      else if (a == "--fingerprints" && has_value)
        crowd.fingerprints = std::max(1u, static_cast<std::uint32_t>(std::stoul(argv[++i])));
      else if (a == "--rotate" && has_value) crowd.rotate = std::stod(argv[++i]);
      else if (a == "--seconds" && has_value) crowd.seconds = std::stod(argv[++i]);
      else if (a == "--seed" && has_value) crowd.seed = std::stoull(argv[++i]);
      else if (a == "--gate-db" && has_value) setup.gate_db = std::stod(argv[++i]);
      else if (a == "--write" && has_value) write_to = argv[++i];
      else if (command == "capture" && file.empty()) file = a;
      else throw std::invalid_argument("unknown argument " + a);
    }
    if (command == "capture" && !file.empty()) return measure(setup, read_capture(file), repeat, file);
    if (command == "crowd") {
      char what[256];
      std::snprintf(what, sizeof what, "crowd of %u phones present, %u fingerprints (Zipf), address change %.2f "
                    "per burst, %.0f s timed, seed %llu", crowd.devices, crowd.fingerprints, crowd.rotate,
                    crowd.seconds, static_cast<unsigned long long>(crowd.seed));
      const Frames frames = crowd_frames(crowd);
      if (!write_to.empty()) {
        // The crowd as a capture (warm-up included), for bench/probe_pipeline.sh; nothing is measured.
        sim::PcapWriter writer(write_to);
        for (std::size_t i = 0; i < frames.records.size(); ++i) writer.write(frames.records[i].ts_ns, frames.at(i));
        writer.flush();
        std::printf("%s: %zu frames, %llu phones (%llu with random addresses)\n", write_to.c_str(),
                    frames.records.size(), static_cast<unsigned long long>(frames.all_phones),
                    static_cast<unsigned long long>(frames.all_random_phones));
        return 0;
      }
      return measure(setup, frames, repeat, what);
    }
    throw std::invalid_argument("unknown command " + command);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "link_cost: %s\nusage: link_cost capture FILE [--repeat N]\n"
                         "       link_cost crowd [--devices N] [--fingerprints M] [--rotate P] [--seconds S] "
                         "[--seed S] [--repeat N]\n"
                         "       link_cost crowd ... --write OUT.pcap\n"
                         "       --gate-db DB (either command): link_rssi_gate_db DB and link_rssi_gate_k 0, walks at the cap\n", e.what());
    return 2;
  }
}
