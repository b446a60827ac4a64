// The real footfall-gateway under an open-file limit far below limits.max_connections (1024): it raises its
// soft limit to the hard one, caps the connections to what fits and says so; a connection beyond the cap is
// counted and closed at once (no silent stall), and a real footfall-probe within the cap gets its hello
// answered and its batches acked.
#include <doctest/doctest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/gateway_harness.h"
#include "tests/support/sim_capture.h"

using namespace footfall;
using namespace footfall::gateway;
using namespace footfall::gateway::testing;
namespace fs = std::filesystem;

namespace {

const std::string kBin = FOOTFALL_BIN_DIR;
const std::string kPrlimit = "/usr/bin/prlimit";

nlohmann::json health(const fs::path& dir) {
  auto doc = nlohmann::json::parse(footfall::testing::slurp(dir / "journal" / "health.json"), nullptr, false);
  return doc.is_discarded() ? nlohmann::json(nullptr) : doc;
}

std::uint64_t receive_count(const fs::path& dir, const char* name) {
  const auto h = health(dir);
  if (h.is_null() || !h.contains("receive")) return 0;
  return h["receive"].value(name, std::uint64_t{0});
}

}  // namespace

TEST_CASE("footfall-gateway under ulimit -n 40 (hard 64): the cap is logged, one more is refused, a probe is served") {
  if (!fs::exists(kPrlimit)) {
    MESSAGE("skipped: " << kPrlimit << " is absent (Debian package util-linux): no way to start the gateway under a "
                           "lower open-file limit");
    return;
  }
  TempDir dir;
  const auto port = free_port();
  const nlohmann::json config = {
      {"tenant", "acme"},
      {"site", "mall-1"},
      {"listen", {{"address", "127.0.0.1"}, {"port", port}}},
      {"probes", {{{"id", "entrance"}, {"token", "s3cret"}, {"zone", "entrance"}}}},
      {"journal", {{"dir", (dir.path() / "journal").string()}, {"max_mb", 64}, {"fsync", "never"}}},
      {"limits", {{"hello_timeout_s", 120}}},  // the idle connections below stay open for the whole test
      {"health", {{"interval_s", 1}}},
      {"log_level", "info"}};
  std::ofstream(dir.path() / "gateway.json") << config.dump(2);
  footfall::testing::Child gw({kPrlimit, "--nofile=40:64", "--", kBin + "/footfall-gateway", "--config",
                               (dir.path() / "gateway.json").string()},
                              dir.path() / "gateway.out", dir.path() / "gateway.err");
  REQUIRE(gw.started());
  const auto log = [&] { return footfall::testing::slurp(dir.path() / "gateway.err"); };
  REQUIRE_MESSAGE(eventually([&] { return log().find("listening on") != std::string::npos || gw.poll(); }, 10000ms),
                  log());
  REQUIRE_MESSAGE(!gw.poll(), log());

  // "open files: limit 64 (hard 64, was 40), 9 open, 32 kept ...: limits.max_connections 1024 capped to 23"
  std::smatch m;
  const std::string text = log();
  REQUIRE_MESSAGE(std::regex_search(text, m, std::regex(R"(open files: limit 64 \(hard 64, was 40\), (\d+) open, )"
                                                        R"(32 kept .*limits\.max_connections 1024 capped to (\d+))")),
                  text);
  const std::size_t in_use = std::stoul(m[1].str());
  const std::size_t cap = std::stoul(m[2].str());
  CHECK(cap == 64 - 32 - in_use);
  REQUIRE(cap >= 2);

  // All but one place taken by connections that say nothing yet.
  std::vector<std::unique_ptr<TestProbe>> idle;
  for (std::size_t i = 0; i + 1 < cap; ++i) {
    idle.push_back(std::make_unique<TestProbe>());
    REQUIRE(idle.back()->connect(port));
  }
  REQUIRE(eventually([&] { return receive_count(dir.path(), "connections_open") == cap - 1; }, 10000ms));

  // The last place: a real probe replays a capture; its hello is answered and every batch acked (exit 0).
  const fs::path probe_config = dir.path() / "probe.json";
  std::ofstream(probe_config) << nlohmann::json{
      {"probe_id", "entrance"},
      {"token", "s3cret"},
      {"source", {{"file", footfall::testing::SimCapture::office_hour().pcap(1).string()}}},
      {"gateway", {{"host", "127.0.0.1"}, {"port", port}}},
      {"spool", {{"dir", (dir.path() / "spool").string()}, {"fsync", "never"}}},
      {"uplink", {{"backoff_initial_ms", 20}, {"backoff_max_ms", 200}}},
      {"drain_timeout_s", 30},
      {"log_level", "info"}}.dump(2);
  footfall::testing::Child probe({kBin + "/footfall-probe", "run", "--config", probe_config.string()},
                                 dir.path() / "probe.out", dir.path() / "probe.err");
  const auto probe_status = probe.wait(60000ms);
  CHECK_MESSAGE(probe_status == 0, footfall::testing::slurp(dir.path() / "probe.err"));
  CHECK(footfall::testing::slurp(dir.path() / "probe.err").find("uplink: connected to") != std::string::npos);
  REQUIRE(eventually([&] { return receive_count(dir.path(), "batches_stored") > 0; }, 10000ms));

  // Back to cap - 1 open: one more fits and is served, the next is refused, counted and closed at once.
  REQUIRE(eventually([&] { return receive_count(dir.path(), "connections_open") == cap - 1; }, 10000ms));
  TestProbe last;
  REQUIRE(last.connect(port));
  REQUIRE(eventually([&] { return receive_count(dir.path(), "connections_open") == cap; }, 10000ms));
  TestProbe beyond;
  REQUIRE(beyond.connect(port));
  CHECK(beyond.wait_closed());
  CHECK(eventually([&] { return receive_count(dir.path(), "connections_refused_max") == 1; }, 10000ms));
  const auto reply = last.hello("entrance", "s3cret", now_ns());
  REQUIRE(reply);
  CHECK(reply->status == wire::HelloStatus::accepted);
  CHECK(log().find("refused: " + std::to_string(cap) + " connections open") != std::string::npos);
  CHECK(receive_count(dir.path(), "connections_refused_fds") == 0);  // the cap kept accept from running out

  gw.signal(SIGTERM);
  CHECK(gw.wait() == 0);
}
