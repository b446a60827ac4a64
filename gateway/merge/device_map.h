#pragma once
// The site merge's devices by key: an open-addressing index (linear probing, at most half full, backward-shift
// deletion) into a pool whose freed entries are reused with their vectors' capacity, so a warm merge allocates
// nothing per visit. Pool entries have stable addresses (a deque); the pool never exceeds the peak count.
// Device::reuse() makes a freed entry a fresh device again, keeping what it allocated.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace footfall::gateway {

template <class Device>
class DeviceMap {
 public:
  Device* find(std::uint64_t key) {
    if (pos_.empty()) return nullptr;
    const std::size_t mask = pos_.size() - 1;
    for (std::size_t i = home(key);; i = (i + 1) & mask) {
      if (pos_[i] == kEmpty) return nullptr;
      if (keys_[i] == key) return &pool_[pos_[i]];
    }
  }

  // The key must be absent.
  Device& insert(std::uint64_t key) {
    if ((size_ + 1) * 2 > pos_.size()) grow();
    std::uint32_t at = 0;
    if (!free_.empty()) {
      at = free_.back();
      free_.pop_back();
      pool_[at].reuse();
    } else {
      at = static_cast<std::uint32_t>(pool_.size());
      pool_.emplace_back();
    }
    const std::size_t mask = pos_.size() - 1;
    std::size_t i = home(key);
    while (pos_[i] != kEmpty) i = (i + 1) & mask;
    keys_[i] = key;
    pos_[i] = at;
    ++size_;
    return pool_[at];
  }

  // The key must be present.
  void erase(std::uint64_t key) {
    const std::size_t mask = pos_.size() - 1;
    std::size_t i = home(key);
    while (keys_[i] != key || pos_[i] == kEmpty) i = (i + 1) & mask;
    free_.push_back(pos_[i]);
    pos_[i] = kEmpty;
    --size_;
    // Backward-shift deletion: pull later entries of the run into the hole when that moves them nearer home.
    for (std::size_t j = (i + 1) & mask; pos_[j] != kEmpty; j = (j + 1) & mask) {
      const std::size_t h = home(keys_[j]);
      const bool stays = (i <= j) ? (i < h && h <= j) : (i < h || h <= j);
      if (stays) continue;
      keys_[i] = keys_[j];
      pos_[i] = pos_[j];
      pos_[j] = kEmpty;
      i = j;
    }
  }

  [[nodiscard]] std::size_t size() const { return size_; }

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < pos_.size(); ++i)
      if (pos_[i] != kEmpty) f(keys_[i], pool_[pos_[i]]);
  }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;

  [[nodiscard]] std::size_t home(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }

  void grow() {
    const std::size_t capacity = std::max<std::size_t>(1024, pos_.size() * 2);
    std::vector<std::uint64_t> keys(capacity);
    std::vector<std::uint32_t> pos(capacity, kEmpty);
    unsigned shift = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift;
    std::swap(keys, keys_);
    std::swap(pos, pos_);
    shift_ = shift;
    const std::size_t mask = capacity - 1;
    for (std::size_t k = 0; k < pos.size(); ++k) {
      if (pos[k] == kEmpty) continue;
      std::size_t i = home(keys[k]);
      while (pos_[i] != kEmpty) i = (i + 1) & mask;
      keys_[i] = keys[k];
      pos_[i] = pos[k];
    }
  }

  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> pos_;
  std::deque<Device> pool_;
  std::vector<std::uint32_t> free_;
  std::size_t size_ = 0;
  unsigned shift_ = 64;
};

}  // namespace footfall::gateway
