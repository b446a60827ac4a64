#include "gateway/receive/descriptor_limit.h"

#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <system_error>

namespace footfall::gateway {

std::size_t connections_that_fit(std::uint64_t soft, std::uint64_t in_use) {
  const std::uint64_t kept = in_use + kReservedDescriptors;
  return soft > kept ? static_cast<std::size_t>(soft - kept) : 0;
}

namespace {

std::uint64_t open_descriptors() {
  std::error_code ec;
  std::uint64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) ++n;
  if (ec || n == 0) return 16;  // no /proc: a guess that covers stdio, the journal and the outbox
  return n - 1;  // the iterator's own descriptor
}

std::uint64_t nr_open() {
  std::ifstream in("/proc/sys/fs/nr_open");
  std::uint64_t n = 0;
  return (in >> n) ? n : 1024 * 1024;
}

}  // namespace

DescriptorBudget raise_descriptor_limit() {
  DescriptorBudget b;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    b.soft_before = lim.rlim_cur == RLIM_INFINITY ? nr_open() : lim.rlim_cur;
    const std::uint64_t target = lim.rlim_max == RLIM_INFINITY ? nr_open() : lim.rlim_max;
    if (target > b.soft_before) {
      rlimit raised{static_cast<rlim_t>(target), lim.rlim_max};
      if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim.rlim_cur = raised.rlim_cur;
    }
    b.soft = lim.rlim_cur == RLIM_INFINITY ? nr_open() : lim.rlim_cur;
    b.hard = lim.rlim_max == RLIM_INFINITY ? nr_open() : lim.rlim_max;
  } else {
    b.soft_before = b.soft = b.hard = 1024;
  }
  b.in_use = open_descriptors();
  b.connections = connections_that_fit(b.soft, b.in_use);
  return b;
}

}  // namespace footfall::gateway
