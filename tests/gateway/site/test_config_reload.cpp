// ConfigReload in process: a ReceiveServer (not listening) on an io_context run by the test, gateway.json
// rewritten between reloads; with a SiteThread of stand-in stages when the merge's probes change.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>

#include "gateway/site/config_reload.h"
#include "tests/support/gateway_harness.h"

using namespace footfall::gateway;
using footfall::gateway::testing::TempDir;
using nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

json probe(const std::string& id, const std::string& token, const std::string& zone) {
  return {{"id", id}, {"token", token}, {"zone", zone}};
}

json gateway_json(const fs::path& dir, json probes) {
  return {{"tenant", "acme"},
          {"site", "mall-1"},
          {"listen", {{"address", "127.0.0.1"}, {"port", 7700}}},
          {"probes", std::move(probes)},
          {"journal", {{"dir", (dir / "journal").string()}, {"max_mb", 64}, {"fsync", "never"}}},
          {"log_level", "info"}};
}

void write(const fs::path& p, const json& j) { std::ofstream(p) << j.dump(2); }

json read_health(const fs::path& dir) {
  std::ifstream in(dir / "journal" / "health.json");
  return json::parse(in, nullptr, false);
}

// A receive server (journal open, nothing listening) on an io_context the test runs.
struct Gateway {
  explicit Gateway(const fs::path& dir) : path(dir / "gateway.json") {
    write(path, gateway_json(dir, {probe("entrance", "s3cret", "entrance"), probe("cafe", "c4fe", "food")}));
    auto loaded = load_config(path);
    REQUIRE(std::holds_alternative<GatewayConfig>(loaded));
    config = std::get<GatewayConfig>(loaded);
    JournalOptions options;
    options.dir = config.journal_dir;
    options.max_bytes = config.journal_max_mb << 20;
    options.fsync = false;
    auto opened = Journal::open(options);
    REQUIRE(opened.journal);
    journal = std::move(opened.journal);
    server = std::make_unique<ReceiveServer>(io, config, *journal);
  }
  std::vector<ProbeZone> zones() const {
    std::vector<ProbeZone> out;
    for (const ProbeAccount& p : config.probes) out.push_back({p.id, p.zone});
    return out;
  }
  // Runs the io_context until `done` holds (bounded).
  bool run_until(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= until) return false;
      io.restart();
      io.run_for(20ms);
    }
    return true;
  }

  fs::path path;
  GatewayConfig config;
  boost::asio::io_context io;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<ReceiveServer> server;
};

class FakeStage final : public SiteStage {
 public:
  bool step(std::int64_t) override { return false; }
  void finish(std::int64_t) override {}
};

SitePipelineConfig site_config(const GatewayConfig& c) {
  SitePipelineConfig s;
  s.site = c.site;
  for (const ProbeAccount& p : c.probes) s.merge.probes.push_back({p.id, p.zone});
  return s;
}

std::vector<std::string> ids(const std::vector<ProbeZone>& zones) {
  std::vector<std::string> out;
  for (const ProbeZone& z : zones) out.push_back(z.probe_id + "=" + z.zone);
  return out;
}

}  // namespace

TEST_CASE("probe changes: added, removed, new token and new zone, in that order; unchanged when equal") {
  const std::vector<ProbeAccount> before{{"entrance", "s3cret", "entrance"}, {"lobby", "l", "lobby"}, {"cafe", "c", "food"}};
  const std::vector<ProbeAccount> after{{"entrance", "n3w", "entrance"}, {"cafe", "c", "food-court"}, {"model-room", "m", "m"}};
  CHECK(probe_changes(before, after) == "added model-room; removed lobby; new token for entrance; zone of cafe: food -> food-court");
  CHECK(probe_changes(before, before) == "unchanged");
}

TEST_CASE("merge probes: the merge's order is kept, zones follow the list, new probes go last, removed ones stay") {
  const std::vector<ProbeZone> merged{{"entrance", "entrance"}, {"lobby", "lobby"}};
  const std::vector<ProbeAccount> listed{{"cafe", "c", "food"}, {"entrance", "s", "door"}};
  CHECK(ids(merge_probes(listed, merged)) == std::vector<std::string>{"entrance=door", "lobby=lobby", "cafe=food"});
}

TEST_CASE("config reload without a site stage: a new probe applies, health.json says so; a bad file is refused") {
  TempDir dir;
  Gateway gw(dir.path());
  ConfigReload reload(gw.path, gw.io, *gw.server, gw.zones());

  write(gw.path, gateway_json(dir.path(), {probe("entrance", "s3cret", "entrance"), probe("cafe", "c4fe", "food"),
                                           probe("model-room", "m0del", "models")}));
  reload.run();
  CHECK(gw.server->reloads().ok == 1);
  CHECK(gw.server->reloads().failed == 0);
  CHECK(gw.server->reloads().needs_restart.empty());
  CHECK(gw.server->config().probes.size() == 3);
  CHECK(ids(reload.merged()) == std::vector<std::string>{"entrance=entrance", "cafe=food", "model-room=models"});
  CHECK(read_health(dir.path())["config"]["reloads_ok"] == 1);

  json bad = gateway_json(dir.path(), {probe("entrance", "s3cret", "entrance")});
  bad["listen"]["prot"] = 7700;  // an unknown key
  write(gw.path, bad);
  reload.run();
  CHECK(gw.server->reloads().ok == 1);
  CHECK(gw.server->reloads().failed == 1);
  CHECK(gw.server->reloads().last_error.find("listen.prot") != std::string::npos);
  CHECK(gw.server->config().probes.size() == 3);  // the running config is kept
  const json health = read_health(dir.path());
  CHECK(health["config"]["reloads_failed"] == 1);
  CHECK(health["config"]["last_error"] == gw.server->reloads().last_error);

  // A key the running gateway does not take is reported, the rest applies.
  json moved = gateway_json(dir.path(), {probe("entrance", "s3cret", "entrance")});
  moved["listen"]["port"] = 7701;
  write(gw.path, moved);
  reload.run();
  CHECK(gw.server->reloads().ok == 2);
  CHECK(gw.server->reloads().last_error.empty());
  CHECK(gw.server->reloads().needs_restart == std::vector<std::string>{"listen.port"});
  CHECK(gw.server->config().probes.size() == 1);
  CHECK(gw.server->config().listen_port == 7700);
}

TEST_CASE("config reload with a site stage: a zone change reopens the stage first, the receive side takes it after") {
  TempDir dir;
  Gateway gw(dir.path());
  std::vector<SitePipelineConfig> opened;  // on the site thread, read after the io thread saw the answer
  auto work = boost::asio::make_work_guard(gw.io);
  SiteThread site(std::make_unique<FakeStage>(), site_config(gw.config),
                  [&opened](SitePipelineConfig c) {
                    opened.push_back(c);
                    return SiteThread::Opened{std::make_unique<FakeStage>(), {}};
                  },
                  [] {}, [] { return std::int64_t{0}; });
  ConfigReload reload(gw.path, gw.io, *gw.server, gw.zones());
  bool lost = false;
  reload.attach(&site, site_config, [&lost] { lost = true; });

  write(gw.path, gateway_json(dir.path(), {probe("entrance", "s3cret", "entrance"), probe("cafe", "c4fe", "food-court")}));
  reload.run();
  CHECK(gw.server->reloads().ok == 0);  // not before the site stage runs with the new zones
  CHECK(gw.server->config().probes[1].zone == "food");
  REQUIRE(gw.run_until([&] { return gw.server->reloads().ok == 1; }));
  CHECK(gw.server->config().probes[1].zone == "food-court");
  REQUIRE(opened.size() == 1);
  CHECK(ids(opened[0].merge.probes) == std::vector<std::string>{"entrance=entrance", "cafe=food-court"});
  CHECK(ids(reload.merged()) == std::vector<std::string>{"entrance=entrance", "cafe=food-court"});
  CHECK_FALSE(lost);

  // A token change leaves the merge's probes as they are: applied at once, no reopen.
  write(gw.path, gateway_json(dir.path(), {probe("entrance", "n3w", "entrance"), probe("cafe", "c4fe", "food-court")}));
  reload.run();
  CHECK(gw.server->reloads().ok == 2);
  CHECK(opened.size() == 1);
  site.stop();
}

TEST_CASE("config reload with a site stage that opens with neither config: the failure is counted, on_site_lost runs") {
  TempDir dir;
  Gateway gw(dir.path());
  auto work = boost::asio::make_work_guard(gw.io);
  SiteThread site(std::make_unique<FakeStage>(), site_config(gw.config),
                  [](SitePipelineConfig) { return SiteThread::Opened{nullptr, "merge: no"}; }, [] {},
                  [] { return std::int64_t{0}; });
  ConfigReload reload(gw.path, gw.io, *gw.server, gw.zones());
  bool lost = false;
  reload.attach(&site, site_config, [&lost] { lost = true; });
  write(gw.path, gateway_json(dir.path(), {probe("entrance", "s3cret", "hall")}));
  reload.run();
  REQUIRE(gw.run_until([&] { return lost; }));
  CHECK(gw.server->reloads().failed == 1);
  CHECK(gw.server->reloads().last_error == "site stage: merge: no; merge: no");
  CHECK(gw.server->config().probes.size() == 2);
}
