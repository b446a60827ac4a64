#pragma once
// The presence tracker's storage: one compact record per device present on this probe, found by
// address through an open-addressing index, and threaded on one list ordered by when it was last heard.
//
// Layout (why it is small): records live in a dense pool (64 bytes each, one cache line, reused through a
// free list); the index is a linear-probing array of 32-bit slots, each holding an 8-bit hash tag and the
// record's pool position, kept at most half full. At 1,000,000 devices that is 64 + 8.4 = ~72 bytes per
// device. Positions are below 2^24 and stable while a record lives, so the list links are 24-bit positions
// (one word with rssi_min / rssi_max), not pointers.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace footfall::probe::presence {

inline constexpr std::uint32_t no_record = std::numeric_limits<std::uint32_t>::max();

// Exact cumulative and per-interval statistics need 497 bits; the bit fields keep that in one cache line.
struct alignas(64) DeviceRecord {
  std::uint64_t key = 0;          // 48-bit address, plus the BLE bit (ble_key_bit)
  std::uint64_t fingerprint = 0;  // of the latest sighting that carried one
  std::int64_t first_seen_ns = 0;
  std::int64_t last_seen_ns = 0;
  std::uint32_t frames = 0;             // since arrival
  std::uint32_t interval_frames = 0;    // since the presence's previous event
  std::int32_t rssi_sum = 0;            // over rssi_count frames; halved with it near overflow
  std::int32_t interval_rssi_sum = 0;   // over interval_rssi_count frames, likewise
  std::uint64_t rssi_count : 24 = 0;           // frames since arrival that carried a signal value
  std::uint64_t interval_rssi_count : 24 = 0;  // frames of the interval that carried one
  std::uint16_t strongest_freq_mhz = 0;
  std::uint64_t older : 24 = 0xff'ffff;  // heard list: neighbour heard less recently (DeviceTable's own)
  std::uint64_t newer : 24 = 0xff'ffff;  // heard list: neighbour heard more recently (DeviceTable's own)
  std::int8_t rssi_min = 0;
  std::int8_t rssi_max = 0;
};
static_assert(sizeof(DeviceRecord) == 64, "the memory budget counts on 64-byte records");

// Signal counts saturate here (24 bits); the sums and counts are halved together before that.
inline constexpr std::uint32_t rssi_count_limit = (1u << 24) - 1;

// WiFi and BLE addresses are separate name spaces: the same 48 bits on both radios are two devices.
constexpr std::uint64_t ble_key_bit = std::uint64_t{1} << 48;

class DeviceTable {
 public:
  // The index stores position + 1 in 24 bits.
  static constexpr std::uint32_t max_capacity = (1u << 24) - 1;

  // Holds up to `capacity` records; pool memory is reserved, and becomes resident only as it is used.
  explicit DeviceTable(std::uint32_t capacity);

  [[nodiscard]] std::uint32_t find(std::uint64_t key) const;  // no_record when absent
  // Precondition: key absent and size() < capacity(). The new record is zeroed except its key and is
  // placed at the most recently heard end of the list.
  std::uint32_t insert(std::uint64_t key);
  void erase(std::uint32_t pos);
  // Moves a record to the most recently heard end.
  void touch(std::uint32_t pos);
  // The device at pos is found by `key` from now on (its address changed). Precondition: key absent.
  void rekey(std::uint32_t pos, std::uint64_t key);
  void clear();

  [[nodiscard]] std::uint32_t least_recent() const { return oldest_; }
  [[nodiscard]] std::uint32_t newer(std::uint32_t pos) const { return link_of(pool_[pos].newer); }

  [[nodiscard]] DeviceRecord& at(std::uint32_t pos) { return pool_[pos]; }
  [[nodiscard]] const DeviceRecord& at(std::uint32_t pos) const { return pool_[pos]; }

  [[nodiscard]] std::uint32_t size() const { return size_; }
  [[nodiscard]] std::uint32_t capacity() const { return capacity_; }
  [[nodiscard]] std::size_t index_slots() const { return index_.size(); }
  // Bytes in use by records ever allocated plus the index (what is resident, not what is reserved).
  [[nodiscard]] std::size_t memory_bytes() const;

  // MurmurHash3's finaliser: vendor prefixes make the high address bits cluster, this spreads them.
  static std::uint64_t hash(std::uint64_t key);

 private:
  // Records store links in 24 bits: a link is stored as `pos & stored_none`, which keeps every position
  // (below max_capacity) and turns no_record into stored_none.
  static constexpr std::uint32_t stored_none = 0xff'ffff;
  static std::uint32_t link_of(std::uint64_t stored) {
    return stored == stored_none ? no_record : static_cast<std::uint32_t>(stored);
  }
  void index_insert(std::uint32_t pos);
  void index_erase(std::uint32_t pos);
  void grow_index();
  void link_newest(std::uint32_t pos);
  void unlink(std::uint32_t pos);

  std::uint32_t capacity_;
  std::uint32_t size_ = 0;
  std::vector<DeviceRecord> pool_;
  std::uint32_t free_ = no_record;  // free records, chained through `newer`
  std::vector<std::uint32_t> index_;  // 0 = empty, else tag << 24 | (pos + 1)
  std::uint64_t mask_ = 0;
  std::uint32_t oldest_ = no_record;
  std::uint32_t newest_ = no_record;
};

}  // namespace footfall::probe::presence
