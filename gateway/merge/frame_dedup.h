#pragma once
// Finds frames heard by two probes of the site: same transmitter, same 802.11 sequence number, within a
// short window of each other. Bounded: a ring of the most recent frames plus an open-addressing index;
// when the ring is full the oldest entry is overwritten, and counted when it was still inside the window
// (a duplicate of it could then go unnoticed).
#include <cstdint>
#include <vector>

#include "common/mac_address.h"

namespace footfall::gateway {

struct FrameDedupCounters {
  std::uint64_t checked = 0;
  std::uint64_t duplicates = 0;     // heard before by another probe within the window
  std::uint64_t evicted_live = 0;   // overwritten while still inside the window
};

class FrameDedup {
 public:
  // capacity is rounded up to a power of two (at least 2).
  FrameDedup(std::uint32_t capacity, std::int64_t window_ns);

  // True when (sa, seq) was already heard by a different probe within window_ns of ts_ns.
  // The same probe hearing the same (sa, seq) again is not a site duplicate: that probe counted it once
  // per reception, as the presence statistics do.
  bool duplicate(const MacAddress& sa, std::uint16_t seq, std::int64_t ts_ns, std::uint16_t probe);

  [[nodiscard]] const FrameDedupCounters& counters() const { return counters_; }
  [[nodiscard]] std::uint32_t capacity() const { return static_cast<std::uint32_t>(ring_.size()); }

 private:
  struct Entry {
    std::uint64_t key = 0;  // sa << 12 | seq
    std::int64_t ts_ns = 0;
    std::uint16_t probe = 0;
    bool used = false;
  };
  static std::uint64_t hash(std::uint64_t key);
  [[nodiscard]] std::size_t find_slot(std::uint64_t key) const;  // index slot, or index_.size()
  void index_erase(std::size_t slot);
  void index_insert(std::uint64_t key, std::uint32_t pos);

  std::vector<Entry> ring_;
  std::uint32_t head_ = 0;            // next ring position to write
  std::vector<std::uint32_t> index_;  // 0 = empty, else ring position + 1; twice the ring, so at most half full
  std::size_t mask_ = 0;
  std::int64_t window_ns_;
  std::int64_t newest_ns_ = 0;
  FrameDedupCounters counters_;
};

}  // namespace footfall::gateway
