#pragma once
// How far a probe's wall clock is from the gateway's. Each Hello / Heartbeat gives one sample,
// gateway receive time - probe send time = true offset + network delay; delay only adds, so the
// minimum over a window of recent samples is the estimate. Offsets within the tolerance are not
// corrected, so NTP-synced probes keep their own (better) timestamps without jitter.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace footfall::gateway {

class ClockOffset {
 public:
  ClockOffset(std::size_t window, std::int64_t tolerance_ns);

  // probe_clock_ns == 0 means a replayed capture (no live clock): not a sample.
  void add_sample(std::int64_t probe_clock_ns, std::int64_t gateway_receive_ns);
  // Forget the samples: a new session may come from a restarted probe whose clock was fixed.
  void reset();

  [[nodiscard]] std::optional<std::int64_t> offset_ns() const;
  // What to add to the probe's event times: the offset when beyond the tolerance, else 0.
  [[nodiscard]] std::int64_t correction_ns() const;
  [[nodiscard]] std::size_t samples() const { return filled_; }
  [[nodiscard]] std::int64_t tolerance_ns() const { return tolerance_ns_; }

 private:
  std::vector<std::int64_t> ring_;
  std::size_t next_ = 0;
  std::size_t filled_ = 0;
  std::int64_t tolerance_ns_;
};

}  // namespace footfall::gateway
