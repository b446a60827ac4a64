#include "probe/presence/device_table.h"

#include <algorithm>
#include <stdexcept>

namespace footfall::probe::presence {
namespace {
constexpr std::uint32_t pos_bits = 0x00ff'ffffu;
constexpr std::size_t initial_slots = 1024;

std::uint32_t slot_pos(std::uint32_t slot) { return (slot & pos_bits) - 1; }
std::uint32_t slot_tag(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 56); }
}  // namespace

DeviceTable::DeviceTable(std::uint32_t capacity) : capacity_(capacity) {
  if (capacity == 0 || capacity > max_capacity) throw std::invalid_argument("max_devices out of range");
  pool_.reserve(capacity);
  index_.assign(initial_slots, 0);
  mask_ = initial_slots - 1;
}

std::uint64_t DeviceTable::hash(std::uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51'afd7'ed55'8ccdULL;
  key ^= key >> 33;
  key *= 0xc4ce'b9fe'1a85'ec53ULL;
  key ^= key >> 33;
  return key;
}

std::uint32_t DeviceTable::find(std::uint64_t key) const {
  const std::uint64_t h = hash(key);
  const std::uint32_t tag = slot_tag(h);
  for (std::uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const std::uint32_t slot = index_[i];
    if (slot == 0) return no_record;
    if ((slot >> 24) == tag && pool_[slot_pos(slot)].key == key) return slot_pos(slot);
  }
}

void DeviceTable::index_insert(std::uint32_t pos) {
  const std::uint64_t h = hash(pool_[pos].key);
  std::uint64_t i = h & mask_;
  while (index_[i] != 0) i = (i + 1) & mask_;
  index_[i] = (slot_tag(h) << 24) | (pos + 1);
}

void DeviceTable::grow_index() {
  index_.assign(index_.size() * 2, 0);
  mask_ = index_.size() - 1;
  for (std::uint32_t pos = oldest_; pos != no_record; pos = link_of(pool_[pos].newer)) index_insert(pos);
}

std::uint32_t DeviceTable::insert(std::uint64_t key) {
  // Half full at most keeps probe sequences short (expected < 2.5 slots for a miss).
  if ((static_cast<std::size_t>(size_) + 1) * 2 > index_.size()) grow_index();
  std::uint32_t pos;
  if (free_ != no_record) {
    pos = free_;
    free_ = link_of(pool_[pos].newer);
    pool_[pos] = DeviceRecord{};
  } else {
    pos = static_cast<std::uint32_t>(pool_.size());
    pool_.emplace_back();
  }
  pool_[pos].key = key;
  index_insert(pos);
  link_newest(pos);
  ++size_;
  return pos;
}

void DeviceTable::erase(std::uint32_t pos) {
  index_erase(pos);
  unlink(pos);
  pool_[pos].key = 0;
  pool_[pos].newer = free_ & stored_none;
  free_ = pos;
  --size_;
}

void DeviceTable::rekey(std::uint32_t pos, std::uint64_t key) {
  index_erase(pos);
  pool_[pos].key = key;
  index_insert(pos);
}

void DeviceTable::index_erase(std::uint32_t pos) {
  const std::uint64_t h = hash(pool_[pos].key);
  std::uint64_t i = h & mask_;
  while (slot_pos(index_[i]) != pos) i = (i + 1) & mask_;
  // Backward-shift deletion: no tombstones, so lookups never slow down as devices come and go.
  for (std::uint64_t j = (i + 1) & mask_; index_[j] != 0; j = (j + 1) & mask_) {
    const std::uint64_t home = hash(pool_[slot_pos(index_[j])].key) & mask_;
    if (((j - home) & mask_) >= ((j - i) & mask_)) {
      index_[i] = index_[j];
      i = j;
    }
  }
  index_[i] = 0;
}

void DeviceTable::touch(std::uint32_t pos) {
  if (pos == newest_) return;
  unlink(pos);
  link_newest(pos);
}

void DeviceTable::clear() {
  pool_.clear();
  std::fill(index_.begin(), index_.end(), 0u);
  free_ = oldest_ = newest_ = no_record;
  size_ = 0;
}

std::size_t DeviceTable::memory_bytes() const {
  return pool_.size() * sizeof(DeviceRecord) + index_.size() * sizeof(std::uint32_t);
}

void DeviceTable::link_newest(std::uint32_t pos) {
  DeviceRecord& r = pool_[pos];
  r.older = newest_ & stored_none;
  r.newer = stored_none;
  if (newest_ != no_record) pool_[newest_].newer = pos & stored_none;
  else oldest_ = pos;
  newest_ = pos;
}

void DeviceTable::unlink(std::uint32_t pos) {
  DeviceRecord& r = pool_[pos];
  const std::uint32_t older = link_of(r.older);
  const std::uint32_t newer = link_of(r.newer);
  if (older != no_record) pool_[older].newer = r.newer;
  else oldest_ = newer;
  if (newer != no_record) pool_[newer].older = r.older;
  else newest_ = older;
  r.older = r.newer = stored_none;
}

}  // namespace footfall::probe::presence
