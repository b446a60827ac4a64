#include "gateway/probe_clock/clock_offset.h"

#include <algorithm>

namespace footfall::gateway {

ClockOffset::ClockOffset(std::size_t window, std::int64_t tolerance_ns)
    : ring_(std::max<std::size_t>(window, 1)), tolerance_ns_(tolerance_ns) {}

void ClockOffset::add_sample(std::int64_t probe_clock_ns, std::int64_t gateway_receive_ns) {
  if (probe_clock_ns == 0) return;
  ring_[next_] = gateway_receive_ns - probe_clock_ns;
  next_ = (next_ + 1) % ring_.size();
  filled_ = std::min(filled_ + 1, ring_.size());
}

void ClockOffset::reset() {
  next_ = 0;
  filled_ = 0;
}

std::optional<std::int64_t> ClockOffset::offset_ns() const {
  if (filled_ == 0) return std::nullopt;
  return *std::min_element(ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(filled_));
}

std::int64_t ClockOffset::correction_ns() const {
  const auto offset = offset_ns();
  if (!offset) return 0;
  const std::int64_t magnitude = *offset < 0 ? -*offset : *offset;
  return magnitude > tolerance_ns_ ? *offset : 0;
}

}  // namespace footfall::gateway
