#include "gateway/merge/site_merger.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <stdexcept>

namespace footfall::gateway {
namespace {
constexpr std::int64_t ns_per_s = 1'000'000'000;

SiteMergeConfig checked(SiteMergeConfig config) {
  if (auto error = validate(config); !error.empty()) throw std::invalid_argument(error);
  return config;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

// The aligned update instant at or after t: the end of the interval that t falls in.
std::int64_t instant_at_or_after(std::int64_t t, std::int64_t step) {
  const std::int64_t q = floor_div(t, step);
  return q * step == t ? t : (q + 1) * step;
}

// Frames heard after the update at instant T belong to the interval ending at T + step.
std::int64_t instant_after(std::int64_t t, std::int64_t step) { return (floor_div(t, step) + 1) * step; }

std::int64_t round_div(std::int64_t num, std::int64_t den) {  // den > 0, half away from zero
  return num >= 0 ? (2 * num + den) / (2 * den) : -((-2 * num + den) / (2 * den));
}

bool has_signal(const PresenceEvent& e) { return e.rssi_min != 0 || e.rssi_max != 0 || e.rssi_mean != 0; }

// Two readings of one probe over one interval become one, weighted by their frames (samples always have frames).
template <class Sample>
void add_to_sample(Sample& sample, std::int64_t strength_q8, std::uint32_t frames) {
  const std::int64_t total = std::int64_t{sample.frames} + frames;
  const std::int64_t weighted = std::int64_t{sample.strength_q8} * sample.frames + strength_q8 * frames;
  sample.strength_q8 = static_cast<std::int32_t>(round_div(weighted, total));
  sample.frames = static_cast<std::uint32_t>(std::min<std::int64_t>(total, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

std::string validate(const SiteMergeConfig& config) {
  if (config.probes.empty()) return "probes: at least one probe is needed";
  if (config.probes.size() > std::numeric_limits<std::uint16_t>::max())
    return "probes: at most 65535 probes";
  for (std::size_t i = 0; i < config.probes.size(); ++i) {
    if (config.probes[i].probe_id.empty()) return "probes[" + std::to_string(i) + "].probe_id: empty";
    for (std::size_t j = 0; j < i; ++j)
      if (config.probes[j].probe_id == config.probes[i].probe_id)
        return "probes[" + std::to_string(i) + "].probe_id: duplicate '" + config.probes[i].probe_id + "'";
  }
  if (config.visit_grace_ns < 0) return "visit_grace_ns: must be >= 0";
  if (config.max_probe_lag_ns < 0 || config.max_probe_lag_ns > 7 * 86'400 * ns_per_s)
    return "max_probe_lag_ns: 0 .. 7 days";
  if (config.update_interval_ns <= 0) return "update_interval_ns: must be > 0 (the probes' update interval)";
  if (config.max_devices == 0) return "max_devices: must be > 0";
  if (config.dedup_window_ns < 0) return "dedup_window_ns: must be >= 0";
  if (config.dedup_capacity == 0 || config.dedup_capacity > (1u << 28)) return "dedup_capacity: 1 .. 2^28";
  if (config.max_presences_per_visit == 0) return "max_presences_per_visit: must be > 0";
  if (config.max_strength_samples < 2) return "max_strength_samples: must be >= 2";
  if (config.strongest_zone_hysteresis_db > 60) return "strongest_zone_hysteresis_db: 0 .. 60";
  if (config.strongest_zone_hold_intervals < 1 || config.strongest_zone_hold_intervals > 1440)
    return "strongest_zone_hold_intervals: 1 .. 1440";
  if (config.max_addresses_per_device < 1 || config.max_addresses_per_device > 65535)
    return "max_addresses_per_device: 1 .. 65535";
  return {};
}

void SiteMerger::Device::reuse() {
  auto kept_presences = std::move(presences);
  auto kept_samples = std::move(samples);
  auto kept_segments = std::move(segments);
  auto kept_addresses = std::move(addresses);
  kept_presences.clear();
  kept_samples.clear();
  kept_segments.clear();
  kept_addresses.clear();
  *this = Device{};
  presences = std::move(kept_presences);
  samples = std::move(kept_samples);
  segments = std::move(kept_segments);
  addresses = std::move(kept_addresses);
}

SiteMerger::SiteMerger(SiteMergeConfig config)
    : config_(checked(std::move(config))),
      dedup_(config_.dedup_capacity, config_.dedup_window_ns) {
  for (std::size_t i = 0; i < config_.probes.size(); ++i) {
    const ProbeZone& pz = config_.probes[i];
    const std::string& zone = pz.zone.empty() ? pz.probe_id : pz.zone;
    auto found = std::find(zone_names_.begin(), zone_names_.end(), zone);
    if (found == zone_names_.end()) found = zone_names_.insert(zone_names_.end(), zone);
    probe_zone_.push_back(static_cast<std::uint16_t>(found - zone_names_.begin()));
    probe_by_id_.emplace(pz.probe_id, static_cast<std::uint16_t>(i));
  }
  zone_present_.assign(zone_names_.size(), 0);
  progress_.assign(config_.probes.size(), kNoProgress);
  event_progress_.assign(config_.probes.size(), kNoProgress);
}

const std::uint16_t* SiteMerger::probe_index(std::string_view probe_id) const {
  auto it = probe_by_id_.find(probe_id);
  return it == probe_by_id_.end() ? nullptr : &it->second;
}

void SiteMerger::on_presence(std::string_view probe_id, const PresenceEvent& event, SiteSink& sink) {
  ++counters_.events_in;
  const std::uint16_t* probe = probe_index(probe_id);
  if (probe == nullptr) {
    ++counters_.unknown_probe;
    return;
  }
  switch (event.kind) {
    case PresenceKind::arrival: ++counters_.arrivals; break;
    case PresenceKind::update: ++counters_.updates; break;
    case PresenceKind::departure: ++counters_.departures; break;
  }
  // A departure's ts is the device's last frame: it is sent one departure silence later, so it is never late.
  if (clock_started_ && event.ts_ns < clock_ns_ && event.kind != PresenceKind::departure) ++counters_.late_events;
  Device& d = device_for(*probe, event, sink);
  const std::uint64_t key = d.id;
  apply(d, *probe, event);
  touch(d, event.ts_ns);
  note_progress(*probe, event.ts_ns);
  // When the probe let the device go: no earlier than any other event it sent before (events come in the
  // order the probe made them), which its departure's own ts (the last frame) is not. Events only, not
  // silence: a replay of the same records must find the same deadline.
  std::int64_t& sent = event_progress_[*probe];
  sent = std::max(sent, event.ts_ns);
  if (event.kind == PresenceKind::departure) d.departed_ns = std::max(d.departed_ns, sent);
  move_clock(sink);
  if (d.open == 0 && !d.leaving) {
    std::int64_t last = 0;
    for (const Presence& p : d.presences) last = std::max(last, p.last_seen_ns);
    d.deadline_ns = std::max(d.departed_ns, last + config_.visit_grace_ns);
    if (d.deadline_ns <= clock_ns_) {
      close(key, VisitEnd::departed, sink);
    } else {
      d.leaving = true;
      leaving_.emplace(d.deadline_ns, key);
    }
  }
}

SiteMerger::Device& SiteMerger::device_for(std::uint16_t probe, const PresenceEvent& event, SiteSink& sink) {
  const std::uint64_t address = key_of(event.mac, event.ble);
  const std::uint64_t device = event.ble ? 0 : event.device;
  std::uint64_t id = kNoDevice;
  if (device != 0) {
    if (auto it = by_probe_device_.find(probe_device_key(probe, device)); it != by_probe_device_.end()) {
      id = it->second;
    }
    if (id != kNoDevice && devices_.find(id) == nullptr) {
      by_probe_device_.erase(probe_device_key(probe, device));  // defensive: never follow a link to a closed device
      ++counters_.stale_links;
      id = kNoDevice;
    }
    if (id != kNoDevice) {
      // The same phone announced as a device of its own by another probe: one of them is absorbed.
      if (const std::uint64_t other = by_address(address, probe, device); other != kNoDevice && other != id)
        id = absorb(id, other, probe, event.ts_ns, sink);
      const Device& found = *devices_.find(id);
      if (std::find(found.addresses.begin(), found.addresses.end(), address) == found.addresses.end())
        ++counters_.linked_by_device;
    }
  }
  if (id == kNoDevice) id = by_address(address, probe, device);
  if (id == kNoDevice && device != 0 && event.previous_mac != MacAddress{}) {
    id = by_address(key_of(event.previous_mac, event.ble), probe, device);
    if (id != kNoDevice) ++counters_.linked_by_previous;
  }
  if (id != kNoDevice) {
    Device& d = *devices_.find(id);
    if (d.leaving) {
      if (event.first_seen_ns < d.deadline_ns) {
        // Heard again within the grace: the same visit.
        leaving_.erase({d.deadline_ns, id});
        d.leaving = false;
        ++counters_.rejoined;
      } else {
        close(id, VisitEnd::departed, sink);
        id = kNoDevice;
      }
    }
  }
  if (id != kNoDevice) {
    Device& d = *devices_.find(id);
    remember_address(d, address);
    return d;
  }
  if (devices_.size() >= config_.max_devices) {
    const std::uint64_t victim = least_active();
    ++counters_.evicted;
    close(victim, VisitEnd::evicted, sink);
  }
  id = ++next_id_;
  Device& d = devices_.insert(id);
  d.id = id;
  d.mac = event.mac;
  d.ble = event.ble;
  d.activity_ns = event.ts_ns;
  remember_address(d, address);
  push_activity(d.activity_ns, id);
  ++counters_.site_arrivals;
  counters_.devices = devices_.size();
  counters_.peak_devices = std::max(counters_.peak_devices, counters_.devices);
  SiteArrival arrival;
  arrival.id = id;
  arrival.device = event.mac;
  arrival.ts_ns = event.first_seen_ns;
  arrival.zone = zone_names_[probe_zone_[probe]];
  arrival.randomized = event.randomized || event.mac.locally_administered();
  arrival.ble = event.ble;
  sink.on_arrival(arrival);
  return d;
}

std::uint64_t SiteMerger::by_address(std::uint64_t address, std::uint16_t probe, std::uint64_t device) {
  const auto it = by_address_.find(address);
  if (it == by_address_.end()) return kNoDevice;
  const Device* d = devices_.find(it->second);
  if (d == nullptr) {
    by_address_.erase(it);  // defensive: never follow a link to a closed device
    ++counters_.stale_links;
    return kNoDevice;
  }
  if (device != 0 && has_other_presence(*d, probe, device)) {
    ++counters_.split_by_probe;
    return kNoDevice;
  }
  return it->second;
}

bool SiteMerger::has_other_presence(const Device& d, std::uint16_t probe, std::uint64_t device) const {
  for (const Presence& p : d.presences)
    if (p.open && p.probe == probe && p.probe_device != 0 && p.probe_device != device) return true;
  return false;
}

void SiteMerger::remember_address(Device& d, std::uint64_t address) {
  // The newest claim wins: a probe that split an address off gives it to its new device.
  by_address_[address] = d.id;
  if (std::find(d.addresses.begin(), d.addresses.end(), address) != d.addresses.end()) return;
  ++d.address_count;
  d.addresses.push_back(address);
  if (d.addresses.size() <= config_.max_addresses_per_device) return;
  const std::uint64_t oldest = d.addresses.front();
  d.addresses.erase(d.addresses.begin());
  if (auto it = by_address_.find(oldest); it != by_address_.end() && it->second == d.id) by_address_.erase(it);
  ++counters_.addresses_forgotten;
}

void SiteMerger::reopen(Device& d, Presence& p) {
  p.open = true;
  if (d.open++ == 0) ++present_;
  count_zone(d, probe_zone_[p.probe], +1);
  if (p.probe_device != 0) by_probe_device_[probe_device_key(p.probe, p.probe_device)] = d.id;
}

std::uint64_t SiteMerger::absorb(std::uint64_t a, std::uint64_t b, std::uint16_t probe, std::int64_t ts_ns,
                                 SiteSink& sink) {
  // The device heard first continues: its arrival is the one that stays announced.
  const std::uint64_t into_id = std::min(a, b);
  const std::uint64_t from_id = std::max(a, b);
  Device& into = *devices_.find(into_id);
  Device& from = *devices_.find(from_id);
  if (from.leaving) leaving_.erase({from.deadline_ns, from_id});
  if (into.leaving) {
    leaving_.erase({into.deadline_ns, into_id});
    into.leaving = false;
  }
  std::vector<std::size_t> reopened;
  for (Presence& p : from.presences) {
    const bool was_open = p.open;
    end_presence(from, p);
    if (was_open) reopened.push_back(into.presences.size());
    into.presences.push_back(p);
  }
  for (std::size_t i : reopened) reopen(into, into.presences[i]);
  // Signal samples: both devices' in slot order, one sample per (slot, probe).
  for (const Sample& sample : from.samples) {
    if (into.folded && sample.slot_ns <= into.folded_through_ns) {
      ++counters_.samples_late;
      continue;
    }
    into.samples.push_back(sample);
  }
  std::sort(into.samples.begin(), into.samples.end(), [](const Sample& x, const Sample& y) {
    return x.slot_ns != y.slot_ns ? x.slot_ns < y.slot_ns : x.probe < y.probe;
  });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < into.samples.size(); ++i) {
    if (kept != 0 && into.samples[kept - 1].slot_ns == into.samples[i].slot_ns &&
        into.samples[kept - 1].probe == into.samples[i].probe) {
      add_to_sample(into.samples[kept - 1], into.samples[i].strength_q8, into.samples[i].frames);
    } else {
      into.samples[kept++] = into.samples[i];
    }
  }
  into.samples.resize(kept);
  if (into.samples.size() >= config_.max_strength_samples) fold_samples(into, into.samples.size() / 2);
  take_fingerprint(into, from.fingerprint, from.fingerprint_ts_ns, from.fingerprint_probe);
  into.randomized = into.randomized || from.randomized;
  into.departed_ns = std::max(into.departed_ns, from.departed_ns);
  into.duplicate_frames += from.duplicate_frames;
  into.address_count += from.address_count;
  for (std::uint64_t address : from.addresses) {
    if (auto it = by_address_.find(address); it != by_address_.end() && it->second == from_id) by_address_.erase(it);
    --into.address_count;  // remember_address counts it again if it is new to `into`
    remember_address(into, address);
  }
  touch(into, from.activity_ns);
  DeviceMerge merge;
  merge.absorbed = from_id;
  merge.absorbed_device = from.mac;
  merge.into = into_id;
  merge.into_device = into.mac;
  merge.ble = into.ble;
  merge.randomized = from.randomized;
  merge.ts_ns = ts_ns;
  merge.zone = zone_names_[probe_zone_[probe]];
  devices_.erase(from_id);
  ++counters_.merged;
  counters_.devices = devices_.size();
  sink.on_merged(merge);
  return into_id;
}

void SiteMerger::apply(Device& d, std::uint16_t probe, const PresenceEvent& event) {
  const std::uint64_t device = event.ble ? 0 : event.device;
  Presence* p = nullptr;
  for (auto it = d.presences.rbegin(); it != d.presences.rend(); ++it)
    if (it->open && it->probe == probe && (device == 0 || it->probe_device == 0 || it->probe_device == device)) {
      p = &*it;
      break;
    }
  if (p != nullptr && p->probe_first_ns != event.first_seen_ns) {
    ++counters_.restarted;  // the probe lost its state (restart) and began a new presence
    end_presence(d, *p);
    p = nullptr;
  }
  if (event.kind == PresenceKind::arrival) {
    if (p != nullptr) {
      ++counters_.repeated_arrivals;  // its frames are already counted
    } else {
      p = &open_presence(d, probe, event);
      add_sample(d, *p, event);
    }
    take_stats(d, *p, event);
    return;
  }
  if (p == nullptr) {
    ++counters_.adopted;
    p = &open_presence(d, probe, event);
  }
  add_sample(d, *p, event);
  take_stats(d, *p, event);
  if (event.kind == PresenceKind::departure) end_presence(d, *p);
}

SiteMerger::Presence& SiteMerger::open_presence(Device& d, std::uint16_t probe, const PresenceEvent& event) {
  Presence* p = nullptr;
  if (d.presences.size() >= config_.max_presences_per_visit) {
    // Full: continue this probe's latest finished presence instead, keeping its totals. An open one (another
    // device number of the probe, joined by a merge) is never overwritten: it goes on, beyond the bound.
    for (auto it = d.presences.rbegin(); it != d.presences.rend(); ++it)
      if (it->probe == probe && !it->open) {
        p = &*it;
        break;
      }
    if (p != nullptr) {
      ++counters_.presences_folded;
      add_part(p->earlier, *p);
      const ProbeTotals earlier = p->earlier;
      const std::int64_t first = p->first_seen_ns;
      *p = Presence{};
      p->earlier = earlier;
      p->first_seen_ns = first;
    }
  }
  if (p == nullptr) {
    d.presences.emplace_back();
    p = &d.presences.back();
    p->first_seen_ns = event.first_seen_ns;
  }
  p->probe = probe;
  p->probe_device = event.ble ? 0 : event.device;
  p->probe_first_ns = event.first_seen_ns;
  p->last_seen_ns = event.first_seen_ns;
  reopen(d, *p);
  return *p;
}

void SiteMerger::end_presence(Device& d, Presence& p) {
  if (!p.open) return;
  p.open = false;
  if (p.probe_device != 0) {
    const auto it = by_probe_device_.find(probe_device_key(p.probe, p.probe_device));
    if (it != by_probe_device_.end() && it->second == d.id) by_probe_device_.erase(it);
  }
  count_zone(d, probe_zone_[p.probe], -1);
  if (--d.open == 0) --present_;
}

// Keeps zone_present_ right: a zone counts a device once, however many of its probes hear it.
void SiteMerger::count_zone(const Device& d, std::uint16_t zone, int delta) {
  std::uint32_t open_in_zone = 0;
  for (const Presence& p : d.presences)
    if (p.open && probe_zone_[p.probe] == zone) ++open_in_zone;
  // Called after opening (count now 1) or after closing (count now 0).
  if (delta > 0 && open_in_zone == 1) ++zone_present_[zone];
  if (delta < 0 && open_in_zone == 0) --zone_present_[zone];
}

// The latest non-zero fingerprint by event time (then config order), whatever the receive order.
void SiteMerger::take_fingerprint(Device& d, std::uint64_t fingerprint, std::int64_t ts_ns, std::uint16_t probe) {
  if (fingerprint == 0) return;
  if (d.fingerprint != 0 && (ts_ns < d.fingerprint_ts_ns || (ts_ns == d.fingerprint_ts_ns && probe >= d.fingerprint_probe)))
    return;
  d.fingerprint = fingerprint;
  d.fingerprint_ts_ns = ts_ns;
  d.fingerprint_probe = probe;
}

void SiteMerger::take_stats(Device& d, Presence& p, const PresenceEvent& event) {
  p.last_seen_ns = std::max(p.last_seen_ns, event.last_seen_ns);
  p.frames = event.frames;
  p.signal = has_signal(event);
  p.rssi_min = event.rssi_min;
  p.rssi_max = event.rssi_max;
  p.rssi_mean = event.rssi_mean;
  p.freq_mhz = event.strongest_freq_mhz;
  d.randomized = d.randomized || event.randomized || event.mac.locally_administered();
  take_fingerprint(d, event.fingerprint, event.ts_ns, p.probe);
}

void SiteMerger::add_sample(Device& d, Presence& p, const PresenceEvent& event) {
  // Frames without a signal value say nothing about which probe heard the device loudest.
  if (event.interval_frames == 0 || event.interval_rssi_mean == 0) return;
  const std::int64_t step = config_.update_interval_ns;
  std::int64_t slot = 0;
  switch (event.kind) {
    case PresenceKind::arrival: slot = instant_after(event.first_seen_ns, step); break;
    case PresenceKind::update: slot = instant_at_or_after(event.ts_ns, step); break;
    case PresenceKind::departure: slot = instant_after(event.last_seen_ns, step); break;
  }
  if (d.folded && slot <= d.folded_through_ns) {
    ++counters_.samples_late;
    return;
  }
  const std::int64_t strength_q8 = std::int64_t{event.interval_rssi_mean} * 256;
  const std::uint32_t frames = event.interval_frames;
  // A probe's samples come in slot order: look back only as far as this probe's previous slot.
  for (auto it = d.samples.rbegin(); it != d.samples.rend(); ++it) {
    if (it->probe != p.probe) continue;
    if (it->slot_ns < slot) break;
    if (it->slot_ns > slot) continue;
    // Arrival and first update (or last update and departure) in one interval: one frame-weighted sample.
    add_to_sample(*it, strength_q8, frames);
    return;
  }
  d.samples.push_back(Sample{slot, static_cast<std::int32_t>(strength_q8), frames, p.probe});
  if (d.samples.size() >= config_.max_strength_samples) fold_samples(d, d.samples.size() / 2);
}

// Turns the oldest `count` samples (rounded up to whole intervals) into segments.
void SiteMerger::fold_samples(Device& d, std::size_t count) {
  std::sort(d.samples.begin(), d.samples.end(), [](const Sample& a, const Sample& b) {
    return a.slot_ns != b.slot_ns ? a.slot_ns < b.slot_ns : a.probe < b.probe;
  });
  std::size_t end = std::min(count, d.samples.size());
  while (end > 0 && end < d.samples.size() && d.samples[end].slot_ns == d.samples[end - 1].slot_ns) ++end;
  const std::int64_t margin_q8 = std::int64_t{config_.strongest_zone_hysteresis_db} * 256;
  std::size_t i = 0;
  while (i < end) {
    const Sample* best = &d.samples[i];
    std::size_t j = i + 1;
    for (; j < end && d.samples[j].slot_ns == best->slot_ns; ++j) {
      const Sample& s = d.samples[j];
      if (s.strength_q8 > best->strength_q8 || (s.strength_q8 == best->strength_q8 && s.frames > best->frames))
        best = &s;  // equal strength and frames: the earlier (lower) probe index stays
    }
    const std::uint16_t zone = probe_zone_[best->probe];
    const std::int64_t interval_start = best->slot_ns - config_.update_interval_ns;
    d.folded = true;
    d.folded_through_ns = best->slot_ns;
    if (d.segments.empty()) {
      d.segments.push_back(Segment{interval_start, zone});
    } else if (const std::uint16_t current = d.segments.back().zone; zone == current) {
      d.challenge_wins = 0;
    } else {
      // The current zone's loudest probe in this interval, if it heard the device at all.
      bool current_heard = false;
      std::int64_t current_q8 = 0;
      for (std::size_t k = i; k < j; ++k)
        if (probe_zone_[d.samples[k].probe] == current) {
          current_q8 = current_heard ? std::max<std::int64_t>(current_q8, d.samples[k].strength_q8)
                                     : d.samples[k].strength_q8;
          current_heard = true;
        }
      if (current_heard && best->strength_q8 - current_q8 < margin_q8) {
        d.challenge_wins = 0;
      } else {
        if (d.challenge_wins == 0 || d.challenge_zone != zone) {
          d.challenge_zone = zone;
          d.challenge_from_ns = interval_start;
          d.challenge_wins = 0;
        }
        if (++d.challenge_wins >= config_.strongest_zone_hold_intervals) {
          d.segments.push_back(Segment{d.challenge_from_ns, zone});
          d.challenge_wins = 0;
        }
      }
    }
    i = j;
  }
  if (end < d.samples.size()) counters_.samples_folded_early += end;
  d.samples.erase(d.samples.begin(), d.samples.begin() + static_cast<std::ptrdiff_t>(end));
}

void SiteMerger::touch(Device& d, std::int64_t ts_ns) {
  if (ts_ns <= d.activity_ns) return;
  d.activity_ns = ts_ns;
  push_activity(ts_ns, d.id);
}

void SiteMerger::push_activity(std::int64_t ts_ns, std::uint64_t key) {
  if (by_activity_.size() >= 2 * devices_.size() + 1024) {
    by_activity_.clear();
    devices_.for_each([&](std::uint64_t k, const Device& d) {
      if (k != key) by_activity_.emplace_back(d.activity_ns, k);
    });
    std::make_heap(by_activity_.begin(), by_activity_.end(), std::greater<>{});
  }
  by_activity_.emplace_back(ts_ns, key);
  std::push_heap(by_activity_.begin(), by_activity_.end(), std::greater<>{});
}

std::uint64_t SiteMerger::least_active() {
  for (;;) {
    const Activity top = by_activity_.front();
    const Device* d = devices_.find(top.second);
    if (d != nullptr && d->activity_ns == top.first) return top.second;
    std::pop_heap(by_activity_.begin(), by_activity_.end(), std::greater<>{});
    by_activity_.pop_back();
  }
}

void SiteMerger::note_progress(std::uint16_t probe, std::int64_t ts_ns) {
  std::int64_t& progress = progress_[probe];
  if (ts_ns <= progress) return;
  const bool was_slowest = progress == slowest_;
  progress = ts_ns;
  newest_ = std::max(newest_, ts_ns);
  // Only a rise of the slowest probe can raise the minimum: the scan is per such rise, not per event.
  if (was_slowest) slowest_ = *std::min_element(progress_.begin(), progress_.end());
}

void SiteMerger::move_clock(SiteSink& sink) {
  if (newest_ == kNoProgress) return;
  const std::int64_t watermark = std::max(slowest_, newest_ - config_.max_probe_lag_ns);
  if (!clock_started_ || watermark > clock_ns_) clock_ns_ = watermark;
  clock_started_ = true;
  while (!leaving_.empty() && leaving_.begin()->first <= clock_ns_) close(leaving_.begin()->second, VisitEnd::departed, sink);
}

void SiteMerger::advance(std::int64_t now_ns, SiteSink& sink) {
  for (std::int64_t& progress : progress_) progress = std::max(progress, now_ns);
  newest_ = std::max(newest_, now_ns);
  slowest_ = *std::min_element(progress_.begin(), progress_.end());
  move_clock(sink);
}

void SiteMerger::probe_progress(std::string_view probe_id, std::int64_t through_ns, SiteSink& sink) {
  const std::uint16_t* probe = probe_index(probe_id);
  if (probe == nullptr) return;
  note_progress(*probe, through_ns);
  move_clock(sink);
}

void SiteMerger::flush(SiteSink& sink) {
  std::vector<Activity> order;
  order.reserve(devices_.size());
  devices_.for_each([&](std::uint64_t key, const Device& d) { order.emplace_back(d.activity_ns, key); });
  std::sort(order.begin(), order.end());
  for (const Activity& a : order) {
    ++counters_.flushed;
    close(a.second, VisitEnd::flushed, sink);
  }
  by_activity_.clear();
}

void SiteMerger::close(std::uint64_t key, VisitEnd end, SiteSink& sink) {
  Device& d = *devices_.find(key);
  for (Presence& p : d.presences) end_presence(d, p);
  if (d.leaving) leaving_.erase({d.deadline_ns, key});
  fold_samples(d, d.samples.size());
  Visit visit = build_visit(d, end);
  for (std::uint64_t address : d.addresses)
    if (auto it = by_address_.find(address); it != by_address_.end() && it->second == key) by_address_.erase(it);
  devices_.erase(key);
  ++counters_.visits;
  counters_.devices = devices_.size();
  sink.on_visit(visit);
}

void SiteMerger::add_totals(ProbeTotals& into, const ProbeTotals& from) {
  if (from.presences == 0) return;
  if (into.presences == 0) {
    into = from;
    return;
  }
  into.first_seen_ns = std::min(into.first_seen_ns, from.first_seen_ns);
  into.last_seen_ns = std::max(into.last_seen_ns, from.last_seen_ns);
  into.frames += from.frames;
  into.presences += from.presences;
  if (!from.signal) return;
  into.signal_frames += from.signal_frames;
  into.rssi_sum += from.rssi_sum;
  if (!into.signal || from.rssi_max > into.rssi_max) into.freq_mhz = from.freq_mhz;
  into.rssi_min = into.signal ? std::min(into.rssi_min, from.rssi_min) : from.rssi_min;
  into.rssi_max = into.signal ? std::max(into.rssi_max, from.rssi_max) : from.rssi_max;
  into.signal = true;
}

void SiteMerger::add_part(ProbeTotals& t, const Presence& p) {
  ProbeTotals part;
  part.first_seen_ns = p.first_seen_ns;
  part.last_seen_ns = p.last_seen_ns;
  part.frames = p.frames;
  part.presences = 1;
  if (p.signal) {
    part.signal = true;
    part.signal_frames = p.frames;
    part.rssi_sum = std::int64_t{p.rssi_mean} * p.frames;
    part.rssi_min = p.rssi_min;
    part.rssi_max = p.rssi_max;
    part.freq_mhz = p.freq_mhz;
  }
  add_totals(t, part);
}

Visit SiteMerger::build_visit(const Device& d, VisitEnd end) const {
  Visit v;
  v.id = d.id;
  v.device = d.mac;
  v.addresses = d.address_count;
  v.ble = d.ble;
  v.end = end;
  v.randomized = d.randomized;
  v.fingerprint = d.fingerprint;

  // Per probe totals, and the presences in order of first hearing.
  std::vector<ProbeTotals> totals(config_.probes.size());
  struct Hearing {
    std::int64_t first, last;
    int loudness;
    std::uint16_t probe;
  };
  std::vector<Hearing> hearings;
  for (const Presence& p : d.presences) {
    ProbeTotals whole = p.earlier;
    add_part(whole, p);
    add_totals(totals[p.probe], whole);
    hearings.push_back(Hearing{p.first_seen_ns, p.last_seen_ns, whole.signal ? whole.rssi_max : -129, p.probe});
  }
  std::sort(hearings.begin(), hearings.end(), [](const Hearing& a, const Hearing& b) {
    if (a.first != b.first) return a.first < b.first;
    if (a.loudness != b.loudness) return a.loudness > b.loudness;
    return a.probe < b.probe;
  });
  if (hearings.empty()) return v;  // unreachable: a device exists only with a presence
  const auto zone_of = [&](std::uint16_t probe) -> const std::string& { return zone_names_[probe_zone_[probe]]; };

  v.arrival_ns = hearings.front().first;
  v.entry_zone = zone_of(hearings.front().probe);
  const Hearing* last = &hearings.front();
  for (const Hearing& h : hearings) {
    if (v.zones.empty() || v.zones.back() != zone_of(h.probe)) v.zones.push_back(zone_of(h.probe));
    if (h.last > last->last || (h.last == last->last && (h.loudness > last->loudness ||
                                                         (h.loudness == last->loudness && h.probe < last->probe))))
      last = &h;
  }
  v.departure_ns = last->last;
  v.exit_zone = zone_of(last->probe);
  v.dwell_s = static_cast<std::uint32_t>(
      std::min<std::int64_t>((v.departure_ns - v.arrival_ns) / ns_per_s, std::numeric_limits<std::uint32_t>::max()));

  std::uint64_t loudest_probe_frames = 0;
  for (std::uint16_t probe = 0; probe < totals.size(); ++probe) {
    const ProbeTotals& t = totals[probe];
    if (t.presences == 0) continue;
    ProbeVisit pv;
    pv.probe = config_.probes[probe].probe_id;
    pv.zone = zone_of(probe);
    pv.first_seen_ns = t.first_seen_ns;
    pv.last_seen_ns = t.last_seen_ns;
    pv.frames = static_cast<std::uint32_t>(std::min<std::uint64_t>(t.frames, std::numeric_limits<std::uint32_t>::max()));
    if (t.signal) {
      pv.rssi_min = t.rssi_min;
      pv.rssi_max = t.rssi_max;
      pv.rssi_mean = t.signal_frames == 0
                         ? t.rssi_max
                         : static_cast<std::int8_t>(round_div(t.rssi_sum, static_cast<std::int64_t>(t.signal_frames)));
      pv.strongest_freq_mhz = t.freq_mhz;
    }
    pv.presences = t.presences;
    v.frames_heard += t.frames;
    loudest_probe_frames = std::max(loudest_probe_frames, t.frames);
    v.probes.push_back(std::move(pv));
  }
  std::stable_sort(v.probes.begin(), v.probes.end(),
                   [](const ProbeVisit& a, const ProbeVisit& b) { return a.first_seen_ns < b.first_seen_ns; });
  v.duplicate_frames = d.duplicate_frames;
  v.frames = std::max(loudest_probe_frames, v.frames_heard - std::min(v.frames_heard, d.duplicate_frames));

  for (const Segment& s : d.segments) {
    const std::int64_t from = v.strongest_zone.empty() ? v.arrival_ns : std::max(s.from_ns, v.arrival_ns);
    v.strongest_zone.push_back(ZoneSegment{from, zone_names_[s.zone]});
  }
  if (v.strongest_zone.empty()) v.strongest_zone.push_back(ZoneSegment{v.arrival_ns, v.entry_zone});
  return v;
}

void SiteMerger::on_sighting(std::string_view probe_id, const Sighting& sighting) {
  ++counters_.sightings_in;
  const std::uint16_t* probe = probe_index(probe_id);
  if (probe == nullptr) {
    ++counters_.sightings_unknown_probe;
    return;
  }
  if (sighting.kind == SightingKind::ble_adv) {
    ++counters_.sightings_not_dedupable;
    return;
  }
  const bool dup = dedup_.duplicate(sighting.mac, sighting.seq, sighting.ts_ns, *probe);
  counters_.dedup_evicted_live = dedup_.counters().evicted_live;
  if (!dup) return;
  ++counters_.duplicate_frames;
  if (const std::uint64_t id = by_address(key_of(sighting.mac, false), *probe, 0); id != kNoDevice)
    ++devices_.find(id)->duplicate_frames;
  else
    ++counters_.duplicates_without_visit;
}

SiteOccupancy SiteMerger::occupancy() const {
  SiteOccupancy o;
  o.present = present_;
  o.leaving = static_cast<std::uint32_t>(leaving_.size());
  for (std::size_t z = 0; z < zone_names_.size(); ++z) o.zones.push_back(ZoneOccupancy{zone_names_[z], zone_present_[z]});
  return o;
}

}  // namespace footfall::gateway
