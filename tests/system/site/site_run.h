#pragma once
// One simulated site run with real processes: footfall-sim writes the office captures and their truth,
// three `footfall-probe run` replay them into a `footfall-gateway`, which publishes to a mosquitto that a
// test subscriber reads. Helpers to write the configs, start and stop the processes, and read the truth.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/mosquitto_broker.h"
#include "tests/support/test_subscriber.h"

namespace footfall::test::site {

inline constexpr const char* kTenant = "acme";
inline constexpr const char* kSite = "office-1";

// One person's visit in truth.json, for a simulation without address randomization (one address each).
struct TruthVisit {
  std::string mac;  // lowercase colon form
  std::string role;  // staff, visitor, passer
  std::int64_t arrival_ns = 0;    // walked in (physical)
  std::int64_t departure_ns = 0;  // walked out
  std::int64_t first_heard_ns = 0;
  std::int64_t last_heard_ns = 0;
  int strongest_heard_dbm = -127;  // best rssi over the probes that heard it
  std::vector<std::string> zones;  // in order, repeats collapsed
};

struct Truth {
  std::vector<TruthVisit> visits;
  std::set<std::string> macs;  // every address in the file: devices and access points
};

Truth read_truth(const std::filesystem::path& truth_json);

// A delivered payload, parsed, with its batch id.
struct Delivery {
  std::map<std::string, nlohmann::json> batches;  // batch_id -> first copy
  std::size_t copies = 0;
  std::size_t duplicates = 0;
  bool duplicates_identical = true;
  std::vector<std::uint64_t> seqs;  // of every unique batch, any data topic
};
Delivery collect(const std::vector<Received>& messages);
// Visits of the unique batches, in seq order.
std::vector<nlohmann::json> visits_of(const Delivery& d);
// Newest probes payload's gateway counters (empty when none yet).
nlohmann::json latest_gateway_health(const std::vector<Received>& messages);

// Every spelling of every address searched in every payload; the hits, as "form in topic".
std::vector<std::string> find_macs(const std::vector<Received>& messages, const std::set<std::string>& macs);

class SiteRun {
 public:
  explicit SiteRun(std::string broker_uri, double probe_speed);
  // Each probe (entrance, model-room, negotiation) replaying at its own speed.
  SiteRun(std::string broker_uri, std::vector<double> probe_speeds);
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_.path(); }
  [[nodiscard]] std::filesystem::path truth_file() const { return dir() / "sim" / "truth.json"; }
  [[nodiscard]] std::filesystem::path gateway_log() const { return dir() / "gateway.log"; }
  [[nodiscard]] std::filesystem::path key_dir() const { return dir() / "keys"; }
  [[nodiscard]] std::filesystem::path outbox_dir() const { return dir() / "outbox"; }
  [[nodiscard]] std::filesystem::path journal_dir() const { return dir() / "journal"; }
  [[nodiscard]] const std::string& setup_error() const { return error_; }

  // `merge`: keys of the gateway's merge section, when not the defaults.
  void write_gateway_config(const std::string& username, const std::string& password,
                            const nlohmann::json& merge = nlohmann::json::object());
  bool start_gateway();
  // SIGTERM; the exit status (or -1).
  int stop_gateway();
  bool start_probes();
  // Waits (bounded) for every probe to exit; true when all exited 0.
  bool wait_probes(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string log_of(const std::string& name) const;

 private:
  TempDir dir_;
  std::string broker_uri_;
  std::vector<double> speeds_;  // per probe
  std::uint16_t gateway_port_ = 0;
  pid_t gateway_ = -1;
  std::vector<pid_t> probes_;
  std::string error_;
};

}  // namespace footfall::test::site
