#pragma once
// Site merge: presence events from every probe of a site in, site arrivals, visits and occupancy out.
// Pure: no I/O, no clock of its own, the same input sequence always gives the same output.
//
// Input. (probe_id, PresenceEvent) in the order the gateway received them: each probe's events in its
// own time order, probes interleaved arbitrarily. Times are site times (the receive side has already
// applied each probe's clock correction). Optionally (probe_id, Sighting) raw frames, for dedup.
//
// Definitions (defaults in SiteMergeConfig):
// - present at the site: present at one or more of its probes (arrived there, not yet departed).
// - site arrival: the first probe arrival received for a device not present. The visit's arrival_ns is
//   the earliest first_seen over all its probe presences, which a slower probe may lower later.
// - site clock: a low watermark over the probes. Each probe's progress is the newest event time it sent
//   (or that probe_progress() / advance() reported for it: silence). The site clock is the least progress
//   of all configured probes, but never more than max_probe_lag_ns behind the most advanced one (a probe
//   that is down, or was never installed, holds the site back by that much and no more), and it never
//   goes back. So a probe replaying its backlog slower than the others cannot make a visit close before
//   its own events of that visit are in. Arrivals and updates older than the clock when they come are late
//   (counted): a visit they belong to may have closed already.
// - site departure: every probe presence of the device has departed, and the site clock has reached the
//   visit's deadline: the latest time a probe declared the device gone (the newest event time it had sent
//   when the departure came, since a departure's ts is the last frame but it is sent a departure silence
//   later) and latest last_seen + visit_grace_ns, whichever is later. Until then the visit is "leaving":
//   an arrival with first_seen before that deadline, at any probe, continues it. With the default grace 0 the visit closes once every probe has reported up to
//   the last departure: a device walking from probe A to probe B through a gap in coverage shorter than
//   the probes' departure silence (300 s) was heard at B before A declared it gone, so it is one visit
//   without any grace, whatever the order in which the two probes' events arrive (within the lag bound).
//   A grace covers longer gaps.
// - Visit: departure_ns = latest last_seen, dwell_s = whole seconds. probes: per probe over all its
//   presences in the visit, in order of first hearing. zones: the zone of each probe presence in order
//   of its first_seen, consecutive repeats collapsed. A, B, A means the device really left A's reach
//   (A reported a departure) and was heard there again later; overlapping coverage alone never
//   repeats a zone. entry_zone / exit_zone: zone of the first / last hearing (ties: louder rssi_max,
//   then config order).
// - strongest_zone: per update interval (aligned instants, update_interval_ns, which must match the
//   probes'), each probe's signal over that interval is the interval_rssi_mean its event carries, over
//   interval_frames frames: an update at instant T covers [T - interval, T); an arrival's and a departure's
//   frames belong to the interval their first_seen / last_seen falls in (two events of one probe presence
//   in one interval count as one, frame-weighted). Frames that carried no signal (interval mean 0) and
//   events of wire version 1 (no interval statistics) give no sample. The zone of the loudest probe per
//   interval wins (ties: more frames in the interval, then config order); an interval in which no probe
//   heard a frame keeps the previous zone; a change starts a segment at the start of its interval.
//   Damping, so noise between neighbouring zones heard at similar strength does not flip the path: another
//   zone takes over only when its loudest probe beats the current zone's loudest probe in the same interval
//   by at least strongest_zone_hysteresis_db (any margin when the current zone was not heard in it), in
//   strongest_zone_hold_intervals consecutive intervals with samples; the new segment starts at the first
//   of them. A challenge still short of the hold when the visit closes changes nothing. The first
//   interval's winner starts the path undamped. Hysteresis 0 and hold 1: the loudest zone of every interval.
// - frames: frames_heard is the sum over probes. A raw sighting (not BLE: its seq is 0) whose (sa, seq)
//   another probe reported within dedup_window_ns is a duplicate; frames = frames_heard - duplicates,
//   never below the largest single probe's count. Only frames that were sent as raw sightings by both
//   probes can be found; the presence statistics count only frames above the probe's signal floor, while
//   raw sightings may include weaker ones, hence the lower bound. The window must cover the clock
//   disagreement between probes; the 12-bit sequence number of one phone wraps only after 4096 frames.
// - device: one phone, whatever addresses it uses. A probe links the random addresses of one phone into one
//   of its devices (PresenceEvent::device, previous_mac; probe/presence/device_linker.h); all probes hear the
//   phone's current address. So a site device is found, in this order, by: the probe's own device number
//   (probe, device) while that probe presence is open; else the event's address, if a live device used it
//   (unless that device has an open presence of the same probe under another device number: the probe split
//   them); else its previous_mac, likewise; else it is a new device. Events without a device number (wire
//   versions 1 and 2, BLE) are found by address alone: one device per address, as before. When a probe's
//   device number leads to one site device and the address to another that this probe does not hear, both are
//   one phone (two probes disagreed on a link): the later-heard device is absorbed into the earlier one
//   (SiteSink::on_merged, counted). Each device remembers its latest max_addresses_per_device addresses. A site
//   device is numbered in arrival order (SiteArrival::id, Visit::id); its first address names it outside the merge.
//   BLE and WiFi are separate address spaces: the same 48 bits on both radios are two devices, with a visit
//   each (SiteArrival::ble, Visit::ble). Raw sightings deduplicate WiFi devices only.
// - bounds: max_devices devices (present or leaving). A new device when full evicts the one whose
//   newest event is oldest (ties: WiFi before BLE, then lower address): its visit is emitted at once
//   with end = evicted and counted. Per device, at most max_presences_per_visit probe presences (further
//   ones on a probe fold into its latest, counted: its totals stay right, its re-hearings drop out of
//   `zones`) and max_strength_samples interval samples (the older half is folded into segments early
//   when full, counted; a sample arriving later for a folded interval is counted and ignored).
// - odd input, counted, never fatal: events from a probe not in the config are dropped; an update or
//   departure for a presence the merge never saw arrive (gateway restart, eviction) adopts it from its
//   first_seen; an arrival for a probe presence still open with another first_seen means the probe lost
//   its state: the old presence ends at its last_seen.
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/records.h"
#include "gateway/merge/device_map.h"
#include "gateway/merge/frame_dedup.h"
#include "gateway/merge/visit.h"

namespace footfall::gateway {

struct ProbeZone {
  std::string probe_id;
  std::string zone;  // empty: the probe is a zone of its own, named after it
};

struct SiteMergeConfig {
  std::vector<ProbeZone> probes;
  std::int64_t visit_grace_ns = 0;
  // How far the slowest probe may hold the site clock back: an hour of backlog, drained after a link or
  // gateway outage faster by one probe than by another, still merges into whole visits.
  std::int64_t max_probe_lag_ns = 3'600'000'000'000;
  std::int64_t update_interval_ns = 60'000'000'000;  // the probes' update interval; > 0
  std::uint32_t max_devices = 1'000'000;
  std::int64_t dedup_window_ns = 1'000'000'000;
  std::uint32_t dedup_capacity = 1u << 16;            // frames remembered for dedup
  std::uint32_t max_presences_per_visit = 64;
  std::uint32_t max_strength_samples = 4096;          // per device (a day at 1-minute updates on 3 probes)
  std::uint32_t strongest_zone_hysteresis_db = 3;     // margin another zone needs to take over; 0 .. 60
  std::uint32_t strongest_zone_hold_intervals = 1;    // intervals in a row it must win; 1 .. 1440
  std::uint32_t max_addresses_per_device = 64;        // latest addresses a device is found by; 1 .. 65535
};

// Empty when usable, else a message naming the bad key.
std::string validate(const SiteMergeConfig& config);

// Called synchronously from SiteMerger's methods.
class SiteSink {
 public:
  virtual ~SiteSink() = default;
  virtual void on_arrival(const SiteArrival& arrival) = 0;
  virtual void on_visit(const Visit& visit) = 0;  // the site departure
  virtual void on_merged(const DeviceMerge& merge) = 0;  // `absorbed` gets no visit: it is part of `into`'s
};

// events_in == arrivals + updates + departures + unknown_probe.
// site_arrivals == visits + devices + merged (visits include evicted and flushed).
struct SiteMergeCounters {
  std::uint64_t events_in = 0;
  std::uint64_t arrivals = 0;
  std::uint64_t updates = 0;
  std::uint64_t departures = 0;
  std::uint64_t unknown_probe = 0;      // events from probes not in the config
  std::uint64_t adopted = 0;            // update/departure without a known arrival
  std::uint64_t repeated_arrivals = 0;  // same presence announced twice: ignored
  std::uint64_t restarted = 0;          // probe presence replaced by a new one without a departure
  std::uint64_t site_arrivals = 0;
  std::uint64_t linked_by_device = 0;   // event with a new address found its site device by the probe's device number
  std::uint64_t linked_by_previous = 0; // ... by its previous address
  std::uint64_t split_by_probe = 0;     // address of a live device taken by another device of the same probe
  std::uint64_t merged = 0;             // site devices absorbed into another (on_merged)
  std::uint64_t addresses_forgotten = 0;  // older addresses of a device dropped beyond max_addresses_per_device
  std::uint64_t stale_links = 0;        // a device number or address that named a closed device: dropped (0 expected)
  std::uint64_t rejoined = 0;           // arrival within the grace continued a leaving visit
  std::uint64_t late_events = 0;        // arrival or update already behind the site clock when it came
  std::uint64_t visits = 0;
  std::uint64_t evicted = 0;
  std::uint64_t flushed = 0;
  std::uint64_t presences_folded = 0;
  std::uint64_t samples_folded_early = 0;
  std::uint64_t samples_late = 0;
  std::uint64_t devices = 0;            // present or leaving now
  std::uint64_t peak_devices = 0;
  std::uint64_t sightings_in = 0;
  std::uint64_t sightings_unknown_probe = 0;
  std::uint64_t sightings_not_dedupable = 0;  // BLE: no sequence number
  std::uint64_t duplicate_frames = 0;
  std::uint64_t duplicates_without_visit = 0;  // duplicate of a device not present at the site
  std::uint64_t dedup_evicted_live = 0;
};

class SiteMerger {
 public:
  // Throws std::invalid_argument naming the key when validate() objects.
  explicit SiteMerger(SiteMergeConfig config);

  void on_presence(std::string_view probe_id, const PresenceEvent& event, SiteSink& sink);
  void on_sighting(std::string_view probe_id, const Sighting& sighting);
  // Lets site time pass without events, so leaving visits close when the grace runs out: every probe has
  // reported everything up to now_ns.
  void advance(std::int64_t now_ns, SiteSink& sink);
  // One probe has reported everything up to through_ns (it heard nothing since its last event). Unknown
  // probes are ignored.
  void probe_progress(std::string_view probe_id, std::int64_t through_ns, SiteSink& sink);
  // Shutdown: every visit ends now (end = flushed), least recently active first.
  void flush(SiteSink& sink);

  [[nodiscard]] SiteOccupancy occupancy() const;
  [[nodiscard]] const SiteMergeCounters& counters() const { return counters_; }
  [[nodiscard]] std::int64_t clock_ns() const { return clock_ns_; }
  // The newest time any probe reported (0 before the first): where the site would be without waiting.
  [[nodiscard]] std::int64_t newest_ns() const { return newest_ == kNoProgress ? 0 : newest_; }
  [[nodiscard]] bool knows_probe(std::string_view probe_id) const { return probe_index(probe_id) != nullptr; }

 private:
  // Totals over finished parts of one probe's presences (folded presences, or a whole visit's).
  struct ProbeTotals {
    std::int64_t first_seen_ns = 0;
    std::int64_t last_seen_ns = 0;
    std::uint64_t frames = 0;
    std::uint64_t signal_frames = 0;  // frames of presences that carried signal values
    std::int64_t rssi_sum = 0;        // mean * frames, summed over those presences
    std::int8_t rssi_min = 0;
    std::int8_t rssi_max = 0;
    std::uint16_t freq_mhz = 0;       // of the loudest part
    bool signal = false;
    std::uint32_t presences = 0;
  };
  // One probe presence within a visit: the probe's cumulative statistics as last reported.
  struct Presence {
    std::int64_t first_seen_ns = 0;   // of the earliest folded-in presence
    std::int64_t probe_first_ns = 0;  // the probe's first_seen of the live presence: matches its events
    std::int64_t last_seen_ns = 0;
    std::uint32_t frames = 0;
    std::int8_t rssi_min = 0;
    std::int8_t rssi_max = 0;
    std::int8_t rssi_mean = 0;
    bool signal = false;
    std::uint16_t freq_mhz = 0;
    std::uint16_t probe = 0;
    std::uint64_t probe_device = 0;  // the probe's device number (0: none, wire version 1 or 2)
    bool open = true;
    ProbeTotals earlier;            // presences of the same probe folded into this one
  };
  // One probe's signal over one update interval.
  struct Sample {
    std::int64_t slot_ns;      // the update instant that ends the interval
    std::int32_t strength_q8;  // dBm * 256
    std::uint32_t frames;      // heard in the interval
    std::uint16_t probe;
  };
  struct Segment {
    std::int64_t from_ns;
    std::uint16_t zone;
  };
  struct Device {
    std::uint64_t id = 0;           // its key in devices_
    MacAddress mac;                 // the first address
    bool ble = false;
    bool randomized = false;
    std::uint64_t fingerprint = 0;
    std::int64_t fingerprint_ts_ns = 0;
    std::uint16_t fingerprint_probe = 0;
    std::vector<Presence> presences;
    std::vector<Sample> samples;
    std::vector<Segment> segments;  // folded early, before close
    std::int64_t challenge_from_ns = 0;  // a zone beating the current one, not yet for long enough
    std::uint32_t challenge_wins = 0;
    std::uint16_t challenge_zone = 0;
    std::int64_t folded_through_ns = 0;
    bool folded = false;
    std::int64_t activity_ns = 0;   // newest event ts: eviction order
    std::int64_t deadline_ns = 0;   // when leaving
    std::int64_t departed_ns = 0;   // when the latest departure was declared (its probe's newest event then)
    bool leaving = false;
    std::uint32_t open = 0;         // open presences
    std::uint64_t duplicate_frames = 0;
    std::vector<std::uint64_t> addresses;  // address keys it is found by, oldest first
    std::uint32_t address_count = 0;       // distinct addresses over the visit, forgotten ones included
    // A fresh device that keeps the old one's vector capacity (DeviceMap reuses freed entries).
    void reuse();
  };

  // Addresses are keyed by radio and address: the BLE bit above the 48 address bits.
  static std::uint64_t key_of(const MacAddress& mac, bool ble) {
    return mac.as_u64() | (ble ? std::uint64_t{1} << 48 : 0);
  }
  // A probe's device number with the probe index below it (device numbers count up from 1 per probe run).
  static std::uint64_t probe_device_key(std::uint16_t probe, std::uint64_t device) { return (device << 16) | probe; }
  static constexpr std::uint64_t kNoDevice = 0;
  static void add_part(ProbeTotals& t, const Presence& p);
  static void add_totals(ProbeTotals& into, const ProbeTotals& from);

  [[nodiscard]] const std::uint16_t* probe_index(std::string_view probe_id) const;
  Device& device_for(std::uint16_t probe, const PresenceEvent& event, SiteSink& sink);
  // The live device that used this address, unless the probe keeps it apart from its device `device`.
  [[nodiscard]] std::uint64_t by_address(std::uint64_t address, std::uint16_t probe, std::uint64_t device);
  [[nodiscard]] bool has_other_presence(const Device& d, std::uint16_t probe, std::uint64_t device) const;
  void remember_address(Device& d, std::uint64_t address);
  // Makes devices a and b one (heard at `probe`); returns the one that continues.
  std::uint64_t absorb(std::uint64_t a, std::uint64_t b, std::uint16_t probe, std::int64_t ts_ns, SiteSink& sink);
  void reopen(Device& d, Presence& p);
  void apply(Device& d, std::uint16_t probe, const PresenceEvent& event);
  Presence& open_presence(Device& d, std::uint16_t probe, const PresenceEvent& event);
  void end_presence(Device& d, Presence& p);
  void count_zone(const Device& d, std::uint16_t zone, int delta);
  static void take_stats(Device& d, Presence& p, const PresenceEvent& event);
  static void take_fingerprint(Device& d, std::uint64_t fingerprint, std::int64_t ts_ns, std::uint16_t probe);
  void add_sample(Device& d, Presence& p, const PresenceEvent& event);
  void fold_samples(Device& d, std::size_t count);
  void touch(Device& d, std::int64_t ts_ns);
  void note_progress(std::uint16_t probe, std::int64_t ts_ns);
  void move_clock(SiteSink& sink);
  void close(std::uint64_t key, VisitEnd end, SiteSink& sink);
  [[nodiscard]] Visit build_visit(const Device& d, VisitEnd end) const;

  SiteMergeConfig config_;
  std::vector<std::string> zone_names_;
  std::vector<std::uint16_t> probe_zone_;  // probe index -> zone index
  std::map<std::string, std::uint16_t, std::less<>> probe_by_id_;
  DeviceMap<Device> devices_;  // by id
  std::uint64_t next_id_ = 0;
  std::unordered_map<std::uint64_t, std::uint64_t> by_address_;       // address key -> device id
  std::unordered_map<std::uint64_t, std::uint64_t> by_probe_device_;  // probe_device_key -> device id, open presences
  // (newest event ts, key), a min-heap in eviction order. An event pushes a fresh entry instead of moving the
  // old one (no allocation per event); stale entries (older ts, closed device) are skipped when popped and
  // dropped by a rebuild once they outnumber the devices, which bounds the heap at 2 x devices + 1024.
  using Activity = std::pair<std::int64_t, std::uint64_t>;
  std::vector<Activity> by_activity_;
  void push_activity(std::int64_t ts_ns, std::uint64_t key);
  std::uint64_t least_active();  // devices_ not empty
  std::set<std::pair<std::int64_t, std::uint64_t>> leaving_;      // (deadline, key)
  std::vector<std::uint32_t> zone_present_;
  std::uint32_t present_ = 0;
  std::int64_t clock_ns_ = 0;
  bool clock_started_ = false;
  // Per probe index: the newest time it reported (kNoProgress until then); the least and the greatest.
  static constexpr std::int64_t kNoProgress = std::numeric_limits<std::int64_t>::min();
  std::vector<std::int64_t> progress_;
  std::vector<std::int64_t> event_progress_;  // the newest event time only (no silence)
  std::int64_t slowest_ = kNoProgress;
  std::int64_t newest_ = kNoProgress;
  FrameDedup dedup_;
  SiteMergeCounters counters_;
};

}  // namespace footfall::gateway
