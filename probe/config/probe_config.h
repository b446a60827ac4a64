#pragma once
// probe.json: the one table of options of `footfall-probe run` (key, type, default, help), read by the shared
// engine (common/options/). An unknown key, a key written twice, a wrong type or a value out of range is an error
// naming the key path, e.g. "probe.json: spool.max_mb: expected integer >= 2".
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/options/option_table.h"
#include "probe/presence/presence_tracker.h"
#include "probe/spool/spool.h"
#include "probe/uplink/uplink.h"

namespace footfall::probe::config {

struct ProbeConfig {
  std::string probe_id;  // required
  std::string token;     // required

  struct Source {
    std::string interface;  // live capture, or
    std::string file;       // replay of a capture file
    bool monitor = true;
    std::int64_t snaplen = 512;
    std::int64_t buffer_kb = 4096;
    std::string filter = "type mgt";
    double speed = 0;  // file: 0 as fast as possible, 1 real time, 10 ten times faster
    // Event times: "capture" (the capture timestamp) or "radio" (the radiotap TSFT read as µs since the
    // Unix epoch: lab replays played faster than real time, see footfall-sim --radio-clock site).
    std::string clock = "capture";
    bool operator==(const Source&) const = default;
  } source;

  struct Gateway {
    std::string host = "127.0.0.1";
    std::int64_t port = 7700;
    uplink::TlsConfig tls;
    bool operator==(const Gateway&) const = default;
  } gateway;

  struct Spool {
    std::string dir = "/var/lib/footfall/spool";
    std::int64_t max_mb = 64;
    spool::FsyncMode fsync = spool::FsyncMode::group;
    bool operator==(const Spool&) const = default;
  } spool;

  struct Presence {
    std::int64_t signal_floor_dbm = -90;
    std::int64_t departure_silence_s = 300;
    std::int64_t update_interval_s = 60;
    std::int64_t max_devices = 1'000'000;
    bool link_addresses = true;  // one device per phone, not per random address (docs/counting.md)
    std::int64_t link_window_s = 300;
    bool operator==(const Presence&) const = default;
  } presence;

  struct Batch {
    std::int64_t max_age_ms = 1000;
    std::int64_t max_records = 8192;
    bool send_sightings = false;
    bool operator==(const Batch&) const = default;
  } batch;

  struct Uplink {
    std::int64_t window = 16;
    std::int64_t backoff_initial_ms = 500;
    std::int64_t backoff_max_ms = 30'000;
    std::int64_t connect_timeout_ms = 5000;
    std::int64_t ack_timeout_ms = 30'000;
    bool operator==(const Uplink&) const = default;
  } uplink;

  std::int64_t heartbeat_s = 10;
  std::int64_t drain_timeout_s = 30;
  std::string log_level = "info";

  [[nodiscard]] bool replaying_file() const { return !source.file.empty(); }
  bool operator==(const ProbeConfig&) const = default;
};

// The options table (key, type, default, range, help) that probe.json is read against.
std::span<const options::Option> probe_options();

struct ConfigResult {
  std::optional<ProbeConfig> config;
  std::string error;  // "<name>: <key path>: <what is wrong>" when config is empty
};

// `name` prefixes every message (the file name as the user gave it).
ConfigResult parse_probe_config(std::string_view json_text, std::string_view name);
ConfigResult load_probe_config(const std::string& path);

// The presence section as the tracker takes it. The reorder tolerance is 5 s, or half the silence when that is
// shorter (the tracker needs it below the silence).
presence::PresenceConfig presence_config(const ProbeConfig::Presence& p);

// The table as `footfall-probe run --help-config` prints it.
std::string probe_options_help();

}  // namespace footfall::probe::config
