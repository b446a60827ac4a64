#pragma once
// Collects encoded items for one topic and says when to seal them into a micro-batch: after interval_ms
// from the first item (or from open()), or at max_events / max_bytes, whichever comes first. The caller
// passes the clock, so tests drive time by hand.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/publish/payloads.h"

namespace footfall::gateway::publish {

struct BatchLimits {
  std::int64_t interval_ms = 5000;
  std::size_t max_events = 500;
  std::size_t max_bytes = 1u << 20;  // of encoded items; keeps a payload well below broker limits
};

struct SealedItems {
  std::vector<std::string> items;
  UnixMs opened_at = 0;
  UnixMs sealed_at = 0;
};

class MicroBatcher {
 public:
  explicit MicroBatcher(BatchLimits limits) : limits_(limits) {}

  // False when the batch is full: seal it first. An item larger than max_bytes still fits an empty batch.
  bool add(std::string item, UnixMs now);
  // Starts the interval without an item (a snapshot topic with nothing new but a fresh snapshot).
  void open(UnixMs now);
  [[nodiscard]] bool is_open() const { return open_; }
  [[nodiscard]] bool full() const;
  [[nodiscard]] bool due(UnixMs now) const;
  // The items collected so far; nullopt when no batch is open.
  std::optional<SealedItems> seal(UnixMs now);

  [[nodiscard]] std::size_t events() const { return items_.size(); }
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  [[nodiscard]] const BatchLimits& limits() const { return limits_; }

 private:
  BatchLimits limits_;
  std::vector<std::string> items_;
  std::size_t bytes_ = 0;
  bool open_ = false;
  UnixMs opened_at_ = 0;
};

}  // namespace footfall::gateway::publish
