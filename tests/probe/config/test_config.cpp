// probe.json parsing: every error names its key path; the options table agrees with the defaults.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "probe/config/probe_config.h"

using footfall::probe::config::ConfigResult;
using footfall::probe::config::parse_probe_config;
using footfall::probe::config::ProbeConfig;

namespace {

const char* kMinimal = R"({"probe_id": "entrance", "token": "s3cret", "source": {"file": "x.pcap"}})";

std::string error_of(const std::string& text) {
  const ConfigResult r = parse_probe_config(text, "probe.json");
  CHECK_FALSE(r.config.has_value());
  return r.error;
}

// The minimal config with one key (dotted path) replaced by a JSON value.
std::string with(const std::string& path, const nlohmann::json& value) {
  nlohmann::json doc = nlohmann::json::parse(kMinimal);
  nlohmann::json* at = &doc;
  std::string rest = path;
  for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
    at = &(*at)[rest.substr(0, dot)];
    rest.erase(0, dot + 1);
  }
  (*at)[rest] = value;
  return doc.dump();
}

}  // namespace

TEST_CASE("config: the brief's full probe.json parses, comments allowed") {
  const char* text = R"({ "probe_id": "entrance", "token": "s3cret",
    "source": {"interface": "wlan0mon", "monitor": true, "snaplen": 512, "buffer_kb": 4096, "filter": "type mgt"},
    "gateway": {"host": "gw.local", "port": 7701, "tls": {"ca_file": "/etc/ca.pem", "cert_file": "", "key_file": "", "server_name": "gw"}},
    "spool": {"dir": "/tmp/spool", "max_mb": 8, "fsync": "always"},  // durable
    "presence": {"signal_floor_dbm": -85, "departure_silence_s": 120, "update_interval_s": 30, "max_devices": 5000},
    "batch": {"max_age_ms": 500, "max_records": 100, "send_sightings": true},
    "uplink": {"window": 8, "backoff_initial_ms": 250, "backoff_max_ms": 10000, "connect_timeout_ms": 3000},
    "heartbeat_s": 5, "drain_timeout_s": 7, "log_level": "debug" })";
  const ConfigResult r = parse_probe_config(text, "probe.json");
  REQUIRE_MESSAGE(r.config, r.error);
  const ProbeConfig& c = *r.config;
  CHECK(c.source.interface == "wlan0mon");
  CHECK(c.gateway.host == "gw.local");
  CHECK(c.gateway.port == 7701);
  CHECK(c.gateway.tls.ca_file == "/etc/ca.pem");
  CHECK(c.gateway.tls.server_name == "gw");
  CHECK(c.spool.max_mb == 8);
  CHECK(c.spool.fsync == footfall::probe::spool::FsyncMode::always);
  CHECK(c.presence.signal_floor_dbm == -85);
  CHECK(c.presence.departure_silence_s == 120);
  CHECK(c.batch.send_sightings);
  CHECK(c.uplink.window == 8);
  CHECK(c.uplink.ack_timeout_ms == 30000);  // not given: default
  CHECK(c.heartbeat_s == 5);
  CHECK(c.drain_timeout_s == 7);
  CHECK(c.log_level == "debug");
  CHECK_FALSE(c.replaying_file());
}

TEST_CASE("config: the options table's defaults are ProbeConfig's defaults") {
  ProbeConfig from_table;
  ProbeConfig defaults;
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& o : footfall::probe::config::probe_options()) {
    CHECK_FALSE(o.help.empty());
    if (o.default_text.empty()) continue;  // required
    nlohmann::json* at = &doc;
    std::string key(o.key);
    for (auto dot = key.find('.'); dot != std::string::npos; dot = key.find('.')) {
      at = &(*at)[key.substr(0, dot)];
      key.erase(0, dot + 1);
    }
    (*at)[key] = nlohmann::json::parse(o.default_text);
  }
  doc["probe_id"] = "p";
  doc["token"] = "t";
  doc["source"]["file"] = "f.pcap";  // the one of interface / file the table leaves empty
  const ConfigResult r = parse_probe_config(doc.dump(), "probe.json");
  REQUIRE_MESSAGE(r.config, r.error);
  defaults.probe_id = "p";
  defaults.token = "t";
  defaults.source.file = "f.pcap";
  CHECK(*r.config == defaults);
  CHECK(footfall::probe::config::probe_options_help().find("spool.max_mb") != std::string::npos);
}

TEST_CASE("config: errors name the key path") {
  CHECK(error_of(with("spool.max_mb", 0)) == "probe.json: spool.max_mb: expected integer >= 2");
  CHECK(error_of(with("spool.max_mb", -3)) == "probe.json: spool.max_mb: expected integer >= 2");
  CHECK(error_of(with("spool.max_mb", "64")) == "probe.json: spool.max_mb: expected integer >= 2");
  CHECK(error_of(with("spool.max_mb", 1.5)) == "probe.json: spool.max_mb: expected integer >= 2");
  // One batch can be 1 MiB: a 1 MiB spool could never hold it.
  CHECK(error_of(with("spool.max_mb", 1)) == "probe.json: spool.max_mb: expected integer >= 2");
  CHECK(error_of(with("gateway.port", 70000)) == "probe.json: gateway.port: expected integer from 1 to 65535");
  CHECK(error_of(with("presence.signal_floor_dbm", 3)).starts_with("probe.json: presence.signal_floor_dbm: "));
  CHECK(error_of(with("batch.send_sightings", 1)) == "probe.json: batch.send_sightings: expected true or false");
  CHECK(error_of(with("gateway.tls.ca_file", 5)) == "probe.json: gateway.tls.ca_file: expected a string");
  CHECK(error_of(with("spool.fsync", "sometimes")) ==
        "probe.json: spool.fsync: expected one of \"always\" \"group\" \"never\"");
  CHECK(error_of(with("source.speed", -1)).starts_with("probe.json: source.speed: expected number"));
  CHECK(error_of(with("uplink.window", 0)).starts_with("probe.json: uplink.window: "));
}

TEST_CASE("config: unknown keys, wrong shapes and missing keys") {
  CHECK(error_of(with("spool.max_gb", 1)).starts_with("probe.json: spool.max_gb: unknown key"));
  CHECK(error_of(with("gateway.tls.verify", false)).starts_with("probe.json: gateway.tls.verify: unknown key"));
  CHECK(error_of(with("colour", "blue")).starts_with("probe.json: colour: unknown key"));
  CHECK(error_of(with("spool", 5)) == "probe.json: spool: expected an object");
  CHECK(error_of(with("gateway.tls", "yes")) == "probe.json: gateway.tls: expected an object");
  CHECK(error_of(R"({"token": "t", "source": {"file": "x"}})") == "probe.json: probe_id: required");
  CHECK(error_of(R"({"probe_id": "p", "source": {"file": "x"}})") == "probe.json: token: required");
  CHECK(error_of(R"({"probe_id": "p", "token": "t"})") ==
        "probe.json: source: one of source.interface or source.file is required");
  CHECK(error_of(with("source.interface", "wlan0")) ==
        "probe.json: source.file: cannot be used together with source.interface");
  CHECK(error_of(with("probe_id", std::string(65, 'x'))) == "probe.json: probe_id: at most 64 bytes");
  CHECK(error_of(with("gateway.tls.server_name", "gw")) ==
        "probe.json: gateway.tls.ca_file: required when gateway.tls is used");
  CHECK(error_of(with("uplink.backoff_initial_ms", 60000)) ==
        "probe.json: uplink.backoff_initial_ms: must not exceed uplink.backoff_max_ms");
  CHECK(error_of("{\"probe_id\": ") == "probe.json: not valid JSON");
  CHECK(error_of("{\"probe_id\": 2E2222222222}") == "probe.json: not valid JSON (a number out of range)");
  CHECK(error_of("[1, 2]") == "probe.json: expected a JSON object at the top");
  const ConfigResult missing = footfall::probe::config::load_probe_config("/nonexistent/probe.json");
  CHECK(missing.error == "/nonexistent/probe.json: cannot open: No such file or directory");
}

TEST_CASE("config: a key written twice is refused, naming it") {
  CHECK(error_of(R"({"probe_id": "p", "token": "t", "source": {"file": "x"}, "spool": {"max_mb": 8, "max_mb": 9}})") ==
        "probe.json: duplicate key 'spool.max_mb'");
  CHECK(error_of(R"({"probe_id": "p", "token": "t", "probe_id": "q", "source": {"file": "x"}})") ==
        "probe.json: duplicate key 'probe_id'");
  CHECK(error_of(R"({"probe_id": "p", "token": "t", "source": {"file": "x"}, "gateway": {"tls": {"ca_file": "a"},
        "tls": {"ca_file": "a"}}})") == "probe.json: duplicate key 'gateway.tls'");
}

TEST_CASE("config: presence section to tracker settings") {
  ProbeConfig::Presence p;
  p.signal_floor_dbm = -80;
  p.departure_silence_s = 6;
  p.update_interval_s = 0;
  const auto c = footfall::probe::config::presence_config(p);
  CHECK(c.signal_floor_dbm == -80);
  CHECK(c.departure_silence_ns == 6'000'000'000);
  CHECK(c.update_interval_ns == 0);
  CHECK(c.reorder_tolerance_ns == 3'000'000'000);  // below the silence, as the tracker requires
  CHECK(footfall::probe::presence::validate(c).empty());
}

TEST_CASE("config: device linking keys (presence.link_addresses, presence.link_window_s)") {
  CHECK(error_of(with("presence.link_addresses", 1)) == "probe.json: presence.link_addresses: expected true or false");
  CHECK(error_of(with("presence.link_window_s", 0)) ==
        "probe.json: presence.link_window_s: expected integer from 1 to 86400");
  // On by default: the gateway merges by device (wire version 3).
  const ConfigResult by_default = parse_probe_config(kMinimal, "probe.json");
  REQUIRE_MESSAGE(by_default.config, by_default.error);
  const auto linked = footfall::probe::config::presence_config(by_default.config->presence);
  CHECK(linked.link.link_addresses);
  const ConfigResult off = parse_probe_config(with("presence.link_addresses", false), "probe.json");
  REQUIRE_MESSAGE(off.config, off.error);
  CHECK_FALSE(footfall::probe::config::presence_config(off.config->presence).link.link_addresses);
  CHECK(linked.link.window_ns == 300'000'000'000);
  // A window beyond the departure silence is cut to it: a link must not revive a departed device.
  ProbeConfig::Presence p = by_default.config->presence;
  p.link_window_s = 900;
  CHECK(footfall::probe::config::presence_config(p).link.window_ns == p.departure_silence_s * 1'000'000'000);
  p.link_window_s = 120;
  CHECK(footfall::probe::config::presence_config(p).link.window_ns == 120'000'000'000);
}
