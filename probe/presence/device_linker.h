#pragma once
// Device linking: which device a probe request belongs to when phones change their random address every
// few bursts. Decided online at a new address's first frame, from the past only; never reads a clock.
//
// Method (measured in docs/counting.md):
// - a known address (a device's current or previous one) stays with its device;
// - a new globally administered address is its own device, never linked and never a link target;
// - a new randomised address looks at the randomised devices with the same fingerprint last heard at most
//   window_ns ago: a sequence number that continues (step 1..seq_window mod 4096) wins, smallest step first;
//   else candidates whose signal is further than max(rssi_gate_db, rssi_gate_k x the device's own spread)
//   from the device's smoothed signal on this band drop out, and the lowest cost |drssi|/gate + silence/window
//   wins; else a new device;
// - revision: a device's previous address heard more than overlap_ns after its successor appeared belongs to
//   another phone linked wrongly; it starts a new device from then on (past events are not rewritten);
// - crowds of one model (a fingerprint whose phones, estimated from its burst rate and the period between two
//   bursts of one address, reach crowd_phones): candidates must be due by their burst period, a fingerprint
//   with fewer devices heard within the window than that estimate starts a device unless a phone is due within
//   due_tight of its period, and a late previous address is placed like a new one (see LinkConfig).
//
// Storage: one 32-byte LinkState per DeviceTable record, at the same position. The table is keyed by the
// device's current address; the linker keeps an index of previous addresses (one per device, so at most two
// addresses per device are known) and an index from fingerprint to a most-recently-heard list of linkable
// devices. Both indexes are bounded by the table's capacity: the table's full-policy (evict the least
// recently heard device) bounds the linker too. A walk of one fingerprint's list stops at the first device
// older than the window (the tail is cut off) or after max_candidates devices (counted).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/records.h"
#include "probe/presence/device_table.h"

namespace footfall::probe::presence {

struct LinkConfig {
  bool link_addresses = true;     // false: every address is its own device (the behaviour before linking)
  bool all_randomized = false;    // treat every WiFi address as randomised (captures re-randomised by their authors)
  std::int64_t window_ns = 300'000'000'000;  // at most the departure silence: a link never revives a departure
  std::uint16_t seq_window = 64;
  double rssi_gate_db = 12.0;
  double rssi_gate_k = 8.0;
  std::int64_t overlap_ns = 5'000'000'000;
  std::uint32_t max_candidates = 32;
  // Crowds of one model (docs/counting.md): where the phones of a fingerprint present, estimated from its
  // burst rate and the period between two bursts of one address, reach crowd_phones, a candidate's phone must
  // be due (silence within [due_early, due_late] x its period, or within burst_gap_ns: the same burst), and
  // while the fingerprint has fewer devices than that estimate a new address starts a device unless a phone
  // is due within due_tight of its period (or its counter continues).
  double crowd_phones = 3.0;
  std::uint32_t crowd_min_bursts = 4;  // bursts per phone within window_ns for its rate to count (period <= window / 4)
  double due_early = 0.8;
  double due_late = 1.25;
  double due_tight = 0.1;
  std::int64_t burst_gap_ns = 1'000'000'000;  // a longer silence on one address starts a new burst
  std::uint32_t crowd_sets = 256;             // fingerprints whose rates are kept: 4 per set (24 bytes each)
};

// Linking outcomes, part of PresenceCounters.
// new_addresses == linked_sequence + linked_signal + (arrivals - overlap_splits).
struct LinkCounters {
  std::uint64_t known_addresses = 0;    // heard frames from a device's current or previous address
  std::uint64_t new_addresses = 0;      // heard frames from an address no device holds (its first frame)
  std::uint64_t linked_sequence = 0;    // new addresses linked by a continuing sequence number
  std::uint64_t linked_signal = 0;      // new addresses linked by signal and silence
  std::uint64_t refused_signal = 0;     // candidates dropped by the signal gate
  std::uint64_t overlap_splits = 0;     // previous addresses heard again too late: new devices
  std::uint64_t returns = 0;            // previous addresses heard again in time (current and previous swap)
  std::uint64_t candidates_capped = 0;  // walks stopped at max_candidates
  std::uint64_t refused_timing = 0;     // candidates in a crowd dropped: their phone's next burst was not due
  std::uint64_t crowd_starts = 0;       // new addresses that started a device because their crowd was short of devices
  std::uint64_t crowd_relinks = 0;      // previous addresses heard too late in a crowd, placed like new ones
};

// A position index: 64-bit key -> record position, the key read back from the record by `key_of(pos)`.
// Linear probing over 32-bit slots (8-bit tag, position + 1), at most half full, backward-shift deletion.
class PositionIndex {
 public:
  PositionIndex();
  template <class KeyOf>
  [[nodiscard]] std::uint32_t find(std::uint64_t key, KeyOf key_of) const;
  template <class KeyOf>
  void insert(std::uint64_t key, std::uint32_t pos, KeyOf key_of);
  // Precondition: key -> pos is present.
  template <class KeyOf>
  void erase(std::uint64_t key, std::uint32_t pos, KeyOf key_of);
  // Precondition: key -> from is present; to has the same key.
  void replace(std::uint64_t key, std::uint32_t from, std::uint32_t to);
  void clear();
  [[nodiscard]] std::size_t slots() const { return slots_.size(); }
  [[nodiscard]] std::uint32_t size() const { return size_; }

 private:
  [[nodiscard]] std::uint64_t slot_of(std::uint64_t key, std::uint32_t pos) const;
  template <class KeyOf>
  void grow(KeyOf key_of);
  std::vector<std::uint32_t> slots_;
  std::uint64_t mask_;
  std::uint32_t size_ = 0;
};

// Per fingerprint, how many of its phones are present: its burst rate (bursts of its addresses, counted with a
// time constant of the link window) times the mean silence between two bursts of one address. Addresses, not
// links: the figure does not depend on what the linker decided. Bounded: `sets` x 4 fingerprints; one not held
// takes the entry of its set with the fewest recent bursts, so the fingerprints of crowds stay held.
class CrowdEstimate {
 public:
  CrowdEstimate(std::int64_t window_ns, std::uint32_t sets);
  // A burst of one of the fingerprint's addresses; period_s > 0: the silence since that address's last burst.
  void burst(std::uint64_t fingerprint, std::int64_t ts_ns, double period_s);
  // Phones present: bursts per second x mean period; 0 when the fingerprint has no period yet.
  [[nodiscard]] double phones(std::uint64_t fingerprint, std::int64_t ts_ns) const;
  [[nodiscard]] double period_s(std::uint64_t fingerprint) const;
  void clear();
  [[nodiscard]] std::size_t memory_bytes() const { return entries_.size() * sizeof(Entry); }

 private:
  struct Entry {
    std::uint64_t fingerprint = 0;  // 0: free
    std::int64_t first_ns = 0;      // when it began to be counted
    std::int64_t last_ns = 0;
    float bursts = 0;    // decayed to last_ns
    float period_s = 0;  // mean silence between two bursts of one address; 0: none yet
  };
  [[nodiscard]] const Entry* find(std::uint64_t fingerprint) const;
  [[nodiscard]] double decayed(const Entry& e, std::int64_t ts_ns) const;
  std::int64_t window_ns_;
  std::vector<Entry> entries_;
};

// Per device, beside its 64-byte DeviceRecord.
struct LinkState {
  std::uint64_t previous = 0;     // bits 0-47: previous address; has_previous_bit; linkable_bit; listed_bit;
                                  // bits 51-63: burst period (0.1 s, 0 = none yet)
  std::uint32_t device = 0;       // run-unique device number (the event's `device`)
  std::uint32_t since_ms = 0;     // low 32 bits of the time (ms) the current address was first heard
  std::uint64_t fp_next : 24 = 0xff'ffff;  // fingerprint list: heard less recently
  std::uint64_t fp_prev : 24 = 0xff'ffff;  // fingerprint list: heard more recently
  std::uint64_t addresses : 16 = 1;        // addresses this device has used (saturates)
  std::uint16_t last_seq = 0xffff;         // 0xffff: none yet
  std::uint8_t signal[4] = {0, 0, 0, 0};   // smoothed dBm per band, half-dB steps above -128 dBm; 0 = none
  std::uint8_t spread = 0;                 // mean absolute deviation from `signal`, eighths of a dB
  std::uint8_t spread_n = 0;               // deviations seen (saturates)
};
static_assert(sizeof(LinkState) == 32, "the memory budget counts on 32 bytes of link state per device");

// The best candidate so far: the smallest continuing sequence step, else the lowest cost.
struct Choice {
  std::uint32_t by_seq = no_record;
  int best_step = 0;
  std::uint32_t by_signal = no_record;
  double best_cost = 0;
  void by_step(std::uint32_t p, int step) {
    if (step != 0 && (by_seq == no_record || step < best_step)) {
      by_seq = p;
      best_step = step;
    }
  }
  void by_cost(std::uint32_t p, double cost) {
    if (by_signal == no_record || cost < best_cost) {
      by_signal = p;
      best_cost = cost;
    }
  }
};

class DeviceLinker {
 public:
  DeviceLinker(const LinkConfig& config, std::uint32_t capacity);

  // For a heard frame whose address is not the current address of any device: the device it belongs to, or
  // no_record for a new device. May move the device to this address (table rekeyed) and counts the outcome.
  std::uint32_t place(DeviceTable& table, std::uint64_t key, const Sighting& s, LinkCounters& counters);
  // After table.insert() of a new device at pos.
  void on_arrival(DeviceTable& table, std::uint32_t pos, const Sighting& s);
  // After a heard frame is folded into the record.
  void after_heard(const DeviceTable& table, std::uint32_t pos, const Sighting& s);
  // A linkable device keeps the fingerprint it arrived with: its list, and what new addresses are matched on.
  [[nodiscard]] bool linkable(std::uint32_t pos) const;
  // Before table.erase(pos).
  void forget(const DeviceTable& table, std::uint32_t pos);
  void clear();

  [[nodiscard]] const LinkState& at(std::uint32_t pos) const { return states_[pos]; }
  [[nodiscard]] bool has_previous(std::uint32_t pos) const;
  [[nodiscard]] MacAddress previous_address(std::uint32_t pos) const;
  // The device's burst period from the silences between bursts of its addresses, in seconds; 0: none yet.
  [[nodiscard]] double period_s(std::uint32_t pos) const;
  [[nodiscard]] std::size_t memory_bytes() const;
  // What does not grow with the devices: the crowd estimate and a walk's scratch.
  [[nodiscard]] std::size_t fixed_bytes() const;
  // Entries in the previous-address index and the fingerprint index (each at most one per device).
  [[nodiscard]] std::uint32_t previous_addresses() const { return previous_.size(); }
  [[nodiscard]] std::uint32_t fingerprint_lists() const { return fingerprints_.size(); }
  [[nodiscard]] const CrowdEstimate& crowds() const { return crowds_; }

 private:
  [[nodiscard]] bool randomized(std::uint64_t key) const;
  std::uint32_t candidate(const DeviceTable& table, const Sighting& s, LinkCounters& counters);
  static std::uint32_t chosen(const Choice& c, LinkCounters& counters);
  void change_address(DeviceTable& table, std::uint32_t pos, std::uint64_t key, std::int64_t ts_ns);
  void list_front(const DeviceTable& table, std::uint32_t pos);
  void list_remove(const DeviceTable& table, std::uint32_t pos);
  // Unlinks pos and everything after it; `before` is its predecessor (no_record: pos is the head).
  void cut(const DeviceTable& table, std::uint32_t before, std::uint32_t pos);

  LinkConfig config_;
  std::vector<LinkState> states_;   // sized with the table's pool
  PositionIndex previous_;          // previous address -> device
  PositionIndex fingerprints_;      // fingerprint -> most recently heard linkable device
  std::uint32_t next_device_ = 0;
  // A walk's candidates within the signal gate (at most max_candidates, in a crowd 256), for the crowd rule.
  struct Gated {
    std::uint32_t pos;
    int step;  // the sequence number's continuing step, 0: none
    double cost;
    double silence_s;
    double period_s;
  };
  std::vector<Gated> gated_;
  CrowdEstimate crowds_;
  // Recently heard addresses, direct-mapped, sized with the devices present (a lost entry only counts one
  // burst too many): hash tag (32 bits) and when last heard (ms, 32 bits); 0 = empty.
  std::vector<std::uint64_t> heard_;
  // Since the sighting's address was last heard (and notes it now); -1: not heard recently.
  std::int64_t address_gap(const DeviceTable& table, const Sighting& s);
  // The phones of the sighting's fingerprint when they make a crowd (see LinkConfig), else 0.
  [[nodiscard]] double crowd_of(const Sighting& s) const;
  // The crowd rule over gated_: the device the address goes to, or no_record to start one.
  std::uint32_t crowd_choice(const Sighting& s, double phones, std::uint32_t live, double shortest, double longest,
                             LinkCounters& counters);
};

}  // namespace footfall::probe::presence
