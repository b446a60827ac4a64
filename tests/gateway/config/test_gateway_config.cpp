// gateway.json: the option table, errors that name the key, duplicate keys, and what a reload applies.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "gateway/config/gateway_config.h"
#include "tests/support/gateway_harness.h"

using namespace footfall;
using namespace footfall::gateway;
using footfall::gateway::testing::TempDir;

namespace {

std::string config_error(std::string_view text) {
  auto r = parse_config(text, "gateway.json");
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
}

}  // namespace

TEST_CASE("config: the brief's example parses, with defaults for what is left out") {
  const auto r = parse_config(R"({ "tenant": "acme", "site": "mall-1",
    "listen": {"address": "127.0.0.1", "port": 7700, "tls": {"cert_file": "", "key_file": "", "client_ca_file": ""}},
    "probes": [{"id": "entrance", "token": "s3cret", "zone": "entrance"}],
    "journal": {"dir": "/var/lib/footfall/journal", "max_mb": 1024, "fsync": "always"},
    "limits": {"max_connections": 1024, "max_frame_bytes": 1048576, "max_decompressed_bytes": 16777216,
               "hello_timeout_s": 10, "idle_timeout_s": 60},
    "log_level": "info" })",
                              "gateway.json");
  REQUIRE(std::holds_alternative<GatewayConfig>(r));
  const auto& c = std::get<GatewayConfig>(r);
  CHECK(c.site == "mall-1");
  CHECK(c.listen_port == 7700);
  REQUIRE(c.probes.size() == 1);
  CHECK(c.find_probe("entrance")->token == "s3cret");
  CHECK(c.find_probe("nobody") == nullptr);
  CHECK(c.clock_tolerance_ms == 2000);
  CHECK_FALSE(c.tls.enabled());
}

TEST_CASE("config: errors name the key path") {
  CHECK(config_error(R"({"journal": {"max_mb": 0}})") == "gateway.json: journal.max_mb: expected a positive integer (at most 16777216)");
  CHECK(config_error(R"({"journal": {"max_mb": "big"}})").starts_with("gateway.json: journal.max_mb: "));
  CHECK(config_error(R"({"listen": {"port": 70000}})") == "gateway.json: listen.port: expected an integer in [0, 65535]");
  CHECK(config_error(R"({"listen": {"tls": {"certfile": "x"}}})") == "gateway.json: listen.tls.certfile: unknown key");
  CHECK(config_error(R"({"limits": 5})") == "gateway.json: limits: expected an object");
  CHECK(config_error(R"({"journal": {"fsync": "sometimes"}})").starts_with("gateway.json: journal.fsync: "));
  CHECK(config_error(R"({"probes": [{"id": "a", "token": "t"}, {"id": "a", "token": "u"}]})")
            .starts_with("gateway.json: probes[1].id: duplicate"));
  CHECK(config_error(R"({"probes": [{"id": "a", "token": "t", "room": 1}]})") == "gateway.json: probes[0].room: unknown key");
  CHECK(config_error(R"({"listen": {"tls": {"cert_file": "c.pem"}}})").starts_with("gateway.json: listen.tls.key_file: "));
  CHECK(config_error(R"({"journal": {"max_mb": 2}, "limits": {"max_frame_bytes": 1048576}})")
            .starts_with("gateway.json: journal.max_mb: must hold"));
  CHECK(config_error("{ nope").starts_with("gateway.json: not valid JSON"));
  CHECK(config_error("{\"limits\": {\"max_connections\": 1e999}}") ==
        "gateway.json: not valid JSON (a number out of range)");  // found by fuzz_config: it threw
  CHECK(config_error("[1]") == "gateway.json: expected a JSON object at the top level");
}

TEST_CASE("config: a key written twice is refused, naming it") {
  CHECK(config_error(R"({"mqtt": {"uri": "tcp://a:1883", "uri": "tcp://b:1883"}})") ==
        "gateway.json: duplicate key 'mqtt.uri'");
  CHECK(config_error(R"({"site": "a", "tenant": "t", "site": "b"})") == "gateway.json: duplicate key 'site'");
  CHECK(config_error(R"({"probes": [{"id": "a", "token": "t"}, {"id": "b", "token": "u", "token": "v"}]})") ==
        "gateway.json: duplicate key 'probes[1].token'");
  CHECK(config_error(R"({"listen": {"tls": {"cert_file": ""}}, "listen": {"port": 7701}})") ==
        "gateway.json: duplicate key 'listen'");
  // The same name in two objects (tls, cert_file; id in each probe) is two keys.
  const auto r = parse_config(R"({"listen": {"tls": {"cert_file": ""}}, "mqtt": {"tls": {"cert_file": ""}},
    "probes": [{"id": "a", "token": "t"}, {"id": "b", "token": "u"}]})", "gateway.json");
  CHECK(std::holds_alternative<GatewayConfig>(r));
}

TEST_CASE("config: publishing keys (mqtt, publish, outbox, privacy, merge) parse, with errors naming the key") {
  const auto r = parse_config(R"({"tenant": "acme", "site": "office-1",
    "mqtt": {"uri": "ssl://broker.example:8883", "username": "gw", "password": "pw",
             "tls": {"ca_file": "/etc/ca.pem", "cert_file": "c.pem", "key_file": "k.pem"}, "client_id": "gw-7"},
    "publish": {"interval_ms": 2000, "max_events": 100},
    "outbox": {"dir": "/data/outbox", "max_mb": 32},
    "privacy": {"key_dir": "/data/keys", "rotation": "7d", "opt_out_file": "/data/optout.txt", "create_keys": true},
    "merge": {"visit_grace_s": 120, "update_interval_s": 30}})",
                              "gateway.json");
  REQUIRE(std::holds_alternative<GatewayConfig>(r));
  const auto& c = std::get<GatewayConfig>(r);
  CHECK(c.mqtt.enabled());
  CHECK(c.mqtt.uri == "ssl://broker.example:8883");
  CHECK(c.mqtt.key_file == "k.pem");
  CHECK(c.mqtt.client_id == "gw-7");
  CHECK(c.publish_interval_ms == 2000);
  CHECK(c.publish_max_events == 100);
  CHECK(c.probes_interval_ms == 30000);
  CHECK(c.outbox_dir == "/data/outbox");
  CHECK(c.outbox_max_mb == 32);
  CHECK(c.key_rotation_s == 7 * 86400);
  CHECK(c.create_keys);
  CHECK(c.visit_grace_s == 120);
  CHECK(c.update_interval_s == 30);

  const auto defaults = std::get<GatewayConfig>(parse_config("{}", "gateway.json"));
  CHECK_FALSE(defaults.mqtt.enabled());  // receive only
  CHECK(defaults.key_rotation_s == 86400);
  CHECK(defaults.publish_interval_ms == 5000);
  CHECK(defaults.publish_max_events == 500);

  CHECK(config_error(R"({"tenant": "a", "site": "b", "mqtt": {"uri": "http://x"}})") ==
        "gateway.json: mqtt.uri: expected tcp://host:port or ssl://host:port");
  CHECK(config_error(R"({"mqtt": {"username": "gw"}})") == "gateway.json: mqtt.uri: required when other mqtt keys are set");
  CHECK(config_error(R"({"tenant": "a b", "site": "s", "mqtt": {"uri": "tcp://127.0.0.1:1883"}})").starts_with(
      "gateway.json: tenant: "));
  CHECK(config_error(R"({"tenant": "a", "site": "s", "mqtt": {"uri": "tcp://h:1", "tls": {"ca_file": "x"}}})")
            .starts_with("gateway.json: mqtt.tls: "));
  CHECK(config_error(R"({"tenant": "a", "site": "s", "mqtt": {"uri": "tcp://h:1", "password": "x"}})")
            .starts_with("gateway.json: mqtt.username: "));
  CHECK(config_error(R"({"privacy": {"rotation": "30m"}})").starts_with("gateway.json: privacy.rotation: "));
  CHECK(config_error(R"({"privacy": {"rotation": 86400}})").starts_with("gateway.json: privacy.rotation: "));
  CHECK(config_error(R"({"publish": {"max_events": 0}})").starts_with("gateway.json: publish.max_events: "));
  CHECK(config_error(R"({"outbox": {"max_mb": 1}})").starts_with("gateway.json: outbox.max_mb: "));
  CHECK(config_error(R"({"mqtt": {"tls": {"verify": false}}})") == "gateway.json: mqtt.tls.verify: unknown key");
  CHECK(config_error(R"({"merge": {"visit_grace_s": -1}})").starts_with("gateway.json: merge.visit_grace_s: "));

  CHECK(parse_duration_s("1d") == 86400);
  CHECK(parse_duration_s("24h") == 86400);
  CHECK(parse_duration_s("90m") == 5400);
  CHECK(parse_duration_s("3600") == 3600);
  CHECK_FALSE(parse_duration_s("1w"));
  CHECK_FALSE(parse_duration_s("d"));
}

TEST_CASE("config: the options table lists every key") {
  const auto table = options_table();
  for (const char* key : {"listen.port", "listen.tls.client_ca_file", "journal.max_mb", "limits.max_decompressed_bytes",
                          "clock.tolerance_ms", "health.interval_s", "probes", "mqtt.uri", "mqtt.tls.ca_file",
                          "mqtt.client_id", "publish.interval_ms", "publish.max_events", "outbox.dir", "outbox.max_mb",
                          "privacy.key_dir", "privacy.rotation", "privacy.opt_out_file", "merge.visit_grace_s"})
    CHECK(table.find(key) != std::string::npos);
}

TEST_CASE("config reload: every key of the table has a reload rule; probes, TLS files and limits apply") {
  // Every key printed by --help-config has a rule: one without would be neither applied nor reported.
  std::istringstream lines(options_table());
  std::size_t keys = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("  ")) continue;
    const std::string key = line.substr(2, line.find(" | ") - 2);
    ++keys;
    INFO(key);
    REQUIRE(on_reload(key).has_value());
    CHECK(line.ends_with(" [reload]") == (on_reload(key) == OnReload::applies));
  }
  CHECK(keys > 40);
  for (const char* key : {"probes", "listen.tls.cert_file", "listen.tls.key_file", "listen.tls.client_ca_file",
                          "listen.tls.client_cert_names_probe",
                          "limits.idle_timeout_s", "limits.hello_timeout_s", "limits.max_connections", "log_level"})
    CHECK_MESSAGE(on_reload(key) == OnReload::applies, key);
  for (const char* key : {"listen.address", "listen.port", "journal.dir", "journal.max_mb", "mqtt.uri",
                          "mqtt.password", "outbox.dir", "privacy.key_dir", "merge.update_interval_s", "tenant", "site",
                          "limits.max_frame_bytes", "clock.window"})
    CHECK_MESSAGE(on_reload(key) == OnReload::needs_restart, key);
}

TEST_CASE("config reload: changes are listed by key; the reloaded config keeps what needs a restart") {
  const auto base = std::get<GatewayConfig>(parse_config(R"({"tenant": "acme", "site": "mall-1",
    "probes": [{"id": "entrance", "token": "a", "zone": "entrance"}], "journal": {"dir": "/var/j"}})", "gateway.json"));
  CHECK(config_changes(base, base).empty());
  // A default written out is no change.
  const auto same = std::get<GatewayConfig>(parse_config(R"({"tenant": "acme", "site": "mall-1",
    "listen": {"port": 7700}, "probes": [{"id": "entrance", "token": "a", "zone": "entrance"}],
    "journal": {"dir": "/var/j"}, "privacy": {"rotation": "24h"}})", "gateway.json"));
  CHECK(config_changes(base, same).empty());

  const auto next = std::get<GatewayConfig>(parse_config(R"({"tenant": "acme", "site": "mall-1",
    "listen": {"port": 7701}, "probes": [{"id": "entrance", "token": "b", "zone": "entrance"},
                                         {"id": "lobby", "token": "c", "zone": "lobby"}],
    "journal": {"dir": "/var/k"}, "limits": {"idle_timeout_s": 5}, "log_level": "debug"})", "gateway.json"));
  std::map<std::string, OnReload> changes;
  for (const ConfigChange& c : config_changes(base, next)) changes.emplace(c.key, c.effect);
  CHECK(changes == std::map<std::string, OnReload>{{"listen.port", OnReload::needs_restart},
                                                   {"probes", OnReload::applies},
                                                   {"journal.dir", OnReload::needs_restart},
                                                   {"limits.idle_timeout_s", OnReload::applies},
                                                   {"log_level", OnReload::applies}});
  const GatewayConfig applied = reloaded_config(base, next);
  CHECK(applied.probes == next.probes);
  CHECK(applied.idle_timeout_s == 5);
  CHECK(applied.log_level == "debug");
  CHECK(applied.listen_port == 7700);          // needs restart: the running value
  CHECK(applied.journal_dir == "/var/j");
}
