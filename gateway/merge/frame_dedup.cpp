#include "gateway/merge/frame_dedup.h"

#include <algorithm>
#include <bit>

namespace footfall::gateway {

FrameDedup::FrameDedup(std::uint32_t capacity, std::int64_t window_ns)
    : ring_(std::bit_ceil(std::max<std::uint32_t>(capacity, 2))),
      index_(ring_.size() * 2, 0),
      mask_(index_.size() - 1),
      window_ns_(window_ns) {}

std::uint64_t FrameDedup::hash(std::uint64_t key) {
  // splitmix64 finaliser: sequence numbers of one phone are consecutive, so spread them.
  key ^= key >> 30;
  key *= 0xbf58476d1ce4e5b9ULL;
  key ^= key >> 27;
  key *= 0x94d049bb133111ebULL;
  key ^= key >> 31;
  return key;
}

std::size_t FrameDedup::find_slot(std::uint64_t key) const {
  for (std::size_t slot = hash(key) & mask_;; slot = (slot + 1) & mask_) {
    const std::uint32_t v = index_[slot];
    if (v == 0) return index_.size();
    if (ring_[v - 1].key == key) return slot;
  }
}

void FrameDedup::index_insert(std::uint64_t key, std::uint32_t pos) {
  std::size_t slot = hash(key) & mask_;
  while (index_[slot] != 0) slot = (slot + 1) & mask_;
  index_[slot] = pos + 1;
}

// Backward-shift deletion keeps probe chains unbroken without tombstones.
void FrameDedup::index_erase(std::size_t slot) {
  std::size_t hole = slot;
  for (std::size_t next = (hole + 1) & mask_; index_[next] != 0; next = (next + 1) & mask_) {
    const std::size_t home = hash(ring_[index_[next] - 1].key) & mask_;
    // Move `next` into the hole unless its home lies cyclically in (hole, next].
    const bool stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
    if (!stays) {
      index_[hole] = index_[next];
      hole = next;
    }
  }
  index_[hole] = 0;
}

bool FrameDedup::duplicate(const MacAddress& sa, std::uint16_t seq, std::int64_t ts_ns, std::uint16_t probe) {
  ++counters_.checked;
  newest_ns_ = std::max(newest_ns_, ts_ns);
  const std::uint64_t key = (sa.as_u64() << 12) | (seq & 0x0fffu);
  const std::size_t slot = find_slot(key);
  if (slot != index_.size()) {
    const Entry& seen = ring_[index_[slot] - 1];
    const std::int64_t gap = seen.ts_ns > ts_ns ? seen.ts_ns - ts_ns : ts_ns - seen.ts_ns;
    if (gap <= window_ns_) {
      if (seen.probe != probe) {
        ++counters_.duplicates;
        return true;
      }
      return false;
    }
    // Same (sa, seq) long ago: the 12-bit sequence number wrapped. Forget the old one.
    const std::uint32_t pos = index_[slot] - 1;
    index_erase(slot);
    ring_[pos].used = false;
  }
  Entry& victim = ring_[head_];
  if (victim.used) {
    if (victim.ts_ns > newest_ns_ - window_ns_) ++counters_.evicted_live;
    index_erase(find_slot(victim.key));
  }
  victim = Entry{key, ts_ns, probe, true};
  index_insert(key, head_);
  head_ = (head_ + 1) & static_cast<std::uint32_t>(ring_.size() - 1);
  return false;
}

}  // namespace footfall::gateway
