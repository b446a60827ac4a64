#pragma once
// The two clocks the programs read, as integers: wall time (event and batch stamps, shared with other
// machines) and steady time (intervals that must not jump when the wall clock is set).
#include <chrono>
#include <cstdint>

namespace footfall::clock {

// Nanoseconds since the Unix epoch.
inline std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// Milliseconds since the Unix epoch.
inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
// Nanoseconds since an arbitrary start (boot, usually); only differences mean anything.
inline std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace footfall::clock
