#pragma once
// `footfall-probe calibrate --mac AA:BB:CC:DD:EE:FF (--interface IF | --read FILE)`: the walk test. While the
// installer walks the entrance line with a phone, prints once a second the running signal statistics of that
// phone alone; at the end (Ctrl-C, --duration, or the end of the file) a histogram, the proposed visitor
// threshold with its rule, and the probe.json line to use. The rule is in probe/selftest/walk_test.h.
#include <cstdint>
#include <cstdio>
#include <string>

namespace footfall::probe::commands {

struct CalibrateOptions {
  std::string mac;
  std::string read_path;   // a capture file (a replay of a walk), or
  std::string interface;   // live
  bool monitor = false;    // ask for rfmon on a live interface
  double duration_s = 0;   // live: stop after this long (0: at Ctrl-C)
  std::string config_path; // optional probe.json: its current threshold is shown beside the proposal
  int percentile = 10;
  int margin_db = 0;
  std::uint64_t min_frames = 20;
};

// Exit status: 0 a threshold was proposed, 1 too few frames from the phone (or a read error), 2 usage error.
int run_calibrate(const CalibrateOptions& options, std::FILE* out, std::FILE* err);

}  // namespace footfall::probe::commands
