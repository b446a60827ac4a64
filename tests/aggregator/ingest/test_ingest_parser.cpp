// The feed parser on the documented examples (golden payloads) and on malformed ones.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <variant>

#include <nlohmann/json.hpp>

#include "aggregator/ingest/iso_time.h"
#include "aggregator/ingest/payload_parser.h"

using namespace footfall::aggregator;

namespace {

std::string example(const std::string& name) {
  std::ifstream in(std::string(FOOTFALL_SOURCE_DIR) + "/docs/schema/examples/" + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

IngestBatch ok(const ParseResult& r) {
  if (const auto* e = std::get_if<ParseError>(&r)) FAIL("unexpected parse error: " << e->reason << ": " << e->detail);
  return std::get<IngestBatch>(r);
}

std::string reason_of(const ParseResult& r) {
  const auto* e = std::get_if<ParseError>(&r);
  return e ? e->reason : std::string("parsed");
}

}  // namespace

TEST_CASE("ISO-8601 timestamps and dates") {
  CHECK(parse_iso8601_utc("2024-05-01T10:15:05.010Z") == 1714558505010);
  CHECK(parse_iso8601_utc("2024-05-01T10:15:05Z") == 1714558505000);
  CHECK(parse_iso8601_utc("2024-05-01T10:15:05.123456789Z") == 1714558505123);
  CHECK(parse_iso8601_utc("1969-12-31T23:59:59.999Z") == -1);
  CHECK_FALSE(parse_iso8601_utc("2024-05-01T10:15:05.010"));
  CHECK_FALSE(parse_iso8601_utc("2024-02-30T10:15:05Z"));
  CHECK_FALSE(parse_iso8601_utc("2024-05-01 10:15:05Z"));
  CHECK_FALSE(parse_iso8601_utc("2024-05-01T24:00:00Z"));
  CHECK(format_iso8601_utc(1714558505010) == "2024-05-01T10:15:05.010Z");
  CHECK(format_iso8601_utc(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(parse_date_utc("2024-02-29") == 1709164800000);
  CHECK_FALSE(parse_date_utc("2023-02-29"));
  for (TimeMs t : {TimeMs{0}, TimeMs{951782400000}, TimeMs{4102444799999}})
    CHECK(parse_iso8601_utc(format_iso8601_utc(t)) == t);
}

TEST_CASE("topics") {
  const auto a = parse_topic("footfall/v1/acme/mall-7/visits");
  REQUIRE(a);
  CHECK(a->tenant == "acme");
  CHECK(a->site == "mall-7");
  CHECK(a->kind == FeedKind::visits);
  CHECK(parse_topic("footfall/v1/acme/mall-7/sales")->kind == FeedKind::sales);
  CHECK_FALSE(parse_topic("footfall/v1/acme/mall-7/metrics/day"));
  CHECK_FALSE(parse_topic("footfall/v1/acme/visits"));
  CHECK_FALSE(parse_topic("footfall/v2/acme/mall-7/visits"));
  CHECK_FALSE(parse_topic("footfall/v1/ac me/mall-7/visits"));
  CHECK(reason_of(parse_payload("other/topic", "{}")) == "bad_topic");
}

TEST_CASE("golden: the visits example") {
  const IngestBatch b = ok(parse_payload("footfall/v1/acme/mall-7/visits", example("visits.json")));
  CHECK(b.kind == FeedKind::visits);
  CHECK(b.batch_id == "mall-7-1714550000-1042");
  CHECK(b.seq == 1042);
  CHECK(b.sent_at == *parse_iso8601_utc("2024-05-01T10:15:05.000Z"));
  REQUIRE(b.visits.size() == 1);
  const Visit& v = b.visits[0];
  CHECK(v.tenant == "acme");
  CHECK(v.site == "mall-7");
  CHECK(v.visit_id == "5d2a8f0e3c9b47a1b6e04f7d9c2a13e8");
  CHECK(v.device == "9f86d081884c7d659a2feaa0c55ad015");
  CHECK(v.key_epoch == 3);
  CHECK(v.arrival == *parse_iso8601_utc("2024-05-01T10:00:00.123Z"));
  CHECK(v.departure == *parse_iso8601_utc("2024-05-01T10:15:00.623Z"));
  CHECK(v.dwell_s == doctest::Approx(900.5));
  CHECK(v.zones == std::vector<std::string>{"entrance", "food-court"});
  CHECK(v.entry_zone == "entrance");
  CHECK(v.exit_zone == "food-court");
  REQUIRE(v.strongest_zone.size() == 2);
  CHECK(v.strongest_zone[1].from == *parse_iso8601_utc("2024-05-01T10:05:00.000Z"));
  CHECK(v.strongest_zone[1].zone == "food-court");
  REQUIRE(v.probes.size() == 2);
  CHECK(v.probes[1].probe == "probe-04");
  CHECK(v.probes[1].frames == 118);
  CHECK(v.probes[1].rssi_max == -44);
  CHECK(v.probes[1].rssi_mean == doctest::Approx(-57.25));
  CHECK(v.probes[0].last_seen == *parse_iso8601_utc("2024-05-01T10:04:59.000Z"));
  CHECK(v.randomized);
  CHECK(v.fingerprint == "3c9683017f9e4bf33d0fbedd26bf143f");
}

TEST_CASE("golden: the presence, probes and sales examples") {
  const IngestBatch p = ok(parse_payload("footfall/v1/acme/mall-7/presence", example("presence.json")));
  CHECK(p.batch_id == "mall-7-1714550000-1043");
  CHECK(p.presence_changes == 2);
  REQUIRE(p.occupancy);
  CHECK(p.occupancy->at == *parse_iso8601_utc("2024-05-01T10:15:05.000Z"));
  CHECK(p.occupancy->total == 37);
  CHECK(p.occupancy->zones == std::map<std::string, std::int64_t>{{"entrance", 9}, {"food-court", 28}});

  const IngestBatch h = ok(parse_payload("footfall/v1/acme/mall-7/probes", example("probes.json")));
  REQUIRE(h.probes.size() == 2);
  CHECK(h.probes[0].probe == "probe-01");
  CHECK(h.probes[0].connected);
  CHECK_FALSE(h.probes[1].connected);
  CHECK(h.probes[1].last_heartbeat == *parse_iso8601_utc("2024-05-01T10:11:02.000Z"));
  CHECK(nlohmann::json::parse(h.probes[1].item_json)["capture_drops"] == 12);
  CHECK(nlohmann::json::parse(h.gateway_json)["publisher"]["republished"] == 3);

  const IngestBatch s = ok(parse_payload("footfall/v1/acme/mall-7/sales", example("sales.json")));
  CHECK(s.kind == FeedKind::sales);
  REQUIRE(s.sales.size() == 2);
  CHECK(s.sales[0].sale_id == "R-0001042");
  CHECK(s.sales[0].amount == doctest::Approx(129.9));
  CHECK(s.sales[0].tenant == "acme");
}

TEST_CASE("presence with no occupancy yet, visit without visit_id, unknown members where the schema allows them") {
  auto j = nlohmann::json::parse(example("presence.json"));
  j["occupancy"] = nullptr;
  const IngestBatch p = ok(parse_payload("footfall/v1/acme/mall-7/presence", j.dump()));
  CHECK_FALSE(p.occupancy);
  j["future_member"] = {1, 2};  // presence.schema.json: additionalProperties false
  CHECK(reason_of(parse_payload("footfall/v1/acme/mall-7/presence", j.dump())) == "unknown_member");
  auto s = nlohmann::json::parse(example("sales.json"));
  s["future_member"] = {1, 2};  // sales.schema.json: additionalProperties true
  s["sales"][0]["till"] = "T-4";
  CHECK(ok(parse_payload("footfall/v1/acme/mall-7/sales", s.dump())).sales.size() == 2);
  // A sale's time may carry the till's offset; other times of the feed stay UTC.
  s["sales"][0]["at"] = "2026-11-25T10:15:00.000+01:00";
  CHECK(ok(parse_payload("footfall/v1/acme/mall-7/sales", s.dump())).sales.at(0).at ==
        *parse_iso8601_utc("2026-11-25T09:15:00.000Z"));
  s["sales"][0]["at"] = "2026-11-25T10:15:00.000+01:00:00";
  CHECK(reason_of(parse_payload("footfall/v1/acme/mall-7/sales", s.dump())) == "bad_timestamp");
  s["sales"][0]["at"] = "2026-11-25T10:15:00.000+1:00";
  CHECK(reason_of(parse_payload("footfall/v1/acme/mall-7/sales", s.dump())) == "bad_timestamp");
  s["sales"][0]["at"] = "2026-11-25T10:15:00.000+01:70";
  CHECK(reason_of(parse_payload("footfall/v1/acme/mall-7/sales", s.dump())) == "bad_timestamp");

  auto v = nlohmann::json::parse(example("visits.json"));
  v["visits"][0].erase("visit_id");
  v["visits"][0]["fingerprint"] = nullptr;
  const IngestBatch b = ok(parse_payload("footfall/v1/acme/mall-7/visits", v.dump()));
  CHECK(b.visits[0].visit_id == "v0-9f86d081884c7d659a2feaa0c55ad015-3-" + std::to_string(b.visits[0].arrival));
  CHECK(b.visits[0].fingerprint.empty());
}

TEST_CASE("malformed payloads: a reason each, never an exception") {
  const std::string topic = "footfall/v1/acme/mall-7/visits";
  const auto good = nlohmann::json::parse(example("visits.json"));
  auto with = [&](auto edit) {
    auto j = good;
    edit(j);
    return parse_payload(topic, j.dump());
  };
  CHECK(reason_of(parse_payload(topic, "")) == "not_json");
  CHECK(reason_of(parse_payload(topic, "{\"batch_id\":")) == "not_json");
  CHECK(reason_of(parse_payload(topic, "[1,2]")) == "not_object");
  CHECK(reason_of(parse_payload(topic, std::string(100, ' '), 10)) == "too_large");
  CHECK(reason_of(with([](auto& j) { j.erase("batch_id"); })) == "missing_member");
  CHECK(reason_of(with([](auto& j) { j["batch_id"] = ""; })) == "bad_pattern");
  CHECK(reason_of(with([](auto& j) { j["seq"] = 0; })) == "out_of_range");
  CHECK(reason_of(with([](auto& j) { j["seq"] = "7"; })) == "wrong_type");
  CHECK(reason_of(with([](auto& j) { j["site"] = "mall-8"; })) == "topic_mismatch");
  CHECK(reason_of(with([](auto& j) { j["sent_at"] = "yesterday"; })) == "bad_timestamp");
  CHECK(reason_of(with([](auto& j) { j["visits"] = nlohmann::json::object(); })) == "wrong_type");
  CHECK(reason_of(with([](auto& j) { j["visits"][0]["arrival"] = 1714550000; })) == "bad_timestamp");
  CHECK(reason_of(with([](auto& j) { j["visits"][0].erase("probes"); })) == "missing_member");
  CHECK(reason_of(with([](auto& j) { j["visits"][0]["zones"][1] = 5; })) == "wrong_type");
  CHECK(reason_of(with([](auto& j) { j["visits"][0]["probes"][0]["rssi_max"] = 300; })) == "out_of_range");
  CHECK(reason_of(with([](auto& j) { j["visits"][0]["probes"][1]["frames"] = -1; })) == "out_of_range");
  CHECK(reason_of(with([](auto& j) { j["visits"][0]["strongest_zone"][0] = "x"; })) == "wrong_type");
  CHECK(reason_of(with([](auto& j) { j["visits"][0]["key_epoch"] = 1.5; })) == "wrong_type");
  const auto e = std::get<ParseError>(with([](auto& j) { j["visits"][0]["probes"][1].erase("last_seen"); }));
  CHECK(e.detail == "visits[0].probes[1].last_seen: missing");
  CHECK(reason_of(parse_payload("footfall/v1/acme/mall-7/status", example("status.json"))) == "bad_topic");
  CHECK(reason_of(parse_payload("footfall/v1/acme/mall-7/presence", "{\"batch_id\":\"x-1-1\",\"tenant\":\"acme\","
                                "\"site\":\"mall-7\",\"seq\":1,\"sent_at\":\"2024-05-01T10:15:05.000Z\","
                                "\"changes\":[],\"occupancy\":{\"at\":\"2024-05-01T10:15:05.000Z\",\"total\":1,"
                                "\"zones\":{\"a\":-1}}}")) == "out_of_range");
}

TEST_CASE("every truncation of a good payload is a value, never a crash") {
  const std::string text = example("visits.json");
  for (std::size_t n = 0; n < text.size(); n += 7) {
    const auto r = parse_payload("footfall/v1/acme/mall-7/visits", text.substr(0, n));
    CHECK(std::holds_alternative<ParseError>(r));
  }
}
