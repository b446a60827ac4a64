#pragma once
// `footfall-probe presence`: a capture file through the presence tracker, one JSON line per arrival, update and
// departure, everyone still present departing (cause shutdown) at the end of the file; a summary on stderr.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace footfall::probe::commands {

struct PresenceOptions {
  std::string read_path;                       // pcap / pcapng; "-" reads standard input
  std::string config_path;                     // optional probe.json: its presence section
  std::optional<std::int64_t> floor_dbm;       // override presence.signal_floor_dbm
  std::optional<std::int64_t> silence_s;       // override presence.departure_silence_s
  std::optional<std::int64_t> update_s;        // override presence.update_interval_s (0: none)
  bool all_randomized = false;                 // link every WiFi address as randomised (re-randomised captures)
  bool no_link = false;                        // override presence.link_addresses with false
};

// Returns the exit status: 0 read to the end, 1 read / write error, 2 usage error, bad config or not a capture.
int run_presence(const PresenceOptions& options, std::FILE* out, std::FILE* err);

}  // namespace footfall::probe::commands
