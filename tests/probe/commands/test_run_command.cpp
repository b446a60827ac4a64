// `footfall-probe run` replaying a footfall-sim capture into the fake gateway: everything arrives, the end of the
// file drains the spool, a restart resumes after the checkpoint, a stop seals what it has, bad configs exit 2.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "probe/commands/presence_command.h"
#include "probe/commands/run_command.h"
#include "tests/support/fake_gateway.h"
#include "tests/support/scratch.h"
#include "tests/support/sim_capture.h"

using namespace footfall;
using namespace footfall::probe;
using namespace footfall::testing;
using namespace std::chrono_literals;

using footfall::testing::slurp;

namespace {

struct Result {
  int status = -1;
  std::string out;
  std::string err;
};

Result run_probe(const std::filesystem::path& config, bool help_config = false) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  Result r;
  r.status = commands::run_probe({config.string(), help_config}, out, err);
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

std::filesystem::path write_config(const std::filesystem::path& dir, const nlohmann::json& doc) {
  const auto path = dir / "probe.json";
  std::ofstream(path) << doc.dump(2);
  return path;
}

nlohmann::json replay_config(const std::filesystem::path& spool_dir, std::uint16_t port, const std::string& file) {
  return {{"probe_id", "entrance"},
          {"token", "s3cret"},
          {"source", {{"file", file}}},
          {"gateway", {{"host", "127.0.0.1"}, {"port", port}}},
          {"spool", {{"dir", spool_dir.string()}, {"fsync", "never"}}},
          {"uplink", {{"backoff_initial_ms", 5}, {"backoff_max_ms", 50}, {"ack_timeout_ms", 2000}}},
          {"drain_timeout_s", 20},
          {"log_level", "warn"}};
}

using DepartureKey = std::tuple<std::string, std::int64_t, std::uint32_t>;  // mac, ts, dwell

std::multiset<DepartureKey> departures_from_gateway(const FakeGateway::Seen& seen) {
  std::multiset<DepartureKey> out;
  for (const auto& [seq, body] : seen.bodies)
    for (const PresenceEvent& e : body.events)
      if (e.kind == PresenceKind::departure) out.insert({e.mac.to_string(), e.ts_ns, e.dwell_s});
  return out;
}

std::multiset<DepartureKey> departures_from_presence_command(const std::string& pcap) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  commands::PresenceOptions options;
  options.read_path = pcap;
  // Linking, as footfall-probe run does with presence.link_addresses at its default.
  REQUIRE(commands::run_presence(options, out, err) == 0);
  const std::string text = slurp(out);
  std::fclose(err);
  std::multiset<DepartureKey> d;
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; start = nl + 1, nl = text.find('\n', start)) {
    const auto e = nlohmann::json::parse(text.substr(start, nl - start));
    if (e.at("kind") == "departure")
      d.insert({e.at("mac").get<std::string>(), e.at("ts_ns").get<std::int64_t>(), e.at("dwell_s").get<std::uint32_t>()});
  }
  return d;
}

std::uint64_t checkpoint_packets(const std::filesystem::path& spool_dir) {
  std::ifstream in(spool_dir / "replay.checkpoint");
  REQUIRE(in);
  return nlohmann::json::parse(in).at("packets").get<std::uint64_t>();
}

bool contiguous_from_1(const std::set<std::uint64_t>& held) {
  std::uint64_t expect = 1;
  for (const auto s : held)
    if (s != expect++) return false;
  return !held.empty();
}

}  // namespace

TEST_CASE("run: a replayed capture reaches the gateway whole, drains, and a rerun resumes at its end") {
  const SimCapture& sim = SimCapture::office_hour();
  const std::string pcap = sim.pcap(1).string();
  const std::uint64_t packets = sim.frames(1).size();
  TempDir dir;
  FakeGateway gateway;
  const auto config = write_config(dir.path(), replay_config(dir.path() / "spool", gateway.port(), pcap));

  const Result first = run_probe(config);
  CHECK_MESSAGE(first.status == 0, first.err);
  const auto seen = gateway.seen();
  CHECK(contiguous_from_1(seen.held));
  CHECK(seen.duplicates == 0);
  CHECK(seen.hellos.at(0).probe_clock_ns == 0);  // file replay: event times are capture times
  // The same events as the presence command computes from the same file.
  const auto expected = departures_from_presence_command(pcap);
  REQUIRE(expected.size() >= 5);
  CHECK(departures_from_gateway(seen) == expected);
  CHECK(checkpoint_packets(dir.path() / "spool") == packets);

  // Same file again: everything is behind the checkpoint, nothing new is sent.
  const Result second = run_probe(config);
  CHECK_MESSAGE(second.status == 0, second.err);
  CHECK(gateway.seen().held == seen.held);
  CHECK(gateway.seen().batches == seen.batches);
}

namespace {

// Files of this process may not grow beyond `bytes` while it lives: a write past it fails with EFBIG, as one on
// a full disk fails with ENOSPC (SIGXFSZ is ignored so that the write returns instead of killing the process).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &before_);
    const rlimit low{bytes, before_.rlim_max};
    ::setrlimit(RLIMIT_FSIZE, &low);
    signal_before_ = ::signal(SIGXFSZ, SIG_IGN);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &before_);
    ::signal(SIGXFSZ, signal_before_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit before_{};
  sighandler_t signal_before_ = SIG_DFL;
};

std::uint64_t figure(const std::string& log, const std::string& key) {
  const auto at = log.rfind(" " + key + "=");
  REQUIRE_MESSAGE(at != std::string::npos, key << " not in " << log);
  return std::stoull(log.substr(at + key.size() + 2));
}

}  // namespace

TEST_CASE("run: a spool that cannot grow loses every batch, counted one by one, in a few log lines") {
  const SimCapture& sim = SimCapture::office_hour();
  TempDir dir;
  FakeGateway gateway;
  auto doc = replay_config(dir.path() / "spool-ok", gateway.port(), sim.pcap(1).string());
  doc["batch"] = {{"max_records", 1}};  // one batch per event: many batches to lose
  doc["log_level"] = "info";
  const Result whole = run_probe(write_config(dir.path(), doc));
  REQUIRE_MESSAGE(whole.status == 0, whole.err);
  const std::uint64_t batches = figure(whole.err, "batches_spooled");
  REQUIRE(figure(whole.err, "batches_lost") == 0);
  REQUIRE(batches >= 200);

  // The same replay with a spool whose files stop growing at 16 KiB: the rest of the batches are lost. A gateway
  // of its own: this fake one keeps one sequence space per probe, not one per spool.
  FakeGateway second_gateway;
  doc["gateway"]["port"] = second_gateway.port();
  doc["spool"]["dir"] = (dir.path() / "spool-full").string();
  Result full;
  {
    const auto config = write_config(dir.path(), doc);
    FileSizeLimit limit(16 * 1024);
    full = run_probe(config);
  }
  const std::uint64_t lost = figure(full.err, "batches_lost");
  MESSAGE("batches: " << batches << ", lost: " << lost << ", log: " << full.err.size() << " bytes");
  CHECK(lost >= batches / 2);
  CHECK(figure(full.err, "batches_spooled") + lost == batches);  // every batch either spooled or counted lost
  std::size_t lost_lines = 0;
  std::uint64_t repeated = 0;
  std::istringstream lines(full.err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("records lost: spool:") == std::string::npos) continue;
    ++lost_lines;
    if (const auto at = line.find("(repeated "); at != std::string::npos) repeated += std::stoull(line.substr(at + 10));
  }
  // The first loss, at most one line per 10 s of a run that takes a second or two, and the closing count.
  CHECK(lost_lines >= 2);
  CHECK(lost_lines <= 4);
  CHECK(repeated + 1 >= lost);  // the lines' counts account for every lost batch
}

TEST_CASE("run: a drain that times out exits 1 and keeps the spool; the next run delivers it") {
  const SimCapture& sim = SimCapture::office_hour();
  const std::string pcap = sim.pcap(1).string();
  TempDir dir;
  GatewayPolicy refuse_all;
  refuse_all.hello = [](const wire::Hello&, std::uint32_t) { return std::optional{wire::RefuseReason::gateway_busy}; };
  auto doc = replay_config(dir.path() / "spool", 0, pcap);
  doc["drain_timeout_s"] = 1;
  {
    FakeGateway busy(refuse_all);
    doc["gateway"]["port"] = busy.port();
    const Result r = run_probe(write_config(dir.path(), doc));
    CHECK(r.status == 1);
    CHECK(r.err.find("drain timed out") != std::string::npos);
    CHECK(busy.seen().batches == 0);
  }
  FakeGateway gateway;
  doc["gateway"]["port"] = gateway.port();
  doc["drain_timeout_s"] = 20;
  const Result r = run_probe(write_config(dir.path(), doc));
  CHECK_MESSAGE(r.status == 0, r.err);
  CHECK(contiguous_from_1(gateway.seen().held));
  CHECK(departures_from_gateway(gateway.seen()) == departures_from_presence_command(pcap));
}

TEST_CASE("run: SIGTERM seals what it has and exits 0; the restart resumes after the checkpoint") {
  const SimCapture& sim = SimCapture::office_hour();
  const std::string pcap = sim.pcap(1).string();
  const std::uint64_t packets = sim.frames(1).size();
  TempDir dir;
  FakeGateway gateway;
  auto doc = replay_config(dir.path() / "spool", gateway.port(), pcap);
  doc["source"]["speed"] = 200;  // the hour in 18 s: time enough to stop it in the middle
  doc["batch"]["max_age_ms"] = 100;
  const auto config = write_config(dir.path(), doc);

  auto running = std::async(std::launch::async, [&] { return run_probe(config); });
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (gateway.seen().held.size() < 3 && std::chrono::steady_clock::now() < deadline)
    (void)running.wait_for(10ms);
  REQUIRE(gateway.seen().held.size() >= 3);  // so the probe's signal_set is in place
  REQUIRE(::kill(::getpid(), SIGTERM) == 0);
  REQUIRE(running.wait_for(10s) == std::future_status::ready);
  const Result stopped = running.get();
  CHECK_MESSAGE(stopped.status == 0, stopped.err);
  const std::uint64_t resume_at = checkpoint_packets(dir.path() / "spool");
  CHECK(resume_at > 0);
  CHECK(resume_at < packets);
  const auto before = gateway.seen();

  doc["source"]["speed"] = 0;
  const Result resumed = run_probe(write_config(dir.path(), doc));
  CHECK_MESSAGE(resumed.status == 0, resumed.err);
  const auto after = gateway.seen();
  CHECK(contiguous_from_1(after.held));
  CHECK(after.held.size() > before.held.size());
  CHECK(checkpoint_packets(dir.path() / "spool") == packets);
  // The resumed run's events all come from packets after the checkpoint: none is older than the first of them.
  std::int64_t first_resumed_ts = INT64_MAX;
  for (const auto& [seq, body] : after.bodies)
    if (!before.held.count(seq))
      for (const auto& e : body.events)
        if (e.kind == PresenceKind::arrival) first_resumed_ts = std::min(first_resumed_ts, e.ts_ns);
  std::int64_t last_before_ts = 0;
  for (const auto& [seq, body] : before.bodies)
    for (const auto& e : body.events) last_before_ts = std::max(last_before_ts, e.last_seen_ns);
  CHECK(first_resumed_ts >= last_before_ts);
}

TEST_CASE("run: configuration errors exit 2 naming the key; --help-config prints the table") {
  TempDir dir;
  nlohmann::json doc = replay_config(dir.path() / "spool", 7700, "x.pcap");
  doc["spool"]["max_mb"] = 0;
  const Result bad = run_probe(write_config(dir.path(), doc));
  CHECK(bad.status == 2);
  CHECK(bad.err.find("spool.max_mb: expected integer >= 2") != std::string::npos);

  // 1 MiB cannot hold a batch of up to the 1 MiB frame limit beside the spool's headers: refused, named.
  doc["spool"]["max_mb"] = 1;
  const Result tiny = run_probe(write_config(dir.path(), doc));
  CHECK(tiny.status == 2);
  CHECK(tiny.err.find("spool.max_mb: expected integer >= 2") != std::string::npos);

  doc["spool"].erase("max_mb");
  doc["source"]["file"] = (dir.path() / "missing.pcap").string();
  const Result missing = run_probe(write_config(dir.path(), doc));
  CHECK(missing.status == 2);
  CHECK(missing.err.find("source.file") != std::string::npos);

  const Result help = run_probe({}, true);
  CHECK(help.status == 0);
  for (const char* key : {"probe_id", "source.interface", "gateway.tls.ca_file", "spool.fsync", "uplink.window",
                          "drain_timeout_s"})
    CHECK(help.out.find(key) != std::string::npos);
}
