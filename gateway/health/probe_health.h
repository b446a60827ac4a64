#pragma once
// What the gateway knows about each probe's health: its session, its latest Heartbeat, its clock
// offset and what it delivered. Logged as one line per probe and written as health.json, which a
// later MQTT health topic publishes.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/wire/messages.h"
#include "gateway/probe_clock/clock_offset.h"

namespace footfall::gateway {

struct ProbeHealth {
  explicit ProbeHealth(ClockOffset clock_offset) : clock(clock_offset) {}

  std::string zone;
  bool connected = false;
  std::string peer;
  std::string software_version;
  std::uint64_t sessions = 0;
  std::int64_t connected_since_ns = 0;
  std::int64_t last_frame_ns = 0;
  bool replay = false;  // the probe replays a capture: no clock to estimate
  ClockOffset clock;
  bool has_heartbeat = false;
  wire::Heartbeat heartbeat;
  std::int64_t last_heartbeat_ns = 0;
  std::uint64_t batches_stored = 0;
  std::uint64_t batches_duplicate = 0;
  std::uint64_t events_stored = 0;
  std::uint64_t sightings_stored = 0;
  std::uint64_t last_batch_seq = 0;
  std::uint64_t acked_through = 0;
};

class ProbeHealthBook {
 public:
  ProbeHealthBook(std::size_t clock_window, std::int64_t clock_tolerance_ns)
      : clock_window_(clock_window), clock_tolerance_ns_(clock_tolerance_ns) {}

  ProbeHealth& probe(const std::string& id);
  [[nodiscard]] const std::map<std::string, ProbeHealth, std::less<>>& probes() const { return probes_; }

  [[nodiscard]] static nlohmann::json to_json(const ProbeHealth& h);
  // One line for the log: "entrance up 10.0.0.5:41234 offset=+10800.002s (corrected) batches=12 ...".
  [[nodiscard]] static std::string summary_line(std::string_view id, const ProbeHealth& h);

 private:
  std::size_t clock_window_;
  std::int64_t clock_tolerance_ns_;
  std::map<std::string, ProbeHealth, std::less<>> probes_;
};

}  // namespace footfall::gateway
