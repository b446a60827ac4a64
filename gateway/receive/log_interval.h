#pragma once
// One log line per interval for what a peer can make happen at will (an unauthenticated peer's bad first frame):
// the first occurrence, then at most one line per interval, which says how many went unlogged meanwhile. The
// counters count every occurrence regardless. Pure: the caller gives the time.
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace footfall::gateway {

class LogInterval {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogInterval(Clock::duration every) : every_(every) {}

  // nullopt: stay quiet (counted as unlogged). Else: log now, mentioning this many unlogged since the last line.
  std::optional<std::uint64_t> due(Clock::time_point now) {
    if (logged_once_ && now - last_ < every_) {
      ++unlogged_;
      return std::nullopt;
    }
    logged_once_ = true;
    last_ = now;
    return std::exchange(unlogged_, 0);
  }

 private:
  Clock::duration every_;
  Clock::time_point last_{};
  bool logged_once_ = false;
  std::uint64_t unlogged_ = 0;
};

}  // namespace footfall::gateway
