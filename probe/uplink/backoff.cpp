#include "probe/uplink/backoff.h"

#include <algorithm>

namespace footfall::probe::uplink {

std::chrono::milliseconds backoff_ceiling(const BackoffPolicy& policy, std::uint32_t attempt) {
  const std::int64_t max = std::max<std::int64_t>(policy.max.count(), 0);
  std::int64_t ceiling = std::max<std::int64_t>(policy.initial.count(), 0);
  // Doubling stops at the cap, so no attempt count can overflow.
  for (std::uint32_t i = 0; i < attempt && ceiling < max; ++i) ceiling *= 2;
  return std::chrono::milliseconds(std::min(ceiling, max));
}

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, std::uint32_t attempt, double unit) {
  const double u = std::clamp(unit, 0.0, 1.0);
  const auto ceiling = static_cast<double>(backoff_ceiling(policy, attempt).count());
  return std::chrono::milliseconds(static_cast<std::int64_t>(u * ceiling));
}

std::chrono::milliseconds refused_delay(const BackoffPolicy& policy, wire::RefuseReason reason, std::uint32_t attempt,
                                        double unit) {
  switch (reason) {
    case wire::RefuseReason::bad_token:
    case wire::RefuseReason::unknown_probe:
    case wire::RefuseReason::unsupported_version:
    case wire::RefuseReason::certificate_mismatch: {
      const auto max = static_cast<double>(policy.max.count());
      const double u = std::clamp(unit, 0.0, 1.0);
      return std::chrono::milliseconds(static_cast<std::int64_t>(max / 2 + u * max / 2));
    }
    case wire::RefuseReason::none:
    case wire::RefuseReason::duplicate_session:
    case wire::RefuseReason::gateway_busy:
      break;
  }
  return backoff_delay(policy, attempt, unit);
}

}  // namespace footfall::probe::uplink
