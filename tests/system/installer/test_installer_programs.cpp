// The installer's path with the real programs on loopback: `footfall-gateway provision` writes a probe's
// config, a real gateway accepts a real probe with it (and refuses a wrong token; a token rotated while the
// gateway runs is taken at once), `footfall-probe selftest`
// passes on a virtual monitor interface with injected frames and fails, with its hint, when something is
// wrong, and `footfall-probe calibrate` proposes the threshold of a walk from a footfall-sim capture and live.
// The virtual monitor needs root and /dev/net/tun: those parts skip with a message where they cannot run.
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "tests/system/link/link_programs.h"
#include "tests/support/test_certs.h"
#include "tools/vmon/virtual_monitor.h"

namespace {

using namespace footfall::link_testing;
using footfall::vmon::VirtualMonitor;
using footfall::vmon::VmonError;
using nlohmann::json;
using Bytes = std::vector<std::uint8_t>;

// A probe request in radiotap: `freq` MHz, the given signal; source 02:00:5e:10:00:<id>, sequence `seq`.
Bytes probe_request(std::uint8_t id, std::uint16_t seq, std::int8_t rssi_dbm, std::uint16_t freq = 2437) {
  return {0x00, 0x00, 0x0f, 0x00, 0x2a, 0x00, 0x00, 0x00,  // radiotap: flags | (pad) channel | antenna signal
          0x00, 0x00, static_cast<std::uint8_t>(freq & 0xff), static_cast<std::uint8_t>(freq >> 8), 0xa0, 0x00,
          static_cast<std::uint8_t>(rssi_dbm),
          0x40, 0x00, 0x00, 0x00,  // probe request
          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, id, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
          static_cast<std::uint8_t>(seq << 4), static_cast<std::uint8_t>(seq >> 4),
          0x00, 0x00,                          // wildcard SSID
          0x01, 0x04, 0x02, 0x04, 0x0b, 0x16};  // supported rates
}

// A virtual monitor for this test program, or nullopt with the reason printed.
std::optional<VirtualMonitor> make_monitor(const std::string& name) {
  if (::geteuid() != 0) {
    MESSAGE("skipped: the virtual monitor interface needs root");
    return std::nullopt;
  }
  try {
    return VirtualMonitor::create(name);
  } catch (const VmonError& e) {
    if (e.unavailable()) {
      MESSAGE("skipped: cannot create a virtual monitor interface here: " << std::string(e.what()));
      return std::nullopt;
    }
    FAIL("creating virtual monitor '" << name << "': " << std::string(e.what()));
  }
  return std::nullopt;
}

json read_json(const fs::path& p) { return json::parse(read_text(p)); }
void write_json(const fs::path& p, const json& j) { std::ofstream(p) << j.dump(2); }

struct Run {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs a program to its end (bounded); while it runs, injects a probe request into `monitor` every 20 ms.
Run run(const std::vector<std::string>& args, const fs::path& dir, const std::string& tag,
        VirtualMonitor* monitor = nullptr, std::chrono::milliseconds limit = 60s) {
  const fs::path out = dir / (tag + ".out");
  const fs::path err = dir / (tag + ".err");
  Child child(args, out, err);
  REQUIRE(child.started());
  std::uint16_t seq = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!child.poll() && std::chrono::steady_clock::now() < deadline) {
    if (monitor != nullptr) monitor->inject(probe_request(static_cast<std::uint8_t>(1 + seq % 3), seq, static_cast<std::int8_t>(-40 - seq % 40)));
    ++seq;
    std::this_thread::sleep_for(20ms);  // the injection pace, not a wait for a condition
  }
  const auto status = child.wait(1ms);
  REQUIRE_MESSAGE(status, tag << " did not end within " << limit.count() << " ms");
  return {*status, read_text(out), read_text(err)};
}

// The line of one check in a selftest report.
std::string check_line(const std::string& report, const std::string& name) {
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 6 && line.substr(6, name.size() + 1) == name + " ") {
      std::string hint;
      if (std::getline(lines, hint) && hint.starts_with("      hint: ")) line += "\n" + hint;
      return line;
    }
  }
  return {};
}
bool passed(const std::string& report, const std::string& name) { return check_line(report, name).starts_with("PASS"); }
bool failed(const std::string& report, const std::string& name) { return check_line(report, name).starts_with("FAIL"); }

// footfall-gateway on a loopback port with a config the test wrote; stopped (SIGKILL) with the object.
class Gateway {
 public:
  Gateway(const fs::path& config, const fs::path& dir, std::uint16_t port) : port_(port) {
    child_.emplace(std::vector<std::string>{kGateway, "--config", config.string()}, dir / "gateway.out", dir / "gateway.err");
    REQUIRE(child_->started());
    REQUIRE_MESSAGE(eventually([&] { return accepts_connections(port_) || child_->poll(); }, 10s), "gateway start");
    REQUIRE_MESSAGE(!child_->poll(), "the gateway exited at start: " << read_text(dir / "gateway.err"));
  }
  void stop() {
    child_->signal(SIGTERM);
    REQUIRE(child_->wait(10s));
  }

 private:
  std::uint16_t port_;
  std::optional<Child> child_;
};

json gateway_config(const fs::path& dir, std::uint16_t port) {
  return {{"tenant", "acme"},
          {"site", "mall-1"},
          {"listen", {{"address", "127.0.0.1"}, {"port", port}}},
          {"probes", {{{"id", "model-room"}, {"token", "an-older-token"}, {"zone", "model-room"}}}},
          {"journal", {{"dir", (dir / "journal").string()}, {"max_mb", 64}, {"fsync", "never"}}},
          {"health", {{"interval_s", 1}}},
          {"log_level", "info"}};
}

std::vector<std::string> provision_args(const fs::path& gateway_json, const std::string& probe, const fs::path& out) {
  return {kGateway, "provision", "--config", gateway_json.string(), "--probe", probe, "--out", out.string(),
          "--probe-dir", out.string(), "--spool-dir", (out / "spool").string(), "--interface", "none0"};
}

// A short footfall-sim site, made once for the programs that replay it.
const fs::path& sim_site() {
  static const fs::path dir = [] {
    const fs::path d = fs::temp_directory_path() / ("footfall-installer-sim-" + std::to_string(::getpid()));
    Child sim({kSim, "--scenario", "office", "--seed", "11", "--start", "2026-11-02T09:00:00Z", "--duration", "20m",
               "--out", d.string()},
              fs::temp_directory_path() / "footfall-installer-sim.out",
              fs::temp_directory_path() / "footfall-installer-sim.err");
    REQUIRE(sim.wait(60s) == 0);
    return d;
  }();
  return dir;
}

struct SimCleanup {
  ~SimCleanup() {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("footfall-installer-sim-" + std::to_string(::getpid())), ec);
  }
} const sim_cleanup;

fs::path first_probe_capture() {
  std::vector<fs::path> captures;
  for (const auto& e : fs::directory_iterator(sim_site()))
    if (e.path().extension() == ".pcap") captures.push_back(e.path());
  REQUIRE(!captures.empty());
  std::sort(captures.begin(), captures.end());
  return captures.front();
}

}  // namespace

TEST_CASE("provision: the written probe.json is accepted by a real gateway; a second provision is refused; a wrong "
          "token is refused") {
  TempDir tmp;
  const std::uint16_t port = free_port();
  const fs::path gateway_json = tmp.path() / "gateway.json";
  nlohmann::ordered_json original;  // an order of keys that is not alphabetical: provision must keep it
  for (const char* key : {"tenant", "site", "listen", "probes", "journal", "health", "log_level"})
    original[key] = gateway_config(tmp.path(), port)[key];
  std::ofstream(gateway_json) << original.dump(4);
  std::ofstream(tmp.path() / "gateway.json.orig") << original.dump(4);
  const fs::path out = tmp.path() / "entrance";

  const Run added = run(provision_args(gateway_json, "entrance", out), tmp.path(), "provision");
  REQUIRE_MESSAGE(added.status == 0, added.err);
  CHECK(added.out.find("added probe 'entrance' (zone entrance)") != std::string::npos);
  CHECK(added.out.find("no footfall-gateway runs on") != std::string::npos);  // started below: it loads the file then

  // gateway.json: the other probe and every other key kept, in order; the new probe with a fresh token.
  const std::string after_add = read_text(gateway_json);
  const json edited = json::parse(after_add);
  const json probe = read_json(out / "probe.json");
  REQUIRE(edited["probes"].size() == 2);
  CHECK(edited["probes"][0] == gateway_config(tmp.path(), port)["probes"][0]);
  CHECK(edited["probes"][1]["id"] == "entrance");
  const std::string token = edited["probes"][1]["token"];
  CHECK(std::regex_match(token, std::regex("[0-9a-f]{64}")));
  CHECK(probe["token"] == token);
  CHECK(probe["probe_id"] == "entrance");
  CHECK(probe["gateway"]["host"] == "127.0.0.1");
  CHECK(probe["gateway"]["port"] == port);
  auto keys = [](const std::string& text) {
    std::vector<std::string> k;
    const auto doc = nlohmann::ordered_json::parse(text);
    for (const auto& [key, value] : doc.items()) k.push_back(key);
    return k;
  };
  CHECK(keys(after_add) == keys(read_text(tmp.path() / "gateway.json.orig")));  // key order kept
  CHECK((fs::status(out / "probe.json").permissions() & fs::perms::others_read) == fs::perms::none);

  const Run again = run(provision_args(gateway_json, "entrance", out), tmp.path(), "provision-again");
  CHECK(again.status == 1);
  CHECK(again.err.find("exists") != std::string::npos);
  CHECK(read_text(gateway_json) == after_add);
  CHECK(read_json(out / "probe.json")["token"] == token);

  // A real probe replays a capture with the written config (source switched to the file) and drains to the
  // gateway: it exits 0 only once the gateway has accepted it and acked everything.
  Gateway gateway(gateway_json, tmp.path(), port);
  json replay = probe;
  replay["source"] = {{"file", first_probe_capture().string()}};
  replay["drain_timeout_s"] = 20;
  write_json(tmp.path() / "replay.json", replay);
  const Run accepted = run({kProbe, "run", "--config", (tmp.path() / "replay.json").string()}, tmp.path(), "probe-run");
  CHECK_MESSAGE(accepted.status == 0, accepted.err);
  CHECK(accepted.err.find("refused") == std::string::npos);

  // The same probe with a token one digit off: refused, with the hint to provision.
  json wrong = probe;
  wrong["token"] = std::string(token).replace(0, 1, token[0] == '0' ? "1" : "0");
  write_json(tmp.path() / "wrong.json", wrong);
  const Run refused = run({kProbe, "selftest", "--config", (tmp.path() / "wrong.json").string(), "--listen", "0.1"},
                          tmp.path(), "selftest-wrong");
  CHECK(refused.status == 1);
  CHECK_MESSAGE(failed(refused.out, "gateway"), refused.out);
  CHECK(check_line(refused.out, "gateway").find("bad_token") != std::string::npos);
  CHECK(check_line(refused.out, "gateway").find("hint: ") != std::string::npos);
  json run_wrong = replay;
  run_wrong["token"] = wrong["token"];
  run_wrong["drain_timeout_s"] = 1;
  run_wrong["spool"]["dir"] = (tmp.path() / "spool-wrong").string();  // a spool of its own: everything to send
  write_json(tmp.path() / "run-wrong.json", run_wrong);
  const Run run_refused = run({kProbe, "run", "--config", (tmp.path() / "run-wrong.json").string()}, tmp.path(), "probe-run-wrong");
  CHECK(run_refused.status == 1);
  CHECK(run_refused.err.find("bad_token") != std::string::npos);

  // --rotate-token while the gateway runs: provision has it reload, and from then on the old token is refused
  // and the new one accepted, without a restart.
  const Run rotated = run([&] {
    auto a = provision_args(gateway_json, "entrance", out);
    a.push_back("--rotate-token");
    return a;
  }(), tmp.path(), "provision-rotate");
  REQUIRE_MESSAGE(rotated.status == 0, rotated.err);
  CHECK_MESSAGE(rotated.out.find("reloaded gateway.json: it accepts the new token only from now on") != std::string::npos,
                rotated.out);
  const std::string new_token = read_json(out / "probe.json")["token"];
  CHECK(new_token != token);
  CHECK(json::parse(read_text(gateway_json))["probes"][1]["token"] == new_token);
  write_json(tmp.path() / "old.json", replay);  // the old token
  const Run old = run({kProbe, "selftest", "--config", (tmp.path() / "old.json").string(), "--listen", "0.1"},
                      tmp.path(), "selftest-old");
  CHECK(check_line(old.out, "gateway").find("bad_token") != std::string::npos);
  const Run fresh = run({kProbe, "selftest", "--config", (out / "probe.json").string(), "--listen", "0.1"}, tmp.path(),
                        "selftest-new");
  CHECK_MESSAGE(passed(fresh.out, "gateway"), fresh.out);
  CHECK(passed(fresh.out, "clock"));
  CHECK(passed(fresh.out, "spool"));
  gateway.stop();
  // What the gateway holds came from the provisioned probe (the journal is read while the gateway is down).
  const Run journal = run({kGateway, "journal", "--config", gateway_json.string()}, tmp.path(), "journal");
  REQUIRE_MESSAGE(journal.status == 0, journal.err);
  CHECK(parse_journal_dump(journal.out).probes == std::set<std::string>{"entrance"});
}

TEST_CASE("provision with TLS: the CA is copied, a client certificate signed; the probe is accepted over TLS") {
  TempDir tmp;
  const std::uint16_t port = free_port();
  const auto server = footfall::testing::make_self_signed(tmp.path(), "gateway", "localhost");
  const auto client_ca = footfall::testing::make_self_signed(tmp.path(), "client-ca", "footfall client CA");
  json config = gateway_config(tmp.path(), port);
  config["listen"]["tls"] = {{"cert_file", server.cert.string()},
                             {"key_file", server.key.string()},
                             {"client_ca_file", client_ca.cert.string()}};
  const fs::path gateway_json = tmp.path() / "gateway.json";
  write_json(gateway_json, config);

  // Without the client CA's key: the CA is written, and the output says how to make a client certificate.
  const fs::path bare = tmp.path() / "bare";
  auto args = provision_args(gateway_json, "no-cert", bare);
  args.insert(args.end(), {"--gateway-host", "localhost"});
  const Run no_key = run(args, tmp.path(), "provision-no-key");
  REQUIRE_MESSAGE(no_key.status == 0, no_key.err);
  CHECK(no_key.out.find("openssl x509 -req") != std::string::npos);
  CHECK(read_text(bare / "ca.pem") == read_text(server.cert));
  CHECK_FALSE(read_json(bare / "probe.json")["gateway"]["tls"].contains("cert_file"));

  const fs::path out = tmp.path() / "entrance";
  args = provision_args(gateway_json, "entrance", out);
  args.insert(args.end(), {"--gateway-host", "localhost", "--client-ca-key", client_ca.key.string()});
  const Run with_key = run(args, tmp.path(), "provision-tls");
  REQUIRE_MESSAGE(with_key.status == 0, with_key.err);
  const json probe = read_json(out / "probe.json");
  CHECK(probe["gateway"]["tls"]["ca_file"] == (out / "ca.pem").string());
  CHECK(probe["gateway"]["tls"]["cert_file"] == (out / "probe.crt").string());
  CHECK((fs::status(out / "probe.key").permissions() & fs::perms::group_read) == fs::perms::none);

  Gateway gateway(gateway_json, tmp.path(), port);
  const Run ok = run({kProbe, "selftest", "--config", (out / "probe.json").string(), "--listen", "0.1"}, tmp.path(), "selftest-tls");
  CHECK_MESSAGE(passed(ok.out, "gateway"), ok.out);
  CHECK(check_line(ok.out, "gateway").find("(TLS)") != std::string::npos);
  const Run no_cert = run({kProbe, "selftest", "--config", (bare / "probe.json").string(), "--listen", "0.1"}, tmp.path(),
                          "selftest-no-cert");
  CHECK_MESSAGE(failed(no_cert.out, "gateway"), no_cert.out);

  // A probe provisioned while the gateway runs over TLS: it reloads (reading its TLS files again) and accepts it.
  const fs::path late = tmp.path() / "lobby";
  args = provision_args(gateway_json, "lobby", late);
  args.insert(args.end(), {"--gateway-host", "localhost", "--client-ca-key", client_ca.key.string()});
  const Run late_add = run(args, tmp.path(), "provision-tls-late");
  REQUIRE_MESSAGE(late_add.status == 0, late_add.err);
  CHECK_MESSAGE(late_add.out.find("reloaded gateway.json: it accepts the probe from now on") != std::string::npos,
                late_add.out);
  const Run late_ok = run({kProbe, "selftest", "--config", (late / "probe.json").string(), "--listen", "0.1"},
                          tmp.path(), "selftest-tls-late");
  CHECK_MESSAGE(passed(late_ok.out, "gateway"), late_ok.out);
}

TEST_CASE("selftest: all PASS on a virtual monitor with frames and a real gateway; each fault FAILs with a hint") {
  const std::string name = "ffst" + std::to_string(::getpid() % 100000);
  std::optional<VirtualMonitor> monitor = make_monitor(name);
  TempDir tmp;
  const std::uint16_t port = free_port();
  const fs::path gateway_json = tmp.path() / "gateway.json";
  write_json(gateway_json, gateway_config(tmp.path(), port));
  const fs::path out = tmp.path() / "entrance";
  auto args = provision_args(gateway_json, "entrance", out);
  args.back() = name;  // --interface: the virtual monitor
  REQUIRE(run(args, tmp.path(), "provision").status == 0);
  const json probe = read_json(out / "probe.json");
  CHECK(probe["source"]["interface"] == name);
  const fs::path config = out / "probe.json";
  auto selftest = [&](const fs::path& cfg, const std::string& listen, const std::string& tag, bool inject) {
    return run({kProbe, "selftest", "--config", cfg.string(), "--listen", listen}, tmp.path(), tag,
               inject && monitor ? &*monitor : nullptr);
  };
  auto variant = [&](const std::string& tag, const std::function<void(json&)>& change) {
    json j = probe;
    change(j);
    const fs::path p = tmp.path() / (tag + ".json");
    write_json(p, j);
    return p;
  };

  {
    INFO("gateway down");
    const Run down = selftest(config, "0.5", "down", true);
    CHECK(down.status == 1);
    CHECK_MESSAGE(failed(down.out, "gateway"), down.out);
    CHECK(check_line(down.out, "gateway").find("is footfall-gateway running") != std::string::npos);
    CHECK(down.out.find("summary: FAIL") != std::string::npos);
  }

  Gateway gateway(gateway_json, tmp.path(), port);
  if (monitor) {
    const Run all = selftest(config, "1", "all-pass", true);
    CHECK_MESSAGE(all.status == 0, all.out << all.err);
    for (const char* check : {"interface", "monitor", "capture", "frames", "gateway", "clock", "spool"})
      CHECK_MESSAGE(passed(all.out, check), check << "\n" << all.out);
    CHECK(check_line(all.out, "monitor").find("[method: link type]") != std::string::npos);
    CHECK(check_line(all.out, "frames").find("channels 6 (2437 MHz)") != std::string::npos);
    CHECK(std::regex_search(all.out, std::regex("strongest -4[0-9] dBm, weakest -[4-7][0-9] dBm")));
    CHECK(all.out.find("summary: PASS, all 7 checks passed") != std::string::npos);

    INFO("no frames within a short window");
    const Run quiet = selftest(config, "0.3", "quiet", false);
    CHECK(quiet.status == 1);
    CHECK_MESSAGE(failed(quiet.out, "frames"), quiet.out);
    CHECK(check_line(quiet.out, "frames").find("0 frame(s)") != std::string::npos);
    CHECK(passed(quiet.out, "gateway"));
  } else {
    MESSAGE("the all-PASS and no-frames cases need the virtual monitor: not run");
  }

  {
    INFO("no such interface");
    const Run missing = selftest(variant("missing", [](json& j) { j["source"]["interface"] = "nosuch9"; }), "0.3", "missing", false);
    CHECK(missing.status == 1);
    CHECK_MESSAGE(failed(missing.out, "interface"), missing.out);
    CHECK(check_line(missing.out, "interface").find("hint: interfaces here: ") != std::string::npos);
    CHECK(check_line(missing.out, "frames").starts_with("SKIP"));
    CHECK(passed(missing.out, "gateway"));
  }
  {
    INFO("bad token");
    const Run bad = selftest(variant("bad-token", [](json& j) { j["token"] = "not-the-token"; }), "0.3", "bad-token", true);
    CHECK(bad.status == 1);
    CHECK_MESSAGE(failed(bad.out, "gateway"), bad.out);
    CHECK(check_line(bad.out, "gateway").find("bad_token") != std::string::npos);
  }
  {
    INFO("unwritable spool: its path runs through a regular file, which no user can create a folder in");
    std::ofstream(tmp.path() / "a-file") << "x";
    const Run unwritable = selftest(
        variant("spool", [&](json& j) { j["spool"]["dir"] = (tmp.path() / "a-file" / "spool").string(); }), "0.3",
        "spool", true);
    CHECK(unwritable.status == 1);
    CHECK_MESSAGE(failed(unwritable.out, "spool"), unwritable.out);
    CHECK(check_line(unwritable.out, "spool").find("hint: spool.dir must be") != std::string::npos);
    if (monitor) CHECK(passed(unwritable.out, "frames"));
  }
  {
    INFO("a spool too large for its filesystem");
    const Run huge = selftest(variant("huge", [](json& j) { j["spool"]["max_mb"] = std::int64_t{1} << 40; }), "0.3",
                              "huge", false);
    CHECK_MESSAGE(failed(huge.out, "spool"), huge.out);
  }
}

TEST_CASE("calibrate on a footfall-sim capture: the proposal is the p10 of that phone's signal") {
  TempDir tmp;
  const fs::path capture = first_probe_capture();
  // The phone: the device of truth.json heard most often in this capture (frames tells who sent what).
  const Run frames = run({kProbe, "frames", "--read", capture.string()}, tmp.path(), "frames");
  REQUIRE(frames.status == 0);
  std::set<std::string> phones;
  const json truth = read_json(sim_site() / "truth.json");
  for (const auto& d : truth["devices"])
    for (const auto& m : d["macs"]) phones.insert(m["mac"].get<std::string>());
  std::map<std::string, std::vector<int>> signal;
  std::istringstream lines(frames.out);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line);
    if (phones.contains(j["sa"].get<std::string>()) && !j["rssi_dbm"].is_null())
      signal[j["sa"].get<std::string>()].push_back(j["rssi_dbm"].get<int>());
  }
  REQUIRE_MESSAGE(!signal.empty(), phones.size() << " phones in truth.json, " << frames.out.size() << " bytes of frames");
  const auto loudest = std::max_element(signal.begin(), signal.end(),
                                        [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
  std::vector<int> values = loudest->second;
  REQUIRE(values.size() >= 20);
  std::sort(values.begin(), values.end());
  const std::size_t rank = (values.size() * 10 + 99) / 100;  // nearest rank, computed here independently
  const int expected = values[rank - 1];

  std::string mac = loudest->first;
  std::transform(mac.begin(), mac.end(), mac.begin(), ::toupper);  // the installer may type it in capitals
  const Run cal = run({kProbe, "calibrate", "--read", capture.string(), "--mac", mac}, tmp.path(), "calibrate");
  REQUIRE_MESSAGE(cal.status == 0, cal.out << cal.err);
  CHECK(cal.out.find("walk test of " + loudest->first + ": " + std::to_string(loudest->second.size()) + " frame(s)") !=
        std::string::npos);
  CHECK(cal.out.find("proposed visitor threshold: " + std::to_string(expected) + " dBm") != std::string::npos);
  CHECK(cal.out.find("probe.json: \"presence\": {\"signal_floor_dbm\": " + std::to_string(expected) + "}") !=
        std::string::npos);
  CHECK(std::regex_search(cal.out, std::regex(R"(\n\+\s*\d+s \|[#.]{30}\|\s+\d+ new)")));  // per-second lines

  const Run nobody = run({kProbe, "calibrate", "--read", capture.string(), "--mac", "00:11:22:33:44:55"}, tmp.path(), "nobody");
  CHECK(nobody.status == 1);
  CHECK(nobody.out.find("no proposal") != std::string::npos);
  const Run bad_mac = run({kProbe, "calibrate", "--read", capture.string(), "--mac", "00:11:22"}, tmp.path(), "bad-mac");
  CHECK(bad_mac.status == 2);
}

TEST_CASE("calibrate live on a virtual monitor: per-second lines and the proposal from the injected walk") {
  const std::string name = "ffcal" + std::to_string(::getpid() % 100000);
  std::optional<VirtualMonitor> monitor = make_monitor(name);
  if (!monitor) return;
  TempDir tmp;
  Child cal({kProbe, "calibrate", "--interface", name, "--mac", "02:00:5e:10:00:07", "--duration", "2.5"},
            tmp.path() / "cal.out", tmp.path() / "cal.err");
  REQUIRE(eventually([&] { return read_text(tmp.path() / "cal.err").find("listening on " + name) != std::string::npos || cal.poll(); }, 10s));
  // The walk: 30 frames of the phone at -45 .. -74 dBm on channels 1 and 6, among frames of another phone.
  std::vector<int> walk;
  for (int i = 0; i < 30; ++i) {
    const int rssi = -45 - i;
    walk.push_back(rssi);
    monitor->inject(probe_request(7, static_cast<std::uint16_t>(i), static_cast<std::int8_t>(rssi), i % 2 ? 2412 : 2437));
    monitor->inject(probe_request(8, static_cast<std::uint16_t>(i), -30));
  }
  REQUIRE(cal.wait(15s) == 0);
  const std::string out = read_text(tmp.path() / "cal.out");
  std::sort(walk.begin(), walk.end());
  const int expected = walk[(walk.size() * 10 + 99) / 100 - 1];
  CHECK_MESSAGE(out.find("proposed visitor threshold: " + std::to_string(expected) + " dBm") != std::string::npos, out);
  CHECK(out.find("30 frame(s), 30 with a signal") != std::string::npos);
  CHECK(out.find("channels 1,6") != std::string::npos);
  CHECK(std::regex_search(out, std::regex(R"(\+\s*[12]s \|)")));  // a line each wall second
}
