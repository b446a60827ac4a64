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
//   another phone linked wrongly; it starts a new device from then on (past events are not rewritten).
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

// Per device, beside its 64-byte DeviceRecord.
struct LinkState {
  std::uint64_t previous = 0;     // bits 0-47: previous address; has_previous_bit; linkable_bit; listed_bit
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
  [[nodiscard]] std::size_t memory_bytes() const;
  // Entries in the previous-address index and the fingerprint index (each at most one per device).
  [[nodiscard]] std::uint32_t previous_addresses() const { return previous_.size(); }
  [[nodiscard]] std::uint32_t fingerprint_lists() const { return fingerprints_.size(); }

 private:
  [[nodiscard]] bool randomized(std::uint64_t key) const;
  std::uint32_t candidate(const DeviceTable& table, const Sighting& s, LinkCounters& counters);
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
};

}  // namespace footfall::probe::presence
