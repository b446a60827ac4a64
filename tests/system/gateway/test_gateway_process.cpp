// The real footfall-gateway program: config errors, SIGTERM, and kill -9 in the middle of a stream
// followed by a restart, checked with `footfall-gateway journal`.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_harness.h"
#include "tests/support/child_process.h"

using namespace footfall;
using namespace footfall::gateway;
using namespace footfall::gateway::testing;

namespace {

const std::string kGateway = std::string(FOOTFALL_BIN_DIR) + "/footfall-gateway";

using footfall::testing::Child;

std::filesystem::path write_config(const std::filesystem::path& dir, std::uint16_t port, const std::string& extra = "") {
  const auto path = dir / "gateway.json";
  std::ofstream(path) << R"({"tenant": "acme", "site": "mall-1", "listen": {"address": "127.0.0.1", "port": )" << port
                      << R"(}, "probes": [{"id": "entrance", "token": "s3cret", "zone": "entrance"}],
      "journal": {"dir": ")" << (dir / "journal").string()
                      << R"(", "max_mb": 64, "fsync": "always"}, "log_level": "info")" << extra << "}";
  return path;
}

bool listening(std::uint16_t port) {
  return eventually(
      [&] {
        asio::io_context io;
        asio::ip::tcp::socket s(io);
        boost::system::error_code ec;
        s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
        return !ec;
      },
      10000ms);
}

}  // namespace

TEST_CASE("footfall-gateway: a bad config is one line naming the key, exit 2; --help-config prints the table") {
  TempDir dir;
  const auto config = write_config(dir.path(), 7700, R"(, "limits": {"idle_timeout_s": -1})");
  Child bad({kGateway, "--config", config.string()}, dir.path() / "out", dir.path() / "err");
  REQUIRE(bad.started());
  CHECK(bad.wait() == 2);
  const auto err = footfall::testing::slurp(dir.path() / "err");
  CHECK(err.find("gateway.json: limits.idle_timeout_s: expected a positive integer") == 0);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);

  Child help({kGateway, "--help-config"}, dir.path() / "out", dir.path() / "err");
  CHECK(help.wait() == 0);
  CHECK(footfall::testing::slurp(dir.path() / "out").find("journal.max_mb") != std::string::npos);
}

TEST_CASE("footfall-gateway: SIGTERM stops it cleanly with exit 0 and health.json written") {
  TempDir dir;
  const auto port = free_port();
  const auto config = write_config(dir.path(), port);
  Child gw({kGateway, "--config", config.string()}, dir.path() / "out", dir.path() / "err");
  REQUIRE(gw.started());
  REQUIRE(listening(port));
  TestProbe probe;
  REQUIRE(probe.connect(port));
  REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
  std::mt19937 rng(1);
  REQUIRE(probe.send(make_batch(1, 3, now_ns(), rng)));
  REQUIRE(probe.receive_as<wire::Ack>());
  gw.signal(SIGTERM);
  CHECK(gw.wait() == 0);
  CHECK(probe.wait_closed());
  const auto health = nlohmann::json::parse(footfall::testing::slurp(dir.path() / "journal" / "health.json"));
  CHECK(health["probes"]["entrance"]["batches_stored"] == 1);
}

TEST_CASE("footfall-gateway: kill -9 mid-stream, restart, resend: every acked batch is in the journal exactly once") {
  TempDir dir;
  const auto port = free_port();
  const auto config = write_config(dir.path(), port);
  constexpr std::uint64_t kBatches = 60;
  constexpr std::size_t kEvents = 20;
  constexpr std::uint64_t kWindow = 8;
  std::mt19937 rng(2);
  std::vector<wire::Batch> batches;
  for (std::uint64_t seq = 1; seq <= kBatches; ++seq) {
    batches.push_back(make_batch(seq, kEvents, now_ns(), rng));
    for (auto& e : batches.back().body.events) e.frames = static_cast<std::uint32_t>(seq);  // ties events to batches
  }

  std::uint64_t acked_before_kill = 0;
  wire::Ack last;
  {
    Child gw({kGateway, "--config", config.string()}, dir.path() / "out1", dir.path() / "err1");
    REQUIRE(gw.started());
    REQUIRE(listening(port));
    TestProbe probe;
    REQUIRE(probe.connect(port));
    REQUIRE(probe.hello("entrance", "s3cret", now_ns()));
    std::uint64_t next = 1;
    while (last.cumulative < 30) {
      while (next <= kBatches && next <= last.cumulative + kWindow) REQUIRE(probe.send(batches[next++ - 1]));
      const auto ack = probe.receive_as<wire::Ack>();
      REQUIRE(ack);
      last = *ack;
    }
    // More in flight, then the gateway dies without warning.
    while (next <= kBatches && next <= last.cumulative + kWindow) REQUIRE(probe.send(batches[next++ - 1]));
    gw.signal(SIGKILL);
    CHECK(gw.wait() == 128 + SIGKILL);
    // Acks that were already on their way still count: the gateway sent them only after fdatasync.
    while (auto ack = probe.receive_as<wire::Ack>(500ms)) last = *ack;
    acked_before_kill = last.cumulative;
  }
  MESSAGE("acked before kill -9: " << acked_before_kill);

  Child gw({kGateway, "--config", config.string()}, dir.path() / "out2", dir.path() / "err2");
  REQUIRE(gw.started());
  REQUIRE(listening(port));
  TestProbe probe;
  REQUIRE(probe.connect(port));
  const auto reply = probe.hello("entrance", "s3cret", now_ns());
  REQUIRE(reply);
  CHECK(reply->acked_through >= acked_before_kill);
  // Like a probe's spool: everything above acked_through, plus a few already-acked ones resent.
  for (std::uint64_t seq = acked_before_kill > 3 ? acked_before_kill - 3 : 1; seq <= kBatches; ++seq)
    REQUIRE(probe.send(batches[seq - 1]));
  last = {};
  while (last.cumulative < kBatches) {
    const auto ack = probe.receive_as<wire::Ack>();
    REQUIRE(ack);
    last = *ack;
  }
  gw.signal(SIGTERM);
  REQUIRE(gw.wait() == 0);

  Child dump({kGateway, "journal", "--config", config.string()}, dir.path() / "dump", dir.path() / "dump_err");
  REQUIRE(dump.wait() == 0);
  std::map<std::uint64_t, std::size_t> events_per_seq;
  std::istringstream lines(footfall::testing::slurp(dir.path() / "dump"));
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    CHECK(j["probe"] == "entrance");
    CHECK(j["frames"] == j["probe_seq"]);
    CHECK(j["clock_offset_ns"] == 0);
    events_per_seq[j["probe_seq"].get<std::uint64_t>()] += 1;
  }
  CHECK(events_per_seq.size() == kBatches);
  for (const auto& [seq, n] : events_per_seq) {
    INFO("seq " << seq);
    CHECK(n == kEvents);
  }
}
