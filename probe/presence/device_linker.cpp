#include "probe/presence/device_linker.h"

#include <algorithm>
#include <bit>
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
constexpr int period_shift = 51;
constexpr std::uint64_t period_max = 0x1fff;  // 13 bits of 0.1 s: up to 819.1 s
constexpr double period_alpha = 0.25;
constexpr std::uint32_t live_cap = 256;  // a crowd's devices counted at most; beyond, the crowd rule starts none
constexpr double crowd_period_alpha = 0.05;
constexpr int crowd_ways = 4;
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
double period_of(const LinkState& l) { return static_cast<double>(l.previous >> period_shift) / 10.0; }
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

DeviceLinker::DeviceLinker(const LinkConfig& config, std::uint32_t capacity)
    : config_(config), crowds_(config.window_ns, config.crowd_sets) {
  states_.reserve(capacity);
  gated_.reserve(std::max(live_cap, config.max_candidates));
}

double DeviceLinker::period_s(std::uint32_t pos) const { return period_of(states_[pos]); }

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
  return states_.size() * sizeof(LinkState) + (previous_.slots() + fingerprints_.slots()) * sizeof(std::uint32_t) +
         heard_.size() * sizeof(std::uint64_t) + fixed_bytes();
}

std::size_t DeviceLinker::fixed_bytes() const {
  return crowds_.memory_bytes() + gated_.capacity() * sizeof(Gated);
}

void DeviceLinker::clear() {
  states_.clear();
  previous_.clear();
  fingerprints_.clear();
  crowds_.clear();
  heard_.clear();
}

// ---------------------------------------------------------------- CrowdEstimate

CrowdEstimate::CrowdEstimate(std::int64_t window_ns, std::uint32_t sets)
    : window_ns_(window_ns), entries_(static_cast<std::size_t>(std::bit_ceil(std::max(sets, 1u))) * crowd_ways) {}

const CrowdEstimate::Entry* CrowdEstimate::find(std::uint64_t fingerprint) const {
  const std::size_t set = (DeviceTable::hash(fingerprint) & (entries_.size() / crowd_ways - 1)) * crowd_ways;
  for (std::size_t i = set; i < set + crowd_ways; ++i)
    if (entries_[i].fingerprint == fingerprint) return &entries_[i];
  return nullptr;
}

double CrowdEstimate::decayed(const Entry& e, std::int64_t ts_ns) const {
  const std::int64_t dt = std::max<std::int64_t>(0, ts_ns - e.last_ns);
  return e.bursts * std::exp(-static_cast<double>(dt) / static_cast<double>(window_ns_));
}

void CrowdEstimate::burst(std::uint64_t fingerprint, std::int64_t ts_ns, double period_s) {
  const std::size_t set = (DeviceTable::hash(fingerprint) & (entries_.size() / crowd_ways - 1)) * crowd_ways;
  Entry* held = nullptr;
  Entry* weakest = nullptr;
  double weakest_bursts = 0;
  for (std::size_t i = set; i < set + crowd_ways; ++i) {
    Entry& e = entries_[i];
    if (e.fingerprint == fingerprint) {
      held = &e;
      break;
    }
    const double b = e.fingerprint == 0 ? -1.0 : decayed(e, ts_ns);
    if (weakest == nullptr || b < weakest_bursts) {
      weakest = &e;
      weakest_bursts = b;
    }
  }
  if (held == nullptr) {
    held = weakest;
    *held = Entry{fingerprint, ts_ns, ts_ns, 0, 0};
  }
  held->bursts = static_cast<float>(decayed(*held, ts_ns) + 1.0);
  held->last_ns = std::max(held->last_ns, ts_ns);
  if (period_s > 0)
    held->period_s = held->period_s == 0
                         ? static_cast<float>(period_s)
                         : static_cast<float>(held->period_s + crowd_period_alpha * (period_s - held->period_s));
}

double CrowdEstimate::phones(std::uint64_t fingerprint, std::int64_t ts_ns) const {
  const Entry* e = find(fingerprint);
  if (e == nullptr || e->period_s == 0) return 0;
  // Bursts counted since the entry began, not over a whole time constant: the estimate is right from the start.
  const double tau = static_cast<double>(window_ns_);
  const double age = std::max(static_cast<double>(ts_ns - e->first_ns), 4.0 * e->period_s * 1e9);
  return decayed(*e, ts_ns) / (tau / 1e9 * (1.0 - std::exp(-age / tau))) * e->period_s;
}

double CrowdEstimate::period_s(std::uint64_t fingerprint) const {
  const Entry* e = find(fingerprint);
  return e == nullptr ? 0 : e->period_s;
}

void CrowdEstimate::clear() { std::fill(entries_.begin(), entries_.end(), Entry{}); }

// ---------------------------------------------------------------- DeviceLinker, crowds

double DeviceLinker::crowd_of(const Sighting& s) const {
  const double period = crowds_.period_s(s.fingerprint);
  // A rate means something only over several bursts of each phone within the window.
  if (period == 0 || period * 1e9 * config_.crowd_min_bursts > static_cast<double>(config_.window_ns)) return 0;
  const double phones = crowds_.phones(s.fingerprint, s.ts_ns);
  return phones >= config_.crowd_phones ? phones : 0;
}

std::int64_t DeviceLinker::address_gap(const DeviceTable& table, const Sighting& s) {
  // One entry per device present (at least 4096): 8 bytes a device within the presence table's budget.
  if (table.size() > heard_.size())
    heard_.assign(std::max<std::size_t>(4096, std::bit_ceil(static_cast<std::size_t>(table.size()))), 0);
  const std::uint64_t h = DeviceTable::hash(s.mac.as_u64());
  std::uint64_t& e = heard_[h & (heard_.size() - 1)];
  const std::uint64_t tag = (h >> 32) | 1;
  const auto ms = static_cast<std::uint32_t>(s.ts_ns / 1'000'000);
  if ((e >> 32) != tag) {
    e = (tag << 32) | ms;
    return -1;
  }
  const auto gap_ms = static_cast<std::int32_t>(ms - static_cast<std::uint32_t>(e));
  if (gap_ms <= 0) return 0;  // a late frame
  e = (tag << 32) | ms;
  return std::int64_t{gap_ms} * 1'000'000;
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
      // In a crowd the phone that took this device left its own behind: the address is placed like a new one.
      if (s.kind == SightingKind::probe_req && s.fingerprint != 0 && randomized(key) && crowd_of(s) > 0) {
        // It may go back to this device: two phones then share it, and the crowd's count rests on its estimate.
        const std::uint32_t other = candidate(table, s, counters);
        if (other != no_record) {
          ++counters.crowd_relinks;
          change_address(table, other, key, s.ts_ns);
        }
        return other;
      }
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
  Choice any;  // every candidate: a continuing counter wins, else the signal gate and the lowest cost
  gated_.clear();
  double shortest = 0;  // the burst periods known among the candidates within the gate, seconds
  double longest = 0;
  const int band = band_of(s.freq_mhz);
  // A crowd's walk goes on to the devices whose phones are due, about a period back in the list.
  const double phones = crowd_of(s);
  const std::uint32_t max_walk = phones > 0 ? std::max(live_cap, config_.max_candidates) : config_.max_candidates;
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
    if (walked++ == max_walk) {
      ++counters.candidates_capped;
      break;
    }
    const LinkState& l = states_[p];
    int step = 0;  // 0: the counter does not continue
    if (l.last_seq != no_seq) {
      step = ((static_cast<int>(s.seq) - l.last_seq) % seq_modulus + seq_modulus) % seq_modulus;
      if (step > config_.seq_window) step = 0;
    }
    any.by_step(p, step);
    const double gate = std::max(config_.rssi_gate_db, config_.rssi_gate_k * spread_db(l));
    double drssi = 0;
    const double ref = signal_on(l, band);
    if (s.has_rssi && !std::isnan(ref)) {
      drssi = std::abs(static_cast<double>(s.rssi_dbm) - ref);
      if (drssi > gate) {
        if (any.by_seq == no_record) ++counters.refused_signal;
        continue;
      }
    }
    const double cost = drssi / gate + static_cast<double>(silence) / static_cast<double>(config_.window_ns);
    any.by_cost(p, cost);
    const double period = period_of(l);
    if (period > 0) {
      shortest = shortest == 0 ? period : std::min(shortest, period);
      longest = std::max(longest, period);
    }
    gated_.push_back({p, step, cost, static_cast<double>(silence) / 1e9, period});
  }
  // In a crowd of one model the counter and the signal meet other phones by chance: the burst must be due.
  if (phones == 0) return chosen(any, counters);
  return crowd_choice(s, phones, std::min(walked, max_walk), shortest, longest, counters);
}

std::uint32_t DeviceLinker::crowd_choice(const Sighting& s, double phones, std::uint32_t live, double shortest,
                                         double longest, LinkCounters& counters) {
  // live: the fingerprint's devices that may still take an address (heard within the window), against its phones.
  const bool short_of_devices = live < live_cap && static_cast<double>(live) + 1.0 <= phones;
  // A device whose own period is not known yet is due within the periods of the others and of the model.
  const double model_period = crowds_.period_s(s.fingerprint);
  shortest = shortest == 0 ? model_period : std::min(shortest, model_period);
  longest = std::max(longest, model_period);
  const double burst_gap_s = static_cast<double>(config_.burst_gap_ns) / 1e9;
  Choice due;    // candidates whose phone is due (a period not known yet: within the range of those known)
  Choice tight;  // candidates whose phone is due within due_tight of its own period
  for (const Gated& g : gated_) {
    const bool new_burst = g.silence_s > burst_gap_s;
    if (new_burst) {
      const double early = config_.due_early * (g.period_s > 0 ? g.period_s : shortest);
      const double late = config_.due_late * (g.period_s > 0 ? g.period_s : longest);
      if (g.silence_s < early || g.silence_s > late) {
        ++counters.refused_timing;
        continue;
      }
    }
    const double off = g.period_s > 0 && new_burst ? std::abs(g.silence_s / g.period_s - 1.0) : 0.0;
    due.by_step(g.pos, g.step);
    due.by_cost(g.pos, g.cost + off);
    if (g.period_s > 0 && new_burst && off <= config_.due_tight) tight.by_cost(g.pos, g.cost + off);
  }
  if (due.by_seq != no_record) {
    ++counters.linked_sequence;
    return due.by_seq;
  }
  if (short_of_devices) {
    if (tight.by_signal == no_record) {
      ++counters.crowd_starts;
      return no_record;
    }
    ++counters.linked_signal;
    return tight.by_signal;
  }
  // Enough devices: the address goes to one of them, the most nearly due if any is.
  Choice any;
  for (const Gated& g : gated_) any.by_cost(g.pos, g.cost);
  return chosen(due.by_signal != no_record ? due : any, counters);
}

std::uint32_t DeviceLinker::chosen(const Choice& c, LinkCounters& counters) {
  if (c.by_seq != no_record) {
    ++counters.linked_sequence;
    return c.by_seq;
  }
  if (c.by_signal != no_record) ++counters.linked_signal;
  return c.by_signal;
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
  // Bursts and periods from the address alone (not from links): its frames are certainly one phone's.
  const std::int64_t gap_ns = address_gap(table, s);
  const bool recurs = gap_ns > config_.burst_gap_ns && gap_ns <= config_.window_ns;
  if (gap_ns < 0 || gap_ns > config_.burst_gap_ns)
    crowds_.burst(table.at(pos).fingerprint, s.ts_ns, recurs ? static_cast<double>(gap_ns) / 1e9 : 0.0);
  if (recurs) {
    const double sample = static_cast<double>(gap_ns) / 1e9;
    const double old = period_of(l);
    const double period = old == 0 ? sample : old + period_alpha * (sample - old);
    const auto stored = std::clamp<std::uint64_t>(static_cast<std::uint64_t>(std::lround(period * 10.0)), 1, period_max);
    l.previous = (l.previous & ~(period_max << period_shift)) | (stored << period_shift);
  }
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
