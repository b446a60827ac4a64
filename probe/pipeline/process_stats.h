#pragma once
// The probe's own footprint for heartbeats: CPU share since the previous sample (/proc/self/stat) and resident
// memory (/proc/self/status). Linux only; zeros where /proc cannot be read.
#include <cstdint>
#include <string_view>

namespace footfall::probe::pipeline {

// utime + stime in clock ticks from the text of /proc/self/stat; 0 when it cannot be parsed.
std::uint64_t cpu_ticks_from_stat(std::string_view stat_text);
// VmRSS in bytes from the text of /proc/self/status; 0 when absent.
std::uint64_t rss_bytes_from_status(std::string_view status_text);

class ProcessSampler {
 public:
  ProcessSampler();
  // Tenths of a percent of one core used between the previous call (or construction) and now.
  std::uint32_t cpu_permille();
  static std::uint64_t rss_bytes();

 private:
  std::uint64_t last_ticks_ = 0;
  std::int64_t last_ns_ = 0;
  long ticks_per_s_ = 100;
};

}  // namespace footfall::probe::pipeline
