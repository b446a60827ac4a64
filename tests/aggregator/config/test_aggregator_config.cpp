// aggregator.json: every key checked, errors name the key.
#include <doctest/doctest.h>

#include <variant>

#include "aggregator/aggregate/thresholds.h"
#include "aggregator/config/aggregator_config.h"
#include "aggregator/publish/figures_publisher.h"

using namespace footfall::aggregator;

namespace {

std::string error_of(const std::string& text) {
  const ThresholdCheck check = [](const nlohmann::json& j) -> std::optional<std::string> {
    try {
      (void)SiteThresholds::from_json(j);
      return std::nullopt;
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
  };
  const auto r = parse_config(text, "aggregator.json", check);
  const auto* e = std::get_if<std::string>(&r);
  return e ? *e : std::string();
}

}  // namespace

TEST_CASE("a full config") {
  const auto r = parse_config(R"({
    "mqtt": {"uri": "ssl://broker:8883", "username": "agg", "password": "p", "client_id": "agg-1",
             "share_group": "central", "tls": {"ca_file": "/ca.crt", "verify_server": false}},
    "store": {"path": "/tmp/a.db"},
    "ingest": {"queue_capacity": 8},
    "publish": {"interval_s": 30},
    "tenants": {"acme": {"sites": {"mall-7": {"utc_offset_min": 120, "thresholds": {"visitor_min_dwell_s": 240}}}}},
    "log_level": "debug"})", "aggregator.json");
  REQUIRE(std::holds_alternative<AggregatorConfig>(r));
  const auto& c = std::get<AggregatorConfig>(r);
  CHECK(c.mqtt.client_id == "agg-1");
  CHECK(c.mqtt.share_group == "central");
  CHECK_FALSE(c.mqtt.verify_server);
  CHECK(c.queue_capacity == 8);
  CHECK(c.publish_interval_s == 30);
  CHECK(c.mqtt_persist_dir() == "/tmp/a.db.mqtt");
  REQUIRE(c.find_site("acme", "mall-7"));
  CHECK(c.only_tenant() == "acme");
  const SiteThresholds thr = site_thresholds(c, "acme", "mall-7");
  CHECK(thr.utc_offset_min == 120);
  CHECK(thr.visitor_min_dwell_s == doctest::Approx(240));
  CHECK(site_thresholds(c, "acme", "elsewhere").utc_offset_min == 0);
}

TEST_CASE("errors name the key") {
  CHECK(error_of(R"({"mqtt": {"urx": ""}})") == "aggregator.json: mqtt.urx: unknown key");
  CHECK(error_of(R"({"mqtt": {"uri": "http://x"}})").starts_with("aggregator.json: mqtt.uri: "));
  CHECK(error_of(R"({"publish": {"interval_s": 0}})").starts_with("aggregator.json: publish.interval_s: "));
  CHECK(error_of(R"({"mqtt": {"share_group": "a/b"}})").starts_with("aggregator.json: mqtt.share_group: "));
  // Several ingest sessions split a share group's feed and need a store that several writers can use.
  CHECK(error_of(R"({"ingest": {"sessions": 4}})").starts_with("aggregator.json: ingest.sessions: more than 1 needs mqtt.share_group"));
  CHECK(error_of(R"({"ingest": {"sessions": 4}, "mqtt": {"share_group": "g"}})")
            .starts_with("aggregator.json: ingest.sessions: more than 1 needs store.backend"));
  CHECK(error_of(R"({"ingest": {"sessions": 0}})").starts_with("aggregator.json: ingest.sessions: "));
  CHECK(error_of(R"({"store": 3})") == "aggregator.json: store: expected an object");
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"utc_offset_min": 900}}}}})")
            .starts_with("aggregator.json: tenants.acme.sites.m.utc_offset_min: "));
  CHECK(error_of(R"({"tenants": {"acme": {"sitez": {}}}})") == "aggregator.json: tenants.acme.sitez: unknown key");
  const std::string thr = error_of(R"({"tenants": {"acme": {"sites": {"m": {"thresholds": {"alert_dropp": 1}}}}}})");
  CHECK(thr.starts_with("aggregator.json: tenants.acme.sites.m.thresholds: "));
  CHECK(thr.find("alert_dropp") != std::string::npos);
  CHECK(error_of("{nope").starts_with("aggregator.json: not valid JSON"));
  CHECK(error_of("{\"queue_capacity\": -1e400}") == "aggregator.json: not valid JSON (a number out of range)");
  CHECK(error_of(R"({"mqtt": {"uri": "tcp://h:1", "password": "x"}})") ==
        "aggregator.json: mqtt.username: required with mqtt.password");
  CHECK(options_table().find("mqtt.share_group") != std::string::npos);
}

TEST_CASE("a key written twice is refused, naming it") {
  CHECK(error_of(R"({"mqtt": {"uri": "tcp://a:1883", "uri": "tcp://b:1883"}})") ==
        "aggregator.json: duplicate key 'mqtt.uri'");
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"utc_offset_min": 60}, "m": {}}}}})") ==
        "aggregator.json: duplicate key 'tenants.acme.sites.m'");
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"thresholds": {"visitor_min_dwell_s": 1,
        "visitor_min_dwell_s": 2}}}}}})") ==
        "aggregator.json: duplicate key 'tenants.acme.sites.m.thresholds.visitor_min_dwell_s'");
  // The same name under two sites is two keys.
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"utc_offset_min": 60}, "n": {"utc_offset_min": 60}}}}})")
            .empty());
}

TEST_CASE("residents.min_hours: every site's default, a site's thresholds override it, a bad value names the key") {
  const auto r = parse_config(R"({"residents": {"min_hours": 6},
    "tenants": {"acme": {"sites": {"mall-7": {"thresholds": {"resident_min_hours": 2}}, "office-2": {}}}}})",
                              "aggregator.json");
  REQUIRE(std::holds_alternative<AggregatorConfig>(r));
  const auto& c = std::get<AggregatorConfig>(r);
  CHECK(c.resident_min_hours == doctest::Approx(6));
  CHECK(site_thresholds(c, "acme", "mall-7").resident_min_hours == doctest::Approx(2));
  CHECK(site_thresholds(c, "acme", "office-2").resident_min_hours == doctest::Approx(6));
  CHECK(site_thresholds(c, "acme", "not-listed").resident_min_hours == doctest::Approx(6));
  CHECK(site_thresholds(AggregatorConfig{}, "acme", "x").resident_min_hours == doctest::Approx(4));

  CHECK(error_of(R"({"residents": {"min_hours": 30}})") ==
        "aggregator.json: residents.min_hours: expected a number in [0, 24]");
  CHECK(error_of(R"({"residents": {"min_hours": -0.5}})").starts_with("aggregator.json: residents.min_hours: "));
  CHECK(error_of(R"({"residents": {"min_hours": "4"}})").starts_with("aggregator.json: residents.min_hours: "));
  CHECK(error_of(R"({"residents": {"min_hourz": 4}})") == "aggregator.json: residents.min_hourz: unknown key");
  const std::string site =
      error_of(R"({"tenants": {"acme": {"sites": {"m": {"thresholds": {"resident_min_hours": 25}}}}}})");
  CHECK(site.starts_with("aggregator.json: tenants.acme.sites.m.thresholds: "));
  CHECK(site.find("resident_min_hours") != std::string::npos);
  CHECK(options_table().find("residents.min_hours") != std::string::npos);
}

TEST_CASE("a site's time zone: a tz database name, or the fixed utc_offset_min, not both") {
  const auto r = parse_config(R"({"tenants": {"acme": {"sites": {"paris": {"time_zone": "Europe/Paris"},
      "fixed": {"utc_offset_min": 60}}}}})", "aggregator.json");
  REQUIRE(std::holds_alternative<AggregatorConfig>(r));
  const auto& c = std::get<AggregatorConfig>(r);
  CHECK(site_thresholds(c, "acme", "paris").time_zone == "Europe/Paris");
  CHECK(site_thresholds(c, "acme", "fixed").time_zone.empty());
  CHECK(site_thresholds(c, "acme", "fixed").utc_offset_min == 60);
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"time_zone": "Europe/Pariss"}}}}})")
            .starts_with("aggregator.json: tenants.acme.sites.m.time_zone: unknown time zone \"Europe/Pariss\""));
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"time_zone": 1}}}}})")
            .starts_with("aggregator.json: tenants.acme.sites.m.time_zone: "));
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"time_zone": "Europe/Paris", "utc_offset_min": 60}}}}})")
            .starts_with("aggregator.json: tenants.acme.sites.m.utc_offset_min: give either time_zone or"));
  CHECK(options_table().find("time_zone") != std::string::npos);
  // Beside and inside the thresholds: one way only.
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"time_zone": "Europe/Paris",
        "thresholds": {"utc_offset_min": 60}}}}}})")
            .starts_with("aggregator.json: tenants.acme.sites.m.thresholds.utc_offset_min: the site gives a time_zone"));
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"utc_offset_min": 60,
        "thresholds": {"time_zone": "Europe/Paris"}}}}}})")
            .starts_with("aggregator.json: tenants.acme.sites.m.thresholds.time_zone: "));
  CHECK(error_of(R"({"tenants": {"acme": {"sites": {"m": {"time_zone": "Europe/Paris",
        "thresholds": {"time_zone": "Europe/Berlin"}}}}}})")
            .starts_with("aggregator.json: tenants.acme.sites.m.thresholds.time_zone: differs"));
  const auto inside = parse_config(R"({"tenants": {"acme": {"sites": {"m": {"thresholds": {"time_zone": "Asia/Tokyo"}}}}}})",
                                   "aggregator.json");
  REQUIRE(std::holds_alternative<AggregatorConfig>(inside));
  CHECK(site_thresholds(std::get<AggregatorConfig>(inside), "acme", "m").time_zone == "Asia/Tokyo");
}
