#pragma once
// Per-device presence on one probe: sightings in, arrival / update / departure events out.
//
// Time. The tracker never reads a clock. Its clock is the largest time it has been shown: sighting
// timestamps (ts_ns, from the capture) and advance(now_ns) calls. Replaying a capture therefore gives
// exactly the events of the live run, as long as advance() is never given a time beyond a frame still
// to come. Everything due at or before a new time is emitted before the sighting that carries that time
// is applied, in the order it fell due.
//
// Which sightings count. Probe requests (phones looking for networks) by default; BLE adverts when
// track_ble_adverts; beacons and probe responses only when track_access_points, because they come from
// access points, not visitors. Other kinds are counted as ignored_kind. WiFi and BLE addresses are kept
// apart: the same 48 bits on both radios are two devices.
//
// Devices, not addresses. A presence belongs to a device; the DeviceLinker (device_linker.h) decides at a
// new address's first frame whether it continues a present device (a phone changing its random address):
// then the presence simply goes on, with no departure and no arrival, and its events carry the new address
// in `mac`, the one before in `previous_mac`, and the same `device`. Otherwise the address arrives as a new
// device. `device` numbers are never reused within a run. With link.link_addresses off every address is its
// own device, as before linking existed.
//
// Definitions (defaults in PresenceConfig):
// - heard: a counted sighting whose signal is at or above signal_floor_dbm, or that carries no signal
//   value (nothing to filter on). Below-floor sightings are counted as below_floor and do nothing else:
//   they neither start a presence nor extend one, nor enter its statistics (a phone passing outside the
//   shop window must not keep a visit alive).
// - arrival: the first time a device not present is heard; ts = first_seen = that sighting's time.
// - update: at every multiple of update_interval_ns since the Unix epoch (10:01:00, 10:02:00, ...) each
//   device present at that instant is reported, ts = the instant. Aligned instants give the gateway
//   simultaneous snapshots from every probe. Present at T means first_seen < T < last_seen + silence.
// - departure: departure_silence_ns after a device was last heard without hearing it again. ts =
//   last_seen (when it was last heard), dwell_s = (last_seen - first_seen) in whole seconds. A device
//   heard again exactly at last_seen + silence has left and arrives anew.
// - statistics (every event): frames, rssi_min / rssi_max / rssi_mean and strongest_freq_mhz cover all
//   heard frames since arrival (not since the last update). Mean rounds half away from zero; min, max,
//   mean are 0 when no frame carried a signal value. strongest_freq_mhz is the channel of the first frame
//   at the maximum signal (0 when that frame's channel was unknown). fingerprint is the latest non-zero
//   one, except for a device that can be linked (a randomised address arriving with a fingerprint): it keeps
//   the fingerprint it arrived with, the one its new addresses are matched on. After 16.7 million signal
//   samples the sum and count are halved, so the mean of such a presence weighs older samples less.
// - interval statistics (every event): interval_frames and interval_rssi_mean cover the heard frames
//   applied since this presence's previous event (the arrival's: its own frame). An update thus carries
//   what was heard in the interval it closes; late frames count in the interval in which they are applied.
//   interval_rssi_mean rounds like rssi_mean and is 0 when none of those frames carried a signal value; the
//   same halving applies after 16.7 million signal samples in one interval.
// - event.cause: none for arrivals and updates; silence, evicted or shutdown for departures (also passed
//   to the sink). event.ble: the device is a BLE address (heard in ble_adv sightings).
// - late frames: captures may step back a little in time. A sighting up to reorder_tolerance_ns behind
//   the clock is applied with its own timestamp (last_seen never goes backwards, first_seen stays the
//   frame that started the presence); it may make a departure come out later in the event sequence but
//   never with a different ts. Further behind, it is dropped and counted as late. A late frame never
//   revives a departed presence: it starts a new one.
// - full table: when max_devices are present and a new one arrives, the device heard least recently is
//   evicted first: its departure is emitted at once with cause evicted (ts = its last_seen, as usual) and
//   counted in evictions.
// - flush(): for shutdown. Emits a departure with cause shutdown for every device still present, least
//   recently heard first, and empties the table. Its dwell is a lower bound: the device may still be there.
#include <cstdint>
#include <string>

#include "common/records.h"
#include "probe/presence/device_linker.h"
#include "probe/presence/device_table.h"

namespace footfall::probe::presence {

struct PresenceConfig {
  std::int8_t signal_floor_dbm = -90;
  std::int64_t update_interval_ns = 60'000'000'000;     // 0 = no updates
  std::int64_t departure_silence_ns = 300'000'000'000;
  std::int64_t reorder_tolerance_ns = 5'000'000'000;    // must be below departure_silence_ns
  std::uint32_t max_devices = 1'000'000;                // at most DeviceTable::max_capacity
  bool track_probe_requests = true;
  bool track_ble_adverts = false;
  bool track_access_points = false;                     // beacons and probe responses
  LinkConfig link;                                      // device linking of random addresses
};

// Empty when the configuration is usable, else a message that names the bad key.
std::string validate(const PresenceConfig& config);

// Why a presence ended: a field of PresenceEvent since it travels to the gateway; also named here, where
// the sink receives it.
using footfall::DepartureCause;
using footfall::to_string;

// Receives events as they happen; called synchronously from the tracker's methods. `cause` is always
// equal to event.cause (kept as an argument for existing sinks).
class PresenceSink {
 public:
  virtual ~PresenceSink() = default;
  virtual void on_presence(const PresenceEvent& event, DepartureCause cause) = 0;
};

// sightings_in == ignored_kind + late + below_floor + heard;
// heard == current_address + link.known_addresses + link.new_addresses;
// arrivals == link.new_addresses - link.linked_sequence - link.linked_signal + link.overlap_splits;
// arrivals == departures + devices (departures include evictions and flushed). Each arrival is a new device.
struct PresenceCounters {
  std::uint64_t sightings_in = 0;
  std::uint64_t ignored_kind = 0;
  std::uint64_t late = 0;
  std::uint64_t below_floor = 0;
  std::uint64_t heard = 0;
  std::uint64_t without_rssi = 0;  // heard with no signal value (part of heard)
  std::uint64_t arrivals = 0;
  std::uint64_t updates = 0;
  std::uint64_t departures = 0;
  std::uint64_t evictions = 0;
  std::uint64_t flushed = 0;
  std::uint64_t devices = 0;       // present now
  std::uint64_t peak_devices = 0;
  std::uint64_t current_address = 0;  // heard frames from a device's current address
  LinkCounters link;
};

class PresenceTracker {
 public:
  // Throws std::invalid_argument naming the key when validate() objects.
  explicit PresenceTracker(const PresenceConfig& config = {});

  void on_sighting(const Sighting& sighting, PresenceSink& sink);
  // Lets time pass without frames, so departures and updates happen during silence. A time behind the
  // clock changes nothing.
  void advance(std::int64_t now_ns, PresenceSink& sink);
  // Shutdown: departures (cause shutdown) for everyone still present. Does not move the clock.
  void flush(PresenceSink& sink);

  [[nodiscard]] const PresenceCounters& counters() const { return counters_; }
  [[nodiscard]] const PresenceConfig& config() const { return config_; }
  [[nodiscard]] std::uint32_t size() const { return table_.size(); }
  [[nodiscard]] const DeviceTable& table() const { return table_; }
  [[nodiscard]] const DeviceLinker& linker() const { return linker_; }
  [[nodiscard]] std::size_t memory_bytes() const { return table_.memory_bytes() + linker_.memory_bytes(); }

 private:
  [[nodiscard]] bool tracked(SightingKind kind) const;
  void run_clock_to(std::int64_t t, PresenceSink& sink);
  void arrive(std::uint64_t key, const Sighting& s, PresenceSink& sink);
  [[nodiscard]] PresenceEvent event_of(PresenceKind kind, std::int64_t ts_ns, std::uint32_t pos,
                                       DepartureCause cause = DepartureCause::none);
  void depart(std::uint32_t pos, DepartureCause cause, PresenceSink& sink);
  void emit_updates(std::int64_t instant, PresenceSink& sink);

  PresenceConfig config_;
  DeviceTable table_;
  DeviceLinker linker_;
  PresenceCounters counters_;
  bool clock_started_ = false;
  std::int64_t clock_ns_ = 0;
  std::int64_t next_update_ns_ = 0;  // next aligned update instant, always after clock_ns_
};

}  // namespace footfall::probe::presence
