#pragma once
// The gateway's open-file budget: one descriptor per probe connection beside the journal, the outbox, the broker
// connection and the files it writes. At start the soft RLIMIT_NOFILE is raised as far as the hard limit allows
// and limits.max_connections is capped to what fits, so that accept never fails for want of a descriptor.
#include <cstddef>
#include <cstdint>

namespace footfall::gateway {

// Descriptors kept beside the connections: journal and outbox segments, the broker's socket, health.json and
// key files written, a config reload, the listening socket's spare (see ReceiveServer).
inline constexpr std::uint64_t kReservedDescriptors = 32;

struct DescriptorBudget {
  std::uint64_t soft_before = 0;  // the soft limit the gateway was started with
  std::uint64_t soft = 0;         // after raising it
  std::uint64_t hard = 0;
  std::uint64_t in_use = 0;       // open when the budget was made
  std::size_t connections = 0;    // probe connections that fit
};

// Pure: connections that fit in `soft` descriptors with `in_use` already open and kReservedDescriptors kept.
std::size_t connections_that_fit(std::uint64_t soft, std::uint64_t in_use);

// Raises the soft limit to the hard one (to fs.nr_open when the hard limit is unlimited), counts the open
// descriptors and makes the budget.
DescriptorBudget raise_descriptor_limit();

}  // namespace footfall::gateway
