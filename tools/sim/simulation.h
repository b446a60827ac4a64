#pragma once
// Runs a scenario: plans each day, plays the devices' and access points' transmissions in time order
// through the radio model, writes one capture per probe and the ground truth of who was where when.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tools/sim/sales.h"
#include "tools/sim/schedule.h"
#include "tools/sim/site_model.h"

namespace footfall::sim {

struct SimConfig {
  std::string scenario = "office";
  std::string site;               // the site's name in sales.csv and truth.json; empty: the scenario's name
  std::uint64_t seed = 1;
  std::int64_t start_ns = 0;      // opening time of the first day, ns since the Unix epoch
  std::int64_t duration_ns = 0;   // opening hours of each day
  std::uint32_t days = 1;         // consecutive days, each opening at the same time of day
  double time_scale = 1.0;        // people behave this many times faster; radio timing (beacons) does not
  std::uint64_t frame_limit = 0;  // stop once the largest capture holds this many frames; 0: no limit
  std::filesystem::path out_dir;
  bool frame_log = false;         // also write truth-frames.tsv
  std::optional<double> mac_change_per_burst;
  std::optional<double> randomizing_share;
  // The probes' radiotap TSFT: their own free-running microsecond timer (as real radios), or the site's
  // wall-clock time in µs since the Unix epoch, so a live replay played faster than real time still carries
  // the true time of every frame (footfall-probe source.clock = "radio").
  bool tsft_is_site_time = false;
  std::int64_t tail_ns = 0;  // access points go on beaconing this long after closing (the probes listen on)
};

// Frame counts by kind, as heard by one probe or as transmitted.
struct FrameCounts {
  std::uint64_t probe_req = 0;
  std::uint64_t probe_resp = 0;
  std::uint64_t beacon = 0;
  [[nodiscard]] std::uint64_t total() const { return probe_req + probe_resp + beacon; }
};

struct SimResult {
  Scenario scenario;
  std::string site;
  Schedule schedule;
  std::vector<DayWindow> days;
  std::vector<FrameCounts> heard;  // per probe, in the order of scenario.probes
  FrameCounts transmitted;
  std::vector<Sale> sales;         // in time order
  std::int64_t end_ns = 0;         // last instant simulated
  bool stopped_at_frame_limit = false;
};

// Throws std::invalid_argument for a bad configuration and std::runtime_error when a file cannot be written.
SimResult run_simulation(const SimConfig& config);

// File names inside the output folder.
std::string capture_file_name(int probe_id);
inline constexpr const char* kTruthFileName = "truth.json";
inline constexpr const char* kFrameLogFileName = "truth-frames.tsv";

}  // namespace footfall::sim
