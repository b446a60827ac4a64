#include "probe/pipeline/process_stats.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <string>

#include "common/clock.h"
#include "common/file_text.h"

namespace footfall::probe::pipeline {

namespace {

std::string read_text(const char* path) { return read_file(path, 1 << 20).text; }

std::uint64_t to_u64(std::string_view field) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(field.data(), field.data() + field.size(), v);
  return r.ec == std::errc{} ? v : 0;
}

}  // namespace

std::uint64_t cpu_ticks_from_stat(std::string_view text) {
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const auto close = text.rfind(')');
  if (close == std::string_view::npos) return 0;
  text.remove_prefix(close + 1);
  std::uint64_t utime = 0, stime = 0;
  int field = 2;
  while (!text.empty() && field < 15) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    const auto end = text.find(' ');
    const std::string_view token = text.substr(0, end);
    ++field;
    if (field == 14) utime = to_u64(token);
    if (field == 15) stime = to_u64(token);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end);
  }
  return field >= 15 ? utime + stime : 0;
}

std::uint64_t rss_bytes_from_status(std::string_view text) {
  const auto at = text.find("VmRSS:");
  if (at == std::string_view::npos) return 0;
  text.remove_prefix(at + 6);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  const auto end = text.find_first_not_of("0123456789");
  return to_u64(text.substr(0, end)) * 1024;  // the kernel reports kB
}

ProcessSampler::ProcessSampler() {
  const long t = ::sysconf(_SC_CLK_TCK);
  if (t > 0) ticks_per_s_ = t;
  last_ticks_ = cpu_ticks_from_stat(read_text("/proc/self/stat"));
  last_ns_ = clock::steady_ns();
}

std::uint32_t ProcessSampler::cpu_permille() {
  const std::uint64_t ticks = cpu_ticks_from_stat(read_text("/proc/self/stat"));
  const std::int64_t now = clock::steady_ns();
  const std::int64_t elapsed = now - last_ns_;
  const std::uint64_t used = ticks >= last_ticks_ ? ticks - last_ticks_ : 0;
  last_ticks_ = ticks;
  last_ns_ = now;
  if (elapsed <= 0) return 0;
  const double cpu_ns = static_cast<double>(used) * 1e9 / static_cast<double>(ticks_per_s_);
  return static_cast<std::uint32_t>(cpu_ns * 1000.0 / static_cast<double>(elapsed));
}

std::uint64_t ProcessSampler::rss_bytes() { return rss_bytes_from_status(read_text("/proc/self/status")); }

}  // namespace footfall::probe::pipeline
