#pragma once
// `footfall-probe run --config probe.json`: the probe's job. Capture (live interface or replayed file) on a
// capture thread -> presence -> batches -> spool; the uplink on the io thread sends the spool to the gateway.
// Live: runs until SIGTERM / SIGINT, which seal the open batch into the spool, sync it and exit 0 (presence is not
// flushed: a stop is not a departure). File: resumes after its checkpoint, and at its end flushes presence
// (departures for everyone), waits up to drain_timeout_s for the gateway to ack the whole spool, and exits 0
// (1 when the drain timed out: the rest stays spooled and goes on the next run).
#include <cstdio>
#include <string>

#include "common/log/log_lines.h"

namespace footfall::probe::commands {

struct RunOptions {
  std::string config_path;
  bool help_config = false;  // print the options table of probe.json and exit
  log::LogFormat log_format = log::LogFormat::automatic;
};

// Exit status: 0 done, 1 runtime failure (read error, spool unusable, drain timed out), 2 bad config or source.
int run_probe(const RunOptions& options, std::FILE* out, std::FILE* err);

}  // namespace footfall::probe::commands
