#pragma once
// `footfall-probe frames`: read a capture (file, standard input or live interface), parse every packet,
// print one JSON line per sighting and a summary of counts by kind and drop reason.
#include <cstdint>
#include <cstdio>
#include <string>

#include "probe/capture/pcap_source.h"
#include "probe/parse/drop_reason.h"

namespace footfall::probe::commands {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a read or write error after the capture was opened
inline constexpr int kExitUsage = 2;    // bad arguments, not a capture, unsupported link type, no such interface

struct FramesOptions {
  enum class Format : std::uint8_t { json, none };

  std::string read_path;        // a file, or "-" for standard input; empty for a live capture
  capture::LiveOptions live;    // used when live.interface is set
  bool ble = false;             // also print Bluetooth LE adverts
  Format format = Format::json;  // none: parse and count only (benchmarks)
  std::uint64_t count = 0;      // stop after this many packets read (0: no limit)
  double duration_s = 0;        // live: stop after this many seconds (0: no limit)
};

struct FramesSummary {
  std::uint64_t packets_read = 0;
  std::uint64_t probe_req = 0, probe_resp = 0, beacon = 0, ble_adv = 0;
  parse::DropCounters drops;
  capture::CaptureStats capture;

  [[nodiscard]] std::uint64_t frames() const { return probe_req + probe_resp + beacon; }
};

// Runs the command; lines go to `out`, the summary and errors to `err`. Returns the exit status.
int run_frames(const FramesOptions& options, std::FILE* out, std::FILE* err);

// The summary as it is printed: "summary: key=value ..." lines, stable for scripts.
void print_frames_summary(const FramesSummary& summary, std::FILE* err);

}  // namespace footfall::probe::commands
