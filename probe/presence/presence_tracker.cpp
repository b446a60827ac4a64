#include "probe/presence/presence_tracker.h"

#include <limits>
#include <stdexcept>

namespace footfall::probe::presence {
namespace {
constexpr std::int64_t ns_per_s = 1'000'000'000;

const PresenceConfig& checked(const PresenceConfig& config) {
  if (auto error = validate(config); !error.empty()) throw std::invalid_argument(error);
  return config;
}

// First multiple of `step` strictly after t (floor division, so negative times work too).
std::int64_t grid_after(std::int64_t t, std::int64_t step) {
  std::int64_t q = t / step;
  if (t % step != 0 && t < 0) --q;
  return (q + 1) * step;
}

std::int8_t rounded_mean(std::int32_t sum, std::uint32_t count) {
  if (count == 0) return 0;
  const std::int64_t magnitude = sum < 0 ? -std::int64_t{sum} : std::int64_t{sum};
  const std::int64_t q = (2 * magnitude + count) / (2 * std::int64_t{count});  // half away from zero
  return static_cast<std::int8_t>(sum < 0 ? -q : q);
}

MacAddress mac_of(std::uint64_t key) {
  MacAddress m;
  for (std::size_t i = 0; i < 6; ++i) m.octets[i] = static_cast<std::uint8_t>(key >> (40 - 8 * i));
  return m;
}

// The event for the record's state now; the record's interval starts afresh after it.
PresenceEvent make_event(PresenceKind kind, std::int64_t ts_ns, DeviceRecord& r, DepartureCause cause) {
  PresenceEvent e;
  e.kind = kind;
  e.cause = cause;
  e.ts_ns = ts_ns;
  e.mac = mac_of(r.key);
  e.randomized = e.mac.locally_administered();
  e.ble = (r.key & ble_key_bit) != 0;
  e.fingerprint = r.fingerprint;
  e.first_seen_ns = r.first_seen_ns;
  e.last_seen_ns = r.last_seen_ns;
  e.frames = r.frames;
  if (r.rssi_count > 0) {
    e.rssi_min = r.rssi_min;
    e.rssi_max = r.rssi_max;
    e.rssi_mean = rounded_mean(r.rssi_sum, static_cast<std::uint32_t>(r.rssi_count));
  }
  e.strongest_freq_mhz = r.strongest_freq_mhz;
  e.interval_frames = r.interval_frames;
  e.interval_rssi_mean = rounded_mean(r.interval_rssi_sum, static_cast<std::uint32_t>(r.interval_rssi_count));
  r.interval_frames = 0;
  r.interval_rssi_sum = 0;
  r.interval_rssi_count = 0;
  return e;
}

// Adds one signal sample to a sum over `count` samples and returns the new count, halving sum and count
// first when the count is at its limit (|sum| then stays below 2^31 whatever the dBm values).
std::uint32_t add_signal(std::int32_t& sum, std::uint32_t count, std::int8_t dbm) {
  if (count == rssi_count_limit) {
    sum /= 2;
    count /= 2;
  }
  sum += dbm;
  return count + 1;
}

// Folds one heard frame into the record's statistics.
void hear(DeviceRecord& r, const Sighting& s) {
  constexpr std::uint32_t frames_limit = std::numeric_limits<std::uint32_t>::max();
  if (r.frames != frames_limit) ++r.frames;
  if (r.interval_frames != frames_limit) ++r.interval_frames;
  if (s.ts_ns > r.last_seen_ns) r.last_seen_ns = s.ts_ns;
  if (s.fingerprint != 0) r.fingerprint = s.fingerprint;
  if (!s.has_rssi) return;
  if (r.rssi_count == 0 || s.rssi_dbm > r.rssi_max) {
    r.rssi_max = s.rssi_dbm;
    r.strongest_freq_mhz = s.freq_mhz;
  }
  if (r.rssi_count == 0 || s.rssi_dbm < r.rssi_min) r.rssi_min = s.rssi_dbm;
  // The counts never pass the limit; the mask only tells the compiler they fit their 24 bits.
  r.rssi_count = add_signal(r.rssi_sum, static_cast<std::uint32_t>(r.rssi_count), s.rssi_dbm) & rssi_count_limit;
  r.interval_rssi_count =
      add_signal(r.interval_rssi_sum, static_cast<std::uint32_t>(r.interval_rssi_count), s.rssi_dbm) &
      rssi_count_limit;
}
}  // namespace

std::string validate(const PresenceConfig& config) {
  if (config.max_devices == 0 || config.max_devices > DeviceTable::max_capacity)
    return "max_devices must be between 1 and " + std::to_string(DeviceTable::max_capacity);
  if (config.update_interval_ns < 0) return "update_interval_ns must not be negative (0 turns updates off)";
  if (config.departure_silence_ns <= 0) return "departure_silence_ns must be positive";
  if (config.reorder_tolerance_ns < 0 || config.reorder_tolerance_ns >= config.departure_silence_ns)
    return "reorder_tolerance_ns must be at least 0 and below departure_silence_ns";
  if (config.link.window_ns <= 0 || config.link.window_ns > config.departure_silence_ns)
    return "link_window_s must be positive and at most departure_silence_s (a link must not revive a departure)";
  if (config.link.seq_window == 0 || config.link.seq_window >= 2048)
    return "link_seq_window must be between 1 and 2047";
  if (!(config.link.rssi_gate_db > 0) || !(config.link.rssi_gate_k >= 0))
    return "link_rssi_gate_db must be positive and link_rssi_gate_k not negative";
  if (config.link.overlap_ns < 0) return "link_overlap_s must not be negative";
  if (config.link.max_candidates == 0) return "link_max_candidates must be at least 1";
  if (!config.track_probe_requests && !config.track_ble_adverts && !config.track_access_points)
    return "track_probe_requests, track_ble_adverts, track_access_points: at least one must be set";
  return {};
}

PresenceTracker::PresenceTracker(const PresenceConfig& config)
    : config_(checked(config)), table_(config.max_devices), linker_(config.link, config.max_devices) {}

bool PresenceTracker::tracked(SightingKind kind) const {
  switch (kind) {
    case SightingKind::probe_req: return config_.track_probe_requests;
    case SightingKind::ble_adv: return config_.track_ble_adverts;
    case SightingKind::probe_resp:
    case SightingKind::beacon: return config_.track_access_points;
  }
  return false;
}

void PresenceTracker::on_sighting(const Sighting& s, PresenceSink& sink) {
  ++counters_.sightings_in;
  run_clock_to(s.ts_ns, sink);
  if (!tracked(s.kind)) {
    ++counters_.ignored_kind;
    return;
  }
  if (s.ts_ns < clock_ns_ - config_.reorder_tolerance_ns) {
    ++counters_.late;
    return;
  }
  if (s.has_rssi && s.rssi_dbm < config_.signal_floor_dbm) {
    ++counters_.below_floor;
    return;
  }
  ++counters_.heard;
  if (!s.has_rssi) ++counters_.without_rssi;

  const std::uint64_t key = s.mac.as_u64() | (s.kind == SightingKind::ble_adv ? ble_key_bit : 0);
  std::uint32_t pos = table_.find(key);
  if (pos != no_record) {
    ++counters_.current_address;
  } else {
    pos = linker_.place(table_, key, s, counters_.link);
    if (pos == no_record) {
      arrive(key, s, sink);
      return;
    }
  }
  DeviceRecord& r = table_.at(pos);
  const std::uint64_t arrived_with = r.fingerprint;
  hear(r, s);
  // A phone's odd probe (another receive-stream count) must not move it to another model's candidates.
  if (linker_.linkable(pos)) r.fingerprint = arrived_with;
  linker_.after_heard(table_, pos, s);
  table_.touch(pos);
}

PresenceEvent PresenceTracker::event_of(PresenceKind kind, std::int64_t ts_ns, std::uint32_t pos,
                                        DepartureCause cause) {
  PresenceEvent e = make_event(kind, ts_ns, table_.at(pos), cause);
  const LinkState& l = linker_.at(pos);
  e.device = l.device;
  e.previous_mac = linker_.previous_address(pos);
  e.addresses = static_cast<std::uint16_t>(l.addresses);
  return e;
}

void PresenceTracker::advance(std::int64_t now_ns, PresenceSink& sink) { run_clock_to(now_ns, sink); }

void PresenceTracker::flush(PresenceSink& sink) {
  while (table_.least_recent() != no_record) depart(table_.least_recent(), DepartureCause::shutdown, sink);
  table_.clear();
  linker_.clear();
}

void PresenceTracker::run_clock_to(std::int64_t t, PresenceSink& sink) {
  const bool updates = config_.update_interval_ns > 0;
  if (!clock_started_) {
    clock_started_ = true;
    clock_ns_ = t;
    if (updates) next_update_ns_ = grid_after(t, config_.update_interval_ns);
    return;
  }
  if (t <= clock_ns_) return;
  // Departures and update instants in the order they fall due; a departure due at an update instant
  // comes first, since the device is no longer present then.
  for (;;) {
    const std::uint32_t oldest = table_.least_recent();
    if (oldest == no_record) break;
    const std::int64_t deadline = table_.at(oldest).last_seen_ns + config_.departure_silence_ns;
    if (deadline <= t && (!updates || deadline <= next_update_ns_)) {
      depart(oldest, DepartureCause::silence, sink);
    } else if (updates && next_update_ns_ <= t) {
      emit_updates(next_update_ns_, sink);
      next_update_ns_ += config_.update_interval_ns;
    } else {
      break;
    }
  }
  clock_ns_ = t;
  // With nobody present the loop skips instants; resume the grid after the new time.
  if (updates && next_update_ns_ <= t) next_update_ns_ = grid_after(t, config_.update_interval_ns);
}

void PresenceTracker::arrive(std::uint64_t key, const Sighting& s, PresenceSink& sink) {
  if (table_.size() == table_.capacity()) depart(table_.least_recent(), DepartureCause::evicted, sink);
  const std::uint32_t pos = table_.insert(key);
  DeviceRecord& r = table_.at(pos);
  r.first_seen_ns = r.last_seen_ns = s.ts_ns;
  hear(r, s);
  linker_.on_arrival(table_, pos, s);
  ++counters_.arrivals;
  counters_.devices = table_.size();
  if (counters_.devices > counters_.peak_devices) counters_.peak_devices = counters_.devices;
  sink.on_presence(event_of(PresenceKind::arrival, r.first_seen_ns, pos), DepartureCause::none);
}

void PresenceTracker::depart(std::uint32_t pos, DepartureCause cause, PresenceSink& sink) {
  DeviceRecord& r = table_.at(pos);
  PresenceEvent e = event_of(PresenceKind::departure, r.last_seen_ns, pos, cause);
  const std::int64_t dwell_s = (r.last_seen_ns - r.first_seen_ns) / ns_per_s;
  e.dwell_s = dwell_s > std::numeric_limits<std::uint32_t>::max() ? std::numeric_limits<std::uint32_t>::max()
                                                                    : static_cast<std::uint32_t>(dwell_s);
  linker_.forget(table_, pos);
  table_.erase(pos);
  ++counters_.departures;
  if (cause == DepartureCause::evicted) ++counters_.evictions;
  if (cause == DepartureCause::shutdown) ++counters_.flushed;
  counters_.devices = table_.size();
  sink.on_presence(e, cause);
}

void PresenceTracker::emit_updates(std::int64_t instant, PresenceSink& sink) {
  for (std::uint32_t pos = table_.least_recent(); pos != no_record; pos = table_.newer(pos)) {
    DeviceRecord& r = table_.at(pos);
    // A late frame can leave a record behind one heard later; it is gone at this instant all the same.
    if (r.last_seen_ns + config_.departure_silence_ns <= instant) continue;
    ++counters_.updates;
    sink.on_presence(event_of(PresenceKind::update, instant, pos), DepartureCause::none);
  }
}

}  // namespace footfall::probe::presence
