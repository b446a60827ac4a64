#pragma once
// The real programs of the probe -> gateway link as child processes of a test: footfall-gateway serving a
// journal, footfall-probe replaying a capture, and the commands that say what each side holds
// (`footfall-probe presence`, `footfall-gateway journal`). Every wait is bounded; nothing sleeps to wait.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "common/byte_cursor.h"

#include "tests/support/child_process.h"
#include "tests/support/scratch.h"

extern char** environ;

namespace footfall::link_testing {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

inline const std::string kBinDir = FOOTFALL_BIN_DIR;
inline const std::string kProbe = kBinDir + "/footfall-probe";
inline const std::string kGateway = kBinDir + "/footfall-gateway";
inline const std::string kSim = kBinDir + "/footfall-sim";

using footfall::testing::TempDir;

// Polls `done` until it holds or the limit passes (a bounded wait, not a sleep that hopes).
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A loopback port nobody listens on right now (bound to 0, read back, released).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(a.sin_port);
}

inline bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

using footfall::testing::Child;

// What the comparison looks at: (kind, mac, ts_ns, first_seen_ns, last_seen_ns, frames, dwell_s).
using EventKey = std::tuple<std::string, std::string, std::int64_t, std::int64_t, std::int64_t, std::uint32_t, std::uint32_t>;
using EventBag = std::multiset<EventKey>;

inline EventKey event_key(const nlohmann::json& j) {
  return {j.at("kind").get<std::string>(),      j.at("mac").get<std::string>(),
          j.at("ts_ns").get<std::int64_t>(),    j.at("first_seen_ns").get<std::int64_t>(),
          j.at("last_seen_ns").get<std::int64_t>(), j.at("frames").get<std::uint32_t>(),
          j.value("dwell_s", std::uint32_t{0})};
}
inline const std::string& kind_of(const EventKey& e) { return std::get<0>(e); }
inline const std::string& mac_of(const EventKey& e) { return std::get<1>(e); }
inline std::int64_t ts_of(const EventKey& e) { return std::get<2>(e); }
inline std::int64_t first_seen_of(const EventKey& e) { return std::get<3>(e); }
inline std::int64_t last_seen_of(const EventKey& e) { return std::get<4>(e); }
inline std::uint32_t frames_of(const EventKey& e) { return std::get<5>(e); }
inline std::uint32_t dwell_of(const EventKey& e) { return std::get<6>(e); }

inline std::string describe(const EventKey& e) {
  std::ostringstream s;
  s << kind_of(e) << " " << mac_of(e) << " ts=" << ts_of(e) << " first=" << first_seen_of(e)
    << " last=" << last_seen_of(e) << " frames=" << frames_of(e) << " dwell=" << dwell_of(e);
  return s.str();
}

// a - b as multisets.
inline EventBag minus(const EventBag& a, const EventBag& b) {
  EventBag out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

// The first few entries of a bag, for failure messages.
inline std::string sample(const EventBag& bag, std::size_t n = 5) {
  std::string out;
  for (const auto& e : bag) {
    if (n-- == 0) break;
    out += "\n  " + describe(e);
  }
  return out;
}

// One line of `footfall-probe presence` output, with the departure cause it carries.
struct ReferenceEvent {
  EventKey key;
  std::string cause;  // departures: silence | evicted | shutdown
};

// What the gateway holds, from `footfall-gateway journal`.
struct JournalContents {
  EventBag events;
  std::map<std::uint64_t, EventBag> events_by_seq;           // probe_seq -> its events
  std::map<std::uint64_t, std::uint64_t> sightings_by_seq;   // probe_seq -> sightings in it
  std::map<std::uint64_t, std::set<std::uint64_t>> records_by_seq;  // probe_seq -> journal records holding it
  // (spool, probe_seq) -> journal records holding it: a probe's seqs count within its spool
  std::map<std::pair<std::string, std::uint64_t>, std::set<std::uint64_t>> records_by_spool_seq;
  std::map<std::string, EventBag> events_by_spool;
  std::set<std::string> probes;
  std::uint64_t sightings = 0;
  bool all_replay = true;
  bool no_correction = true;
};

inline JournalContents parse_journal_dump(const std::string& text) {
  JournalContents c;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    const auto seq = j.at("probe_seq").get<std::uint64_t>();
    c.probes.insert(j.at("probe").get<std::string>());
    c.records_by_seq[seq].insert(j.at("journal_seq").get<std::uint64_t>());
    const auto spool = j.at("spool").get<std::string>();
    c.records_by_spool_seq[{spool, seq}].insert(j.at("journal_seq").get<std::uint64_t>());
    c.all_replay = c.all_replay && j.at("replay").get<bool>();
    c.no_correction = c.no_correction && j.at("clock_offset_ns").get<std::int64_t>() == 0;
    if (j.at("record") == "event") {
      const EventKey e = event_key(j);
      c.events.insert(e);
      c.events_by_seq[seq].insert(e);
      c.events_by_spool[spool].insert(e);
    } else {
      ++c.sightings;
      ++c.sightings_by_seq[seq];
    }
  }
  return c;
}

// `key=value` from the probe's summary lines on stderr; nullopt when absent.
inline std::optional<std::uint64_t> summary_value(const std::string& log, const std::string& key) {
  const std::string needle = " " + key + "=";
  const auto at = log.rfind(needle);
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(log.substr(at + needle.size()));
}

// The capture time of every packet of a pcap file (index 0 is packet 1), read with a bounds-checked cursor.
inline std::vector<std::int64_t> packet_times(const fs::path& pcap) {
  const std::string bytes = read_text(pcap);
  ByteCursor in({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  const std::uint32_t magic = in.le32();
  REQUIRE_MESSAGE((magic == 0xa1b23c4d || magic == 0xa1b2c3d4), "not a little-endian pcap: " << pcap);
  const std::int64_t fraction_ns = magic == 0xa1b23c4d ? 1 : 1000;
  in.skip(20);
  std::vector<std::int64_t> times;
  while (in.remaining() >= 16) {
    const std::uint32_t sec = in.le32();
    const std::uint32_t frac = in.le32();
    const std::uint32_t caplen = in.le32();
    in.skip(4);
    if (!in.skip(caplen)) break;
    times.push_back(static_cast<std::int64_t>(sec) * 1'000'000'000 + static_cast<std::int64_t>(frac) * fraction_ns);
  }
  return times;
}

// The words a program's command line starts with: none (the test's own network) or `ip netns exec NAME`.
using Launcher = std::vector<std::string>;

inline std::vector<std::string> launched(const Launcher& launcher, std::vector<std::string> args) {
  args.insert(args.begin(), launcher.begin(), launcher.end());
  return args;
}

// footfall-gateway serving one journal on a fixed port (so a restart is found at the same address); on loopback
// unless given another address and a launcher that runs it where that address is.
class GatewayProgram {
 public:
  GatewayProgram(const fs::path& dir, std::uint16_t port, std::string address = "127.0.0.1", Launcher launcher = {})
      : dir_(dir), port_(port), address_(std::move(address)), launcher_(std::move(launcher)) {
    fs::create_directories(dir_);
    const nlohmann::json doc = {
        {"tenant", "acme"},
        {"site", "mall-1"},
        {"listen", {{"address", address_}, {"port", port_}}},
        {"probes", {{{"id", "entrance"}, {"token", "s3cret"}, {"zone", "entrance"}}}},
        {"journal", {{"dir", (dir_ / "journal").string()}, {"max_mb", 256}, {"fsync", "always"}}},
        {"health", {{"interval_s", 1}}},
        {"log_level", "info"}};
    std::ofstream(config_path()) << doc.dump(2);
  }
  ~GatewayProgram() { child_.reset(); }

  [[nodiscard]] fs::path config_path() const { return dir_ / "gateway.json"; }
  [[nodiscard]] std::uint16_t port() const { return port_; }

  // Starts it and waits until it accepts connections.
  void start() {
    ++runs_;
    child_.emplace(launched(launcher_, {kGateway, "--config", config_path().string()}),
                   dir_ / ("gateway-" + std::to_string(runs_) + ".out"),
                   dir_ / ("gateway-" + std::to_string(runs_) + ".err"));
    REQUIRE(child_->started());
    // Off loopback (another namespace) the test cannot connect to it: its log says when it listens.
    const auto listening = [&] {
      return launcher_.empty() ? accepts_connections(port_) : log().find("listening on") != std::string::npos;
    };
    REQUIRE_MESSAGE(eventually([&] { return listening() || child_->poll(); }, 10s), "gateway start");
    REQUIRE_MESSAGE(!child_->poll(), "the gateway exited at start: " << log());
  }
  // kill -9: no chance to flush or close anything.
  int kill_hard() {
    child_->signal(SIGKILL);
    const auto status = child_->wait(10s);
    REQUIRE(status);
    return *status;
  }
  // SIGTERM: the clean stop; returns the exit status.
  int stop() {
    child_->signal(SIGTERM);
    const auto status = child_->wait(10s);
    REQUIRE_MESSAGE(status, "the gateway did not stop within 10 s");
    return *status;
  }
  [[nodiscard]] std::string log() const {
    return read_text(dir_ / ("gateway-" + std::to_string(runs_) + ".err"));
  }

  // health.json (written every second while serving); null when not written yet.
  [[nodiscard]] nlohmann::json health() const {
    const std::string text = read_text(dir_ / "journal" / "health.json");
    if (text.empty()) return nullptr;
    auto doc = nlohmann::json::parse(text, nullptr, false);
    return doc.is_discarded() ? nlohmann::json(nullptr) : doc;
  }
  [[nodiscard]] std::uint64_t batches_stored() const {
    const auto h = health();
    if (h.is_null()) return 0;
    return h["probes"]["entrance"].value("batches_stored", std::uint64_t{0});
  }

  // `footfall-gateway journal`: everything held.
  JournalContents journal() const {
    Child dump({kGateway, "journal", "--config", config_path().string()}, dir_ / "journal.jsonl",
               dir_ / "journal.err");
    // A Debug build prints ~200k sightings in ~8 s of CPU; a shared machine may give it a quarter of a core.
    REQUIRE(dump.wait(90s) == 0);
    return parse_journal_dump(read_text(dir_ / "journal.jsonl"));
  }

 private:
  fs::path dir_;
  std::uint16_t port_;
  std::string address_;
  Launcher launcher_;
  int runs_ = 0;
  std::optional<Child> child_;
};

// The probe settings every scenario shares; each scenario changes what it needs.
inline nlohmann::json probe_config(const fs::path& capture, const fs::path& spool_dir, std::uint16_t port) {
  return {{"probe_id", "entrance"},
          {"token", "s3cret"},
          {"source", {{"file", capture.string()}, {"speed", 0}}},
          {"gateway", {{"host", "127.0.0.1"}, {"port", port}}},
          {"spool", {{"dir", spool_dir.string()}, {"max_mb", 64}, {"fsync", "group"}}},
          // Short silence and update interval: a 20-minute capture then holds hundreds of complete visits.
          // One device per address: these tests need the event volume and the per-address restart semantics
          // they were written for (device linking would cut the mall's events ninefold); linking is tested in
          // tests/probe/.
          {"presence", {{"departure_silence_s", 30}, {"update_interval_s", 10}, {"link_addresses", false}}},
          // One batch per second of capture time: hundreds of batches.
          {"batch", {{"max_age_ms", 1000}, {"max_records", 8192}, {"send_sightings", false}}},
          {"uplink",
           {{"window", 16}, {"backoff_initial_ms", 20}, {"backoff_max_ms", 250}, {"connect_timeout_ms", 2000},
            {"ack_timeout_ms", 3000}}},
          {"heartbeat_s", 1},
          {"drain_timeout_s", 30},
          {"log_level", "info"}};
}

// footfall-probe run, replaying a capture file.
class ProbeProgram {
 public:
  ProbeProgram(const fs::path& dir, nlohmann::json config, Launcher launcher = {})
      : dir_(dir), config_(std::move(config)), launcher_(std::move(launcher)) {
    fs::create_directories(dir_);
  }

  [[nodiscard]] nlohmann::json& config() { return config_; }
  [[nodiscard]] fs::path spool_dir() const { return config_["spool"]["dir"].get<std::string>(); }

  void start() {
    ++runs_;
    const fs::path path = dir_ / ("probe-" + std::to_string(runs_) + ".json");
    std::ofstream(path) << config_.dump(2);
    child_.emplace(launched(launcher_, {kProbe, "run", "--config", path.string()}),
                   dir_ / ("probe-" + std::to_string(runs_) + ".out"), err_path());
    REQUIRE(child_->started());
  }
  [[nodiscard]] bool running() { return child_ && !child_->poll(); }
  std::optional<int> wait(std::chrono::milliseconds limit) { return child_->wait(limit); }
  int kill_hard() {
    child_->signal(SIGKILL);
    const auto status = child_->wait(10s);
    REQUIRE(status);
    return *status;
  }
  [[nodiscard]] std::string log() const { return read_text(err_path()); }
  [[nodiscard]] std::optional<std::uint64_t> summary(const std::string& key) const { return summary_value(log(), key); }

  // Packets whose events are in the spool, from the replay checkpoint (0 before the first one is written).
  [[nodiscard]] std::uint64_t checkpoint() const {
    const std::string text = read_text(spool_dir() / "replay.checkpoint");
    if (text.empty()) return 0;
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.contains("packets")) return 0;
    return doc["packets"].get<std::uint64_t>();
  }

 private:
  [[nodiscard]] fs::path err_path() const { return dir_ / ("probe-" + std::to_string(runs_) + ".err"); }

  fs::path dir_;
  nlohmann::json config_;
  Launcher launcher_;
  int runs_ = 0;
  std::optional<Child> child_;
};

// `footfall-probe presence --read FILE --config probe.json`: the events the probe computes from the file, in
// the order it emits them (the reference every scenario compares the gateway's journal with).
inline std::vector<ReferenceEvent> reference_events(const fs::path& dir, const nlohmann::json& probe_config) {
  fs::create_directories(dir);
  const fs::path config = dir / "reference-probe.json";
  std::ofstream(config) << probe_config.dump(2);
  Child presence({kProbe, "presence", "--read", probe_config["source"]["file"].get<std::string>(), "--config",
                  config.string()},
                 dir / "reference.jsonl", dir / "reference.err");
  REQUIRE(presence.wait(60s) == 0);
  std::vector<ReferenceEvent> out;
  std::istringstream lines(read_text(dir / "reference.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    out.push_back({event_key(j), j.value("cause", std::string())});
  }
  return out;
}

inline EventBag bag_of(const std::vector<ReferenceEvent>& events) {
  EventBag bag;
  for (const auto& e : events) bag.insert(e.key);
  return bag;
}

}  // namespace footfall::link_testing
