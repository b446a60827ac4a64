#pragma once
// `footfall-probe selftest --config probe.json`: the installer's checks before leaving a site. The radio
// interface exists and does monitor mode, the capture opens as `run` will open it, frames are heard within a
// window, the gateway accepts the probe's id and token, the clock is sane, the spool is writable with room.
// One PASS / FAIL / SKIP line per check (a hint under each failure) and a summary line on stdout.
#include <cstdint>
#include <cstdio>
#include <string>

namespace footfall::probe::commands {

struct SelftestOptions {
  std::string config_path;
  double listen_s = 10;              // how long to listen for frames
  std::uint64_t min_frames = 1;      // frames needed in that window
  std::int64_t clock_tolerance_ms = 2000;
};

// Exit status: 0 every check passed, 1 a check failed or was skipped, 2 usage error or a bad probe.json.
int run_selftest(const SelftestOptions& options, std::FILE* out, std::FILE* err);

}  // namespace footfall::probe::commands
