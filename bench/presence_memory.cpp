// Resident memory of the presence table with N distinct devices present (default 1,000,000; random
// addresses, each with its own fingerprint, so every device is linkable and indexed by the linker), side by
// side with a node-based peer (std::unordered_map of one PresenceEvent per device) fed the same input.
// The peer runs in a forked child so neither run inherits the other's freed memory.
//
//   presence_memory [devices]
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unordered_map>

#include "probe/presence/presence_tracker.h"

namespace {
using footfall::PresenceEvent;
using footfall::Sighting;

// VmRSS or VmHWM from /proc/self/status, in kB.
long status_kb(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line))
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  return -1;
}

// Device i: a randomised-looking address, distinct for every i below 2^40 (odd multiplier, a bijection).
Sighting sighting_of(std::uint64_t i) {
  const std::uint64_t addr = 0x0200'0000'0000ULL | ((i * 0x9e37'79b9'7f4a'7c15ULL) & 0xff'ffff'ffffULL);
  Sighting s;
  for (std::size_t b = 0; b < 6; ++b) s.mac.octets[b] = static_cast<std::uint8_t>(addr >> (40 - 8 * b));
  s.ts_ns = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(i) * 100'000;  // 10k new devices a second
  s.rssi_dbm = static_cast<std::int8_t>(-40 - static_cast<int>(i % 50));
  s.has_rssi = true;
  s.freq_mhz = 2412;
  s.fingerprint = i * 31;
  return s;
}

double as_double(long kb) { return static_cast<double>(kb); }

struct CountingSink : footfall::probe::presence::PresenceSink {
  std::uint64_t events = 0;
  void on_presence(const PresenceEvent&, footfall::probe::presence::DepartureCause) override { ++events; }
};

long peer_delta_kb(std::uint64_t devices) {
  const long before = status_kb("VmRSS");
  std::unordered_map<std::uint64_t, PresenceEvent> peer;
  for (std::uint64_t i = 0; i < devices; ++i) {
    const Sighting s = sighting_of(i);
    PresenceEvent& e = peer[s.mac.as_u64()];
    e.mac = s.mac;
    e.first_seen_ns = e.last_seen_ns = s.ts_ns;
    e.frames = 1;
  }
  return peer.size() == devices ? status_kb("VmRSS") - before : -1;
}

// Runs the peer in a child process and reads its figure back through a pipe.
long peer_in_child(std::uint64_t devices) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    const long kb = peer_delta_kb(devices);
    const bool ok = write(fds[1], &kb, sizeof kb) == static_cast<ssize_t>(sizeof kb);
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  long kb = -1;
  if (child < 0 || read(fds[0], &kb, sizeof kb) != static_cast<ssize_t>(sizeof kb)) kb = -1;
  close(fds[0]);
  if (child > 0) waitpid(child, nullptr, 0);
  return kb;
}
}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t devices = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  if (devices == 0 || devices > footfall::probe::presence::DeviceTable::max_capacity) {
    std::fprintf(stderr, "presence_memory: devices must be 1..%u\n", footfall::probe::presence::DeviceTable::max_capacity);
    return 2;
  }
  const long peer_kb = peer_in_child(devices);

  footfall::probe::presence::PresenceConfig config;
  config.max_devices = static_cast<std::uint32_t>(devices);
  footfall::probe::presence::PresenceTracker tracker(config);
  CountingSink sink;
  const long before_kb = status_kb("VmRSS");
  for (std::uint64_t i = 0; i < devices; ++i) tracker.on_sighting(sighting_of(i), sink);
  const long after_kb = status_kb("VmRSS");

  const auto& c = tracker.counters();
  if (c.arrivals != devices || tracker.size() != devices || c.evictions != 0) {
    std::fprintf(stderr, "presence_memory: expected %llu devices present, have %u\n",
                 static_cast<unsigned long long>(devices), tracker.size());
    return 1;
  }
  const double n = static_cast<double>(devices);
  std::printf("devices present            %llu (arrivals %llu, updates %llu)\n",
              static_cast<unsigned long long>(devices), static_cast<unsigned long long>(c.arrivals),
              static_cast<unsigned long long>(c.updates));
  std::printf("VmRSS before / after       %ld kB / %ld kB\n", before_kb, after_kb);
  std::printf("presence table (RSS)       %.1f bytes/device  (%.1f MB)\n", as_double(after_kb - before_kb) * 1024.0 / n,
              as_double(after_kb - before_kb) / 1024.0);
  std::printf("presence table (counted)   %.1f bytes/device  (records %zu B + link state %zu B + address index %zu "
              "slots x 4 B + linker indexes)\n",
              static_cast<double>(tracker.memory_bytes()) / n, sizeof(footfall::probe::presence::DeviceRecord),
              sizeof(footfall::probe::presence::LinkState), tracker.table().index_slots());
  if (peer_kb >= 0)
    std::printf("peer unordered_map (RSS)   %.1f bytes/device  (%.1f MB)\n", as_double(peer_kb) * 1024.0 / n,
                as_double(peer_kb) / 1024.0);
  else
    std::printf("peer unordered_map (RSS)   not measured\n");
  std::printf("process VmRSS / VmHWM      %.1f MB / %.1f MB\n", as_double(after_kb) / 1024.0,
              as_double(status_kb("VmHWM")) / 1024.0);
  return 0;
}
