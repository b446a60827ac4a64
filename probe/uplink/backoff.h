#pragma once
// When to try the gateway again: exponential backoff with full jitter, so a site's probes that lost the
// gateway together do not come back in step. Pure functions: the caller supplies the random number.
#include <chrono>
#include <cstdint>

#include "common/wire/messages.h"

namespace footfall::probe::uplink {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
};

// The upper bound of the wait before retry number `attempt` (0 = first retry): initial * 2^attempt, capped at max.
std::chrono::milliseconds backoff_ceiling(const BackoffPolicy& policy, std::uint32_t attempt);

// Full jitter: uniform over [0, ceiling]; `unit` is a random number in [0, 1).
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, std::uint32_t attempt, double unit);

// After a refused Hello. A wrong token or an unknown probe id will not fix itself in a second, so those wait
// the long way (between max/2 and max) instead of hammering the gateway; a busy gateway or a replaced session
// is retried like a dropped connection.
std::chrono::milliseconds refused_delay(const BackoffPolicy& policy, wire::RefuseReason reason, std::uint32_t attempt,
                                        double unit);

}  // namespace footfall::probe::uplink
