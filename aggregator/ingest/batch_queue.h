#pragma once
// The bounded queue between the MQTT callback thread and the store writer. Full-policy: block — the
// producer waits for room (counted in full_waits), so a slow store slows the MQTT client, which stops
// reading its socket, and the broker holds the rest (its per-client queue; see docs/aggregator.md).
// Nothing is ever dropped here.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace footfall::aggregator {

template <class T>
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Blocks while full; false once closed (the item is not queued).
  bool push(T item) {
    std::unique_lock lock(mutex_);
    if (items_.size() >= capacity_ && !closed_) {
      ++full_waits_;
      not_full_.wait(lock, [&] { return items_.size() < capacity_ || closed_; });
    }
    if (closed_) return false;
    items_.push_back(std::move(item));
    ++pushed_;
    if (items_.size() > high_water_) high_water_ = items_.size();
    not_empty_.notify_one();
    return true;
  }

  // Blocks until an item or close(); nullopt once closed and empty (a closed queue still drains).
  std::optional<T> pop() {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !items_.empty() || closed_; });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    not_full_.notify_one();
    return item;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  struct Stats {
    std::size_t capacity = 0;
    std::size_t depth = 0;
    std::size_t high_water = 0;
    std::uint64_t pushed = 0;
    std::uint64_t full_waits = 0;  // pushes that had to wait for room
  };
  Stats stats() const {
    std::lock_guard lock(mutex_);
    return {capacity_, items_.size(), high_water_, pushed_, full_waits_};
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  std::deque<T> items_;
  bool closed_ = false;
  std::size_t high_water_ = 0;
  std::uint64_t pushed_ = 0;
  std::uint64_t full_waits_ = 0;
};

}  // namespace footfall::aggregator
