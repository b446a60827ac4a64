#include "probe/presence/device_linker.h"

#include <algorithm>
#include <cmath>

namespace footfall::probe::presence {
namespace {
constexpr std::uint32_t pos_bits = 0x00ff'ffffu;
constexpr std::uint32_t stored_none = 0xff'ffff;
constexpr std::size_t initial_slots = 1024;
constexpr std::uint64_t address_bits = 0xffff'ffff'ffffULL;
constexpr std::uint64_t has_previous_bit = std::uint64_t{1} << 48;
constexpr std::uint64_t linkable_bit = std::uint64_t{1} << 49;
constexpr std::uint64_t listed_bit = std::uint64_t{1} << 50;
constexpr std::uint16_t no_seq = 0xffff;
constexpr int seq_modulus = 4096;

// Signal smoothing and spread (see docs/counting.md; insensitive within x0.5..x1.5).
constexpr double rssi_alpha = 0.25;
constexpr double spread_alpha = 0.05;
constexpr double spread_init_db = 10.0;  // a new device's gate starts wide: 8 x 10 dB
constexpr int spread_prior_n = 8;

std::uint32_t slot_pos(std::uint32_t slot) { return (slot & pos_bits) - 1; }
std::uint32_t slot_tag(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 56); }
std::uint32_t link_of(std::uint64_t stored) {
  return stored == stored_none ? no_record : static_cast<std::uint32_t>(stored);
}

// 4 signal slots: 2.4 GHz channels 1-4 / 5-8 / 9-14, and 5-6 GHz; -1 when the channel is unknown.
int band_of(std::uint16_t freq_mhz) {
  if (freq_mhz == 0) return -1;
  if (freq_mhz < 2427) return 0;
  if (freq_mhz < 2447) return 1;
  if (freq_mhz < 2500) return 2;
  return 3;
}

double dbm_of(std::uint8_t stored) { return static_cast<double>(stored) / 2.0 - 128.0; }
std::uint8_t stored_of(double dbm) {
  return static_cast<std::uint8_t>(std::clamp(std::lround((dbm + 128.0) * 2.0), 1L, 255L));
}

// The device's smoothed signal on band b, else on the nearest band that has one; NAN when none.
double signal_on(const LinkState& l, int b) {
  if (b < 0) return NAN;
  for (int off : {0, -1, 1, -2, 2, -3, 3}) {
    const int i = b + off;
    if (i >= 0 && i < 4 && l.signal[i] != 0) return dbm_of(l.signal[i]);
  }
  return NAN;
}

double spread_db(const LinkState& l) { return static_cast<double>(l.spread) / 8.0; }
}  // namespace

// ---------------------------------------------------------------- PositionIndex

PositionIndex::PositionIndex() : slots_(initial_slots, 0), mask_(initial_slots - 1) {}

std::uint64_t PositionIndex::slot_of(std::uint64_t key, std::uint32_t pos) const {
  std::uint64_t i = DeviceTable::hash(key) & mask_;
  while (slot_pos(slots_[i]) != pos) i = (i + 1) & mask_;
  return i;
}

template <class KeyOf>
std::uint32_t PositionIndex::find(std::uint64_t key, KeyOf key_of) const {
  const std::uint64_t h = DeviceTable::hash(key);
  const std::uint32_t tag = slot_tag(h);
  for (std::uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const std::uint32_t slot = slots_[i];
    if (slot == 0) return no_record;
    if ((slot >> 24) == tag && key_of(slot_pos(slot)) == key) return slot_pos(slot);
  }
}

template <class KeyOf>
void PositionIndex::grow(KeyOf key_of) {
  std::vector<std::uint32_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  mask_ = slots_.size() - 1;
  for (const std::uint32_t slot : old) {
    if (slot == 0) continue;
    const std::uint64_t h = DeviceTable::hash(key_of(slot_pos(slot)));
    std::uint64_t i = h & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
}

template <class KeyOf>
void PositionIndex::insert(std::uint64_t key, std::uint32_t pos, KeyOf key_of) {
  if ((static_cast<std::size_t>(size_) + 1) * 2 > slots_.size()) grow(key_of);
  const std::uint64_t h = DeviceTable::hash(key);
  std::uint64_t i = h & mask_;
  while (slots_[i] != 0) i = (i + 1) & mask_;
  slots_[i] = (slot_tag(h) << 24) | (pos + 1);
  ++size_;
}

template <class KeyOf>
void PositionIndex::erase(std::uint64_t key, std::uint32_t pos, KeyOf key_of) {
  std::uint64_t i = slot_of(key, pos);
  for (std::uint64_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
    const std::uint64_t home = DeviceTable::hash(key_of(slot_pos(slots_[j]))) & mask_;
    if (((j - home) & mask_) >= ((j - i) & mask_)) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = 0;
  --size_;
}

void PositionIndex::replace(std::uint64_t key, std::uint32_t from, std::uint32_t to) {
  std::uint32_t& slot = slots_[slot_of(key, from)];
  slot = (slot & ~pos_bits) | (to + 1);
}

void PositionIndex::clear() {
  std::fill(slots_.begin(), slots_.end(), 0u);
  size_ = 0;
}

// ---------------------------------------------------------------- DeviceLinker

DeviceLinker::DeviceLinker(const LinkConfig& config, std::uint32_t capacity) : config_(config) {
  states_.reserve(capacity);
}

bool DeviceLinker::randomized(std::uint64_t key) const {
  if ((key & ble_key_bit) != 0) return false;  // BLE addresses are not linked
  return config_.all_randomized || (key & (std::uint64_t{0x02} << 40)) != 0;
}

bool DeviceLinker::has_previous(std::uint32_t pos) const { return (states_[pos].previous & has_previous_bit) != 0; }

MacAddress DeviceLinker::previous_address(std::uint32_t pos) const {
  MacAddress m;
  if (!has_previous(pos)) return m;
  const std::uint64_t a = states_[pos].previous & address_bits;
  for (std::size_t i = 0; i < 6; ++i) m.octets[i] = static_cast<std::uint8_t>(a >> (40 - 8 * i));
  return m;
}

std::size_t DeviceLinker::memory_bytes() const {
  return states_.size() * sizeof(LinkState) + (previous_.slots() + fingerprints_.slots()) * sizeof(std::uint32_t);
}

void DeviceLinker::clear() {
  states_.clear();
  previous_.clear();
  fingerprints_.clear();
}

std::uint32_t DeviceLinker::place(DeviceTable& table, std::uint64_t key, const Sighting& s, LinkCounters& counters) {
  if (!config_.link_addresses) {
    ++counters.new_addresses;
    return no_record;
  }
  const auto previous_of = [this](std::uint32_t p) { return states_[p].previous & address_bits; };
  if (const std::uint32_t pos = previous_.find(key, previous_of); pos != no_record) {
    ++counters.known_addresses;
    LinkState& l = states_[pos];
    // Signed: a late frame may carry a time before the current address's first frame.
    const auto since = static_cast<std::int32_t>(static_cast<std::uint32_t>(s.ts_ns / 1'000'000) - l.since_ms);
    if (std::int64_t{since} * 1'000'000 > config_.overlap_ns) {
      // Two phones were linked wrongly: this address starts a device of its own from now on.
      previous_.erase(key, pos, previous_of);
      l.previous &= ~(has_previous_bit | address_bits);
      ++counters.overlap_splits;
      return no_record;
    }
    ++counters.returns;
    change_address(table, pos, key, s.ts_ns);
    return pos;
  }
  ++counters.new_addresses;
  if (s.kind != SightingKind::probe_req || s.fingerprint == 0 || !randomized(key)) return no_record;
  const std::uint32_t pos = candidate(table, s, counters);
  if (pos != no_record) change_address(table, pos, key, s.ts_ns);
  return pos;
}

std::uint32_t DeviceLinker::candidate(const DeviceTable& table, const Sighting& s, LinkCounters& counters) {
  const auto fingerprint_of = [&table](std::uint32_t p) { return table.at(p).fingerprint; };
  std::uint32_t by_seq = no_record;
  int best_step = seq_modulus;
  std::uint32_t by_signal = no_record;
  double best_cost = 0;
  const int band = band_of(s.freq_mhz);
  std::uint32_t walked = 0;
  std::uint32_t before = no_record;
  for (std::uint32_t p = fingerprints_.find(s.fingerprint, fingerprint_of); p != no_record;
       before = p, p = link_of(states_[p].fp_next)) {
    const DeviceRecord& r = table.at(p);
    const std::int64_t silence = s.ts_ns - r.last_seen_ns;
    if (silence > config_.window_ns) {
      cut(table, before, p);  // the list is most recent first: the rest is older still
      break;
    }
    if (walked++ == config_.max_candidates) {
      ++counters.candidates_capped;
      break;
    }
    const LinkState& l = states_[p];
    if (l.last_seq != no_seq) {
      const int step = ((static_cast<int>(s.seq) - l.last_seq) % seq_modulus + seq_modulus) % seq_modulus;
      if (step >= 1 && step <= config_.seq_window && step < best_step) {
        best_step = step;
        by_seq = p;
      }
    }
    if (by_seq != no_record) continue;  // a continuing counter wins: the signal no longer matters
    const double gate = std::max(config_.rssi_gate_db, config_.rssi_gate_k * spread_db(l));
    double drssi = 0;
    const double ref = signal_on(l, band);
    if (s.has_rssi && !std::isnan(ref)) {
      drssi = std::abs(static_cast<double>(s.rssi_dbm) - ref);
      if (drssi > gate) {
        ++counters.refused_signal;
        continue;
      }
    }
    const double cost = drssi / gate + static_cast<double>(silence) / static_cast<double>(config_.window_ns);
    if (by_signal == no_record || cost < best_cost) {
      by_signal = p;
      best_cost = cost;
    }
  }
  if (by_seq != no_record) {
    ++counters.linked_sequence;
    return by_seq;
  }
  if (by_signal != no_record) ++counters.linked_signal;
  return by_signal;
}

void DeviceLinker::change_address(DeviceTable& table, std::uint32_t pos, std::uint64_t key, std::int64_t ts_ns) {
  const auto previous_of = [this](std::uint32_t p) { return states_[p].previous & address_bits; };
  LinkState& l = states_[pos];
  const std::uint64_t current = table.at(pos).key;
  const bool returning = (l.previous & has_previous_bit) != 0 && (l.previous & address_bits) == key;
  // The address before the previous one leaves the index: at most two addresses per device are known.
  if ((l.previous & has_previous_bit) != 0) previous_.erase(l.previous & address_bits, pos, previous_of);
  l.previous = (l.previous & ~address_bits) | has_previous_bit | (current & address_bits);
  previous_.insert(current & address_bits, pos, previous_of);
  table.rekey(pos, key);
  if (!returning && l.addresses != 0xffff) l.addresses = (l.addresses + 1) & 0xffff;
  l.since_ms = static_cast<std::uint32_t>(ts_ns / 1'000'000);
}

void DeviceLinker::on_arrival(DeviceTable& table, std::uint32_t pos, const Sighting& s) {
  if (pos >= states_.size()) states_.resize(pos + 1);
  LinkState& l = states_[pos];
  l = LinkState{};
  l.device = ++next_device_;
  l.since_ms = static_cast<std::uint32_t>(s.ts_ns / 1'000'000);
  l.spread = static_cast<std::uint8_t>(spread_init_db * 8);
  const DeviceRecord& r = table.at(pos);
  if (config_.link_addresses && s.kind == SightingKind::probe_req && r.fingerprint != 0 && randomized(r.key)) {
    l.previous |= linkable_bit;
    list_front(table, pos);
  }
  after_heard(table, pos, s);
}

bool DeviceLinker::linkable(std::uint32_t pos) const { return (states_[pos].previous & linkable_bit) != 0; }

void DeviceLinker::after_heard(const DeviceTable& table, std::uint32_t pos, const Sighting& s) {
  LinkState& l = states_[pos];
  if ((l.previous & linkable_bit) == 0) return;
  if ((l.previous & listed_bit) == 0) {
    list_front(table, pos);
  } else if (l.fp_prev != stored_none) {
    list_remove(table, pos);
    list_front(table, pos);
  }
  if (s.kind == SightingKind::probe_req) l.last_seq = s.seq & (seq_modulus - 1);
  const int band = band_of(s.freq_mhz);
  if (!s.has_rssi || band < 0) return;
  const double rssi = s.rssi_dbm;
  if (l.signal[band] == 0) {
    l.signal[band] = stored_of(rssi);
    return;
  }
  const double old = dbm_of(l.signal[band]);
  if (l.spread_n != 0xff) ++l.spread_n;
  const double a = std::max(1.0 / (l.spread_n + spread_prior_n), spread_alpha);
  const double spread = spread_db(l) + a * (std::abs(rssi - old) - spread_db(l));
  l.spread = static_cast<std::uint8_t>(std::clamp(std::lround(spread * 8.0), 0L, 255L));
  l.signal[band] = stored_of(old + rssi_alpha * (rssi - old));
}

void DeviceLinker::forget(const DeviceTable& table, std::uint32_t pos) {
  LinkState& l = states_[pos];
  if ((l.previous & listed_bit) != 0) list_remove(table, pos);
  if ((l.previous & has_previous_bit) != 0)
    previous_.erase(l.previous & address_bits, pos, [this](std::uint32_t p) { return states_[p].previous & address_bits; });
  l.previous = 0;
}

void DeviceLinker::list_front(const DeviceTable& table, std::uint32_t pos) {
  const auto fingerprint_of = [&table](std::uint32_t p) { return table.at(p).fingerprint; };
  const std::uint64_t fp = table.at(pos).fingerprint;
  LinkState& l = states_[pos];
  const std::uint32_t head = fingerprints_.find(fp, fingerprint_of);
  l.fp_prev = stored_none;
  l.fp_next = head & stored_none;
  if (head != no_record) {
    states_[head].fp_prev = pos & stored_none;
    fingerprints_.replace(fp, head, pos);
  } else {
    fingerprints_.insert(fp, pos, fingerprint_of);
  }
  l.previous |= listed_bit;
}

void DeviceLinker::list_remove(const DeviceTable& table, std::uint32_t pos) {
  LinkState& l = states_[pos];
  const std::uint32_t prev = link_of(l.fp_prev);
  const std::uint32_t next = link_of(l.fp_next);
  if (prev != no_record) {
    states_[prev].fp_next = l.fp_next;
  } else {
    const std::uint64_t fp = table.at(pos).fingerprint;
    if (next != no_record) fingerprints_.replace(fp, pos, next);
    else fingerprints_.erase(fp, pos, [&table](std::uint32_t p) { return table.at(p).fingerprint; });
  }
  if (next != no_record) states_[next].fp_prev = l.fp_prev;
  l.fp_next = l.fp_prev = stored_none;
  l.previous &= ~listed_bit;
}

void DeviceLinker::cut(const DeviceTable& table, std::uint32_t before, std::uint32_t pos) {
  if (before == no_record)
    fingerprints_.erase(table.at(pos).fingerprint, pos, [&table](std::uint32_t p) { return table.at(p).fingerprint; });
  else
    states_[before].fp_next = stored_none;
  for (std::uint32_t p = pos; p != no_record;) {
    LinkState& l = states_[p];
    const std::uint32_t next = link_of(l.fp_next);
    l.fp_next = l.fp_prev = stored_none;
    l.previous &= ~listed_bit;
    p = next;
  }
}

}  // namespace footfall::probe::presence
