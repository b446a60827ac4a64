// Reloading the probe list of a running footfall-gateway (SIGHUP), with the real programs on loopback:
// `footfall-gateway provision` adds a probe, the gateway reloads (told by provision, or by a SIGHUP), the new
// probe is accepted while an established session goes on; a removed probe is refused and its session closed;
// a config that does not load is refused and the running one kept; keys that need a restart are reported.
#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_harness.h"
#include "tests/support/child_process.h"

using namespace footfall;
using namespace footfall::gateway;
using namespace footfall::gateway::testing;
using footfall::testing::Child;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kGateway = std::string(FOOTFALL_BIN_DIR) + "/footfall-gateway";

json read_json(const fs::path& p) { return json::parse(footfall::testing::slurp(p), nullptr, false); }
void write_json(const fs::path& p, const json& j) {
  const fs::path temp = p.string() + ".tmp";  // renamed over it, as provision and editors do
  std::ofstream(temp) << j.dump(2);
  fs::rename(temp, p);
}

json gateway_config(const fs::path& dir, std::uint16_t port) {
  return {{"tenant", "acme"},
          {"site", "mall-1"},
          {"listen", {{"address", "127.0.0.1"}, {"port", port}}},
          {"probes",
           {{{"id", "entrance"}, {"token", "s3cret"}, {"zone", "entrance"}},
            {{"id", "lobby"}, {"token", "l0bby"}, {"zone", "lobby"}}}},
          {"journal", {{"dir", (dir / "journal").string()}, {"max_mb", 64}, {"fsync", "never"}}},
          {"log_level", "info"}};
}

// The gateway's reload figures in health.json (rewritten after every reload).
std::uint64_t reloads(const fs::path& dir, const char* which) {
  const json h = read_json(dir / "journal" / "health.json");
  if (h.is_discarded() || !h.contains("config")) return 0;
  return h["config"].value(which, std::uint64_t{0});
}

// A real footfall-gateway on a loopback port; SIGKILLed with the object when a check fails first.
class RunningGateway {
 public:
  RunningGateway(const fs::path& dir, std::uint16_t port)
      : dir_(dir),
        child_({kGateway, "--config", (dir / "gateway.json").string()}, dir / "gateway.out", dir / "gateway.err") {
    REQUIRE(child_.started());
    // Up once it listens and has written its pid file (it handles SIGHUP from then on).
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          if (child_.poll()) return true;
                          asio::io_context io;
                          asio::ip::tcp::socket s(io);
                          boost::system::error_code ec;
                          s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
                          return !ec && fs::exists(dir / "journal" / "gateway.pid");
                        },
                        10000ms),
                    "gateway start");
    REQUIRE_MESSAGE(!child_.poll(), "the gateway exited: " << log());
  }
  void signal(int sig) { child_.signal(sig); }
  std::optional<int> stop() {
    child_.signal(SIGTERM);
    return child_.wait();
  }
  [[nodiscard]] std::string log() const { return footfall::testing::slurp(dir_ / "gateway.err"); }
  // SIGHUP, then the bounded wait for health.json to show one more reload of the given kind.
  bool reload_and_wait(const char* which) {
    const std::uint64_t before = reloads(dir_, which);
    child_.signal(SIGHUP);
    return eventually([&] { return reloads(dir_, which) > before; }, 10000ms);
  }

 private:
  fs::path dir_;
  Child child_;
};

struct Run {
  std::optional<int> status;
  std::string out;
  std::string err;
};

Run provision(const fs::path& dir, const std::string& probe, std::vector<std::string> extra = {}) {
  const fs::path out = dir / ("probe-" + probe);
  std::vector<std::string> args = {kGateway, "provision", "--config", (dir / "gateway.json").string(),
                                   "--probe", probe, "--out", out.string(), "--probe-dir", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  Child child(args, dir / ("provision-" + probe + ".out"), dir / ("provision-" + probe + ".err"));
  Run r;
  r.status = child.wait(30000ms);
  r.out = footfall::testing::slurp(dir / ("provision-" + probe + ".out"));
  r.err = footfall::testing::slurp(dir / ("provision-" + probe + ".err"));
  return r;
}

std::string token_of(const fs::path& dir, const std::string& probe) {
  return read_json(dir / ("probe-" + probe) / "probe.json")["token"].get<std::string>();
}

std::size_t lines_with(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) n += line.find(what) != std::string::npos ? 1 : 0;
  return n;
}

// The listed probe "entrance" (token "s3cret" in every config here) with its session established.
void open_entrance_session(TestProbe& entrance, std::uint16_t port) {
  REQUIRE(entrance.connect(port));
  REQUIRE(entrance.hello("entrance", "s3cret", now_ns())->status == wire::HelloStatus::accepted);
}

}  // namespace

TEST_CASE("reload: provision + SIGHUP; the new probe is accepted and an established session goes on") {
  TempDir dir;
  const auto port = free_port();
  write_json(dir.path() / "gateway.json", gateway_config(dir.path(), port));
  RunningGateway gw(dir.path(), port);

  TestProbe entrance;
  open_entrance_session(entrance, port);
  std::mt19937 rng(1);
  REQUIRE(entrance.send(make_batch(1, 3, now_ns(), rng)));
  REQUIRE(entrance.receive_as<wire::Ack>());

  // Not provisioned yet: refused.
  {
    TestProbe early;
    REQUIRE(early.connect(port));
    const auto reply = early.hello("model-room", "whatever", now_ns());
    REQUIRE(reply);
    CHECK(reply->reason == wire::RefuseReason::unknown_probe);
  }

  // The installer's path without the automatic reload: provision --no-reload, then SIGHUP (systemctl reload).
  const Run added = provision(dir.path(), "model-room", {"--no-reload"});
  REQUIRE_MESSAGE(added.status == 0, added.err);
  CHECK(added.out.find("systemctl reload footfall-gateway") != std::string::npos);
  REQUIRE(gw.reload_and_wait("reloads_ok"));
  CHECK(reloads(dir.path(), "reloads_failed") == 0);

  TestProbe model_room;
  REQUIRE(model_room.connect(port));
  const auto reply = model_room.hello("model-room", token_of(dir.path(), "model-room"), now_ns());
  REQUIRE(reply);
  CHECK(reply->status == wire::HelloStatus::accepted);
  REQUIRE(model_room.send(make_batch(1, 2, now_ns(), rng)));
  CHECK(model_room.receive_as<wire::Ack>());

  // The session that was up before the reload is the same session, still storing and acking.
  REQUIRE(entrance.send(make_batch(2, 3, now_ns(), rng)));
  const auto ack = entrance.receive_as<wire::Ack>();
  REQUIRE(ack);
  CHECK(ack->cumulative == 2);

  const std::string log = gw.log();
  CHECK(lines_with(log, "reload: gateway.json applied: 3 probe(s), added model-room") == 1);
  CHECK(lines_with(log, "probe=entrance reason=") == 0);  // its session was never cut
  const json health = read_json(dir.path() / "journal" / "health.json");
  CHECK(health["config"]["reloads_ok"] == 1);
  CHECK(health["config"]["needs_restart"].empty());
  CHECK(health["probes"]["model-room"]["zone"] == "model-room");

  CHECK(gw.stop() == 0);
  CHECK_FALSE(fs::exists(dir.path() / "journal" / "gateway.pid"));  // a stopped gateway is not signalled
}

TEST_CASE("reload: provision tells the running gateway itself; --rotate-token refuses the old token from then on") {
  TempDir dir;
  const auto port = free_port();
  write_json(dir.path() / "gateway.json", gateway_config(dir.path(), port));
  RunningGateway gw(dir.path(), port);
  TestProbe entrance;
  open_entrance_session(entrance, port);

  const Run added = provision(dir.path(), "cafe");
  REQUIRE_MESSAGE(added.status == 0, added.err);
  CHECK_MESSAGE(added.out.find("reloaded gateway.json: it accepts the probe from now on") != std::string::npos, added.out);
  const std::string first = token_of(dir.path(), "cafe");
  TestProbe cafe;
  REQUIRE(cafe.connect(port));
  REQUIRE(cafe.hello("cafe", first, now_ns())->status == wire::HelloStatus::accepted);

  // A new token: the session with the old one is closed and the old token refused, without a restart.
  const Run rotated = provision(dir.path(), "cafe", {"--rotate-token"});
  REQUIRE_MESSAGE(rotated.status == 0, rotated.err);
  CHECK(rotated.out.find("it accepts the new token only from now on") != std::string::npos);
  CHECK(cafe.wait_closed());
  {
    TestProbe old_token;
    REQUIRE(old_token.connect(port));
    const auto reply = old_token.hello("cafe", first, now_ns());
    REQUIRE(reply);
    CHECK(reply->reason == wire::RefuseReason::bad_token);
  }
  TestProbe fresh;
  REQUIRE(fresh.connect(port));
  CHECK(fresh.hello("cafe", token_of(dir.path(), "cafe"), now_ns())->status == wire::HelloStatus::accepted);
  CHECK(lines_with(gw.log(), "probe=cafe reason=token_changed") == 1);

  std::mt19937 rng(2);
  REQUIRE(entrance.send(make_batch(1, 3, now_ns(), rng)));
  CHECK(entrance.receive_as<wire::Ack>());  // untouched by both reloads
  CHECK(reloads(dir.path(), "reloads_ok") == 2);
  CHECK(gw.stop() == 0);

  // With no gateway running, provision says so and succeeds: the gateway reads the file when it starts.
  const Run offline = provision(dir.path(), "terrace");
  REQUIRE_MESSAGE(offline.status == 0, offline.err);
  CHECK(offline.out.find("no footfall-gateway runs on") != std::string::npos);
}

TEST_CASE("reload: a removed probe is refused and its session closed; the others keep theirs") {
  TempDir dir;
  const auto port = free_port();
  json config = gateway_config(dir.path(), port);
  write_json(dir.path() / "gateway.json", config);
  RunningGateway gw(dir.path(), port);
  TestProbe entrance, lobby;
  open_entrance_session(entrance, port);
  REQUIRE(lobby.connect(port));
  REQUIRE(lobby.hello("lobby", "l0bby", now_ns())->status == wire::HelloStatus::accepted);

  config["probes"].erase(1);  // lobby
  write_json(dir.path() / "gateway.json", config);
  REQUIRE(gw.reload_and_wait("reloads_ok"));
  CHECK(lobby.wait_closed());
  TestProbe again;
  REQUIRE(again.connect(port));
  const auto reply = again.hello("lobby", "l0bby", now_ns());
  REQUIRE(reply);
  CHECK(reply->reason == wire::RefuseReason::unknown_probe);
  std::mt19937 rng(3);
  REQUIRE(entrance.send(make_batch(1, 3, now_ns(), rng)));
  CHECK(entrance.receive_as<wire::Ack>());

  const std::string log = gw.log();
  CHECK(lines_with(log, "probe=lobby reason=probe_removed: no longer in probes of the reloaded config") == 1);
  CHECK(lines_with(log, "hello refused: peer=") == 1);
  CHECK(lines_with(log, "probe=\"lobby\" reason=unknown_probe") == 1);
  CHECK(gw.stop() == 0);
  const json health = read_json(dir.path() / "journal" / "health.json");
  CHECK(health["receive"]["sessions_closed"]["probe_removed"] == 1);
  CHECK(health["receive"]["hello_refused"]["unknown_probe"] == 1);
}

TEST_CASE("reload: a config that does not load keeps the running one, one line naming the key, counted") {
  TempDir dir;
  const auto port = free_port();
  json config = gateway_config(dir.path(), port);
  write_json(dir.path() / "gateway.json", config);
  RunningGateway gw(dir.path(), port);
  TestProbe entrance;
  open_entrance_session(entrance, port);

  // A new probe and an unknown key in the same file: nothing of it is taken.
  json broken = config;
  broken["probes"].push_back({{"id", "cafe"}, {"token", "caf3"}, {"zone", "cafe"}});
  broken["limits"] = {{"idle_timeout", 5}};
  write_json(dir.path() / "gateway.json", broken);
  REQUIRE(gw.reload_and_wait("reloads_failed"));
  CHECK(lines_with(gw.log(), "reload failed: gateway.json: limits.idle_timeout: unknown key: the running config is kept") == 1);
  json health = read_json(dir.path() / "journal" / "health.json");
  CHECK(health["config"]["reloads_ok"] == 0);
  CHECK(health["config"]["last_error"] == "gateway.json: limits.idle_timeout: unknown key");
  {
    TestProbe cafe;
    REQUIRE(cafe.connect(port));
    const auto reply = cafe.hello("cafe", "caf3", now_ns());
    REQUIRE(reply);
    CHECK(reply->reason == wire::RefuseReason::unknown_probe);
  }

  // A bad value: the same, and the probes listed before are still accepted.
  broken.erase("limits");
  broken["journal"]["max_mb"] = "lots";
  write_json(dir.path() / "gateway.json", broken);
  REQUIRE(gw.reload_and_wait("reloads_failed"));
  CHECK(lines_with(gw.log(), "reload failed: gateway.json: journal.max_mb: expected a positive integer") == 1);
  CHECK(reloads(dir.path(), "reloads_failed") == 2);
  {
    TestProbe lobby;
    REQUIRE(lobby.connect(port));
    CHECK(lobby.hello("lobby", "l0bby", now_ns())->status == wire::HelloStatus::accepted);
  }

  // A new probe with the packaged example's placeholder token: refused like a bad file, as at start.
  json placeholder = config;
  placeholder["probes"].push_back({{"id", "kiosk"}, {"token", "replace-with-a-long-random-token"}, {"zone", "kiosk"}});
  write_json(dir.path() / "gateway.json", placeholder);
  REQUIRE(gw.reload_and_wait("reloads_failed"));
  CHECK(lines_with(gw.log(), "reload failed: gateway.json: probes[" + std::to_string(placeholder["probes"].size() - 1) +
                                 "].token: still the example's placeholder") == 1);
  CHECK(reloads(dir.path(), "reloads_failed") == 3);
  {
    TestProbe kiosk;
    REQUIRE(kiosk.connect(port));
    CHECK(kiosk.hello("kiosk", "replace-with-a-long-random-token", now_ns())->reason == wire::RefuseReason::unknown_probe);
  }

  // Fixed, with keys that need a restart changed too: the probes apply, those keys are reported and kept.
  json fixed = config;
  fixed["probes"].push_back({{"id", "cafe"}, {"token", "caf3"}, {"zone", "cafe"}});
  fixed["journal"]["dir"] = (dir.path() / "elsewhere").string();
  fixed["listen"]["port"] = 1;
  write_json(dir.path() / "gateway.json", fixed);
  REQUIRE(gw.reload_and_wait("reloads_ok"));
  CHECK(lines_with(gw.log(), "reload: needs restart: listen.port, journal.dir changed in gateway.json") == 1);
  health = read_json(dir.path() / "journal" / "health.json");  // still in the journal folder it started with
  CHECK(health["config"]["needs_restart"] == json::array({"listen.port", "journal.dir"}));
  CHECK(health["config"]["last_error"] == "");
  TestProbe cafe;
  REQUIRE(cafe.connect(port));  // still listening where it started
  CHECK(cafe.hello("cafe", "caf3", now_ns())->status == wire::HelloStatus::accepted);

  std::mt19937 rng(4);
  REQUIRE(entrance.send(make_batch(1, 3, now_ns(), rng)));
  CHECK(entrance.receive_as<wire::Ack>());  // through three reloads
  CHECK_FALSE(fs::exists(dir.path() / "elsewhere"));
  CHECK(gw.stop() == 0);
}

TEST_CASE("reload with publishing on: the site stage merges a probe provisioned while running, nothing dropped") {
  const fs::path mosquitto = "/usr/sbin/mosquitto";
  const fs::path mosquitto_sub = "/usr/bin/mosquitto_sub";
  if (!fs::exists(mosquitto) || !fs::exists(mosquitto_sub)) {
    MESSAGE("skipped: mosquitto and mosquitto_sub (Debian package mosquitto, mosquitto-clients) are not installed");
    return;
  }
  TempDir dir;
  const auto broker_port = free_port();
  std::ofstream(dir.path() / "mosquitto.conf") << "listener " << broker_port << " 127.0.0.1\nallow_anonymous true\n";
  Child broker({mosquitto.string(), "-c", (dir.path() / "mosquitto.conf").string()}, dir.path() / "mosquitto.out",
               dir.path() / "mosquitto.err");
  REQUIRE(broker.started());
  REQUIRE(eventually(
      [&] {
        asio::io_context io;
        asio::ip::tcp::socket s(io);
        boost::system::error_code ec;
        s.connect({asio::ip::make_address("127.0.0.1"), broker_port}, ec);
        return !ec;
      },
      10000ms));
  Child sub({mosquitto_sub.string(), "-h", "127.0.0.1", "-p", std::to_string(broker_port), "-t",
             "footfall/v1/acme/mall-1/presence"},
            dir.path() / "presence.jsonl", dir.path() / "sub.err");
  REQUIRE(sub.started());

  const auto port = free_port();
  json config = gateway_config(dir.path(), port);
  config["mqtt"] = {{"uri", "tcp://127.0.0.1:" + std::to_string(broker_port)}};
  config["publish"] = {{"interval_ms", 100}, {"probes_interval_ms", 200}};
  config["outbox"] = {{"dir", (dir.path() / "outbox").string()}};
  config["privacy"] = {{"key_dir", (dir.path() / "keys").string()}, {"create_keys", true}};
  write_json(dir.path() / "gateway.json", config);
  RunningGateway gw(dir.path(), port);
  TestProbe entrance;
  open_entrance_session(entrance, port);
  std::mt19937 rng(5);
  REQUIRE(entrance.send(make_batch(1, 6, now_ns(), rng)));
  REQUIRE(entrance.receive_as<wire::Ack>());

  const Run added = provision(dir.path(), "model-room");
  REQUIRE_MESSAGE(added.status == 0, added.err << gw.log());
  CHECK(gw.log().find("reload: the site stage restarts with the new probes") != std::string::npos);
  TestProbe model_room;
  REQUIRE(model_room.connect(port));
  REQUIRE(model_room.hello("model-room", token_of(dir.path(), "model-room"), now_ns())->status ==
          wire::HelloStatus::accepted);
  REQUIRE(model_room.send(make_batch(1, 6, now_ns(), rng)));
  REQUIRE(model_room.receive_as<wire::Ack>());
  REQUIRE(entrance.send(make_batch(2, 6, now_ns(), rng)));
  CHECK(entrance.receive_as<wire::Ack>());  // the receive side went on while the site stage restarted

  // The new probe's arrivals reach MQTT in its own zone: the merge knows it.
  CHECK_MESSAGE(eventually([&] { return footfall::testing::slurp(dir.path() / "presence.jsonl").find("\"model-room\"") != std::string::npos; },
                           20000ms),
                gw.log());
  CHECK(gw.log().find("merge.unknown_probe_events") == std::string::npos);
  CHECK(gw.stop() == 0);
}
