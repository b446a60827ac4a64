#include <doctest/doctest.h>

#include <regex>
#include <string>

#include "gateway/publish/payloads.h"

using namespace footfall::gateway::publish;

namespace {

SiteVisit sample_visit() {
  SiteVisit v;
  v.device = "0123456789abcdef0123456789abcdef";
  v.key_epoch = 3;
  v.arrival = 1714557600123;    // 2024-05-01T10:00:00.123Z
  v.departure = 1714558500623;  // 900.5 s later
  v.zones = {"entrance", "food-court"};
  v.entry_zone = "entrance";
  v.exit_zone = "food-court";
  v.strongest_zone = {{1714557600123, "entrance"}, {1714557900000, "food-court"}};
  v.probes = {{"probe-01", "entrance", 1714557600123, 1714557899000, 42, -48, -61.5}};
  v.randomized = true;
  v.fingerprint = "fedcba9876543210";
  return v;
}

}  // namespace

TEST_CASE("iso8601_utc renders UTC with milliseconds, including leap days and times before 1970") {
  CHECK(iso8601_utc(0) == "1970-01-01T00:00:00.000Z");
  CHECK(iso8601_utc(951782400000) == "2000-02-29T00:00:00.000Z");
  CHECK(iso8601_utc(1714557600123) == "2024-05-01T10:00:00.123Z");
  CHECK(iso8601_utc(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(iso8601_utc(253402300799999) == "9999-12-31T23:59:59.999Z");
}

TEST_CASE("a pseudonym is 16..128 lowercase hex digits, so no MAC spelling passes") {
  CHECK(is_pseudonym("0123456789abcdef"));
  CHECK(is_pseudonym(std::string(128, 'a')));
  CHECK_FALSE(is_pseudonym(std::string(129, 'a')));
  CHECK_FALSE(is_pseudonym("aa:bb:cc:dd:ee:ff"));
  CHECK_FALSE(is_pseudonym("aa-bb-cc-dd-ee-ff"));
  CHECK_FALSE(is_pseudonym("aabbccddeeff"));        // a bare MAC: 12 digits
  CHECK_FALSE(is_pseudonym("AABBCCDDEEFF0011"));    // upper case is not what the anonymizer writes
  CHECK_FALSE(is_pseudonym("aabb.ccdd.eeff.0011"));  // Cisco spelling
  CHECK_FALSE(is_pseudonym(""));
}

TEST_CASE("a visit encodes to the documented JSON") {
  const auto json = encode_visit(sample_visit());
  REQUIRE(json);
  CHECK(*json ==
        R"({"addresses":1,"arrival":"2024-05-01T10:00:00.123Z","departure":"2024-05-01T10:15:00.623Z",)"
        R"("device":"0123456789abcdef0123456789abcdef","dwell_s":900.5,"entry_zone":"entrance",)"
        R"("exit_zone":"food-court","fingerprint":"fedcba9876543210","key_epoch":3,)"
        R"("probes":[{"first_seen":"2024-05-01T10:00:00.123Z","frames":42,"last_seen":"2024-05-01T10:04:59.000Z",)"
        R"("probe":"probe-01","rssi_max":-48,"rssi_mean":-61.5,"zone":"entrance"}],"randomized":true,)"
        R"("strongest_zone":[{"from":"2024-05-01T10:00:00.123Z","zone":"entrance"},)"
        R"({"from":"2024-05-01T10:05:00.000Z","zone":"food-court"}],"zones":["entrance","food-court"]})");
}

TEST_CASE("a visit without a fingerprint carries null") {
  SiteVisit v = sample_visit();
  v.fingerprint.clear();
  const auto json = encode_visit(v);
  REQUIRE(json);
  CHECK(json->find(R"("fingerprint":null)") != std::string::npos);
}

TEST_CASE("items whose device is a raw MAC are refused, never encoded") {
  SiteVisit v = sample_visit();
  v.device = "a4:5e:60:c1:22:9f";
  CHECK_FALSE(encode_visit(v));
  v = sample_visit();
  v.fingerprint = "a45e60c1229f";
  CHECK_FALSE(encode_visit(v));
  PresenceChange c{PresenceKind::arrival, "a45e60c1229f", 1, 0, "entrance", false};
  CHECK_FALSE(encode_presence_change(c));
  c.device = "00112233445566778899aabbccddeeff";
  const auto ok = encode_presence_change(c);
  REQUIRE(ok);
  CHECK(*ok ==
        R"({"at":"1970-01-01T00:00:00.000Z","device":"00112233445566778899aabbccddeeff","key_epoch":1,)"
        R"("kind":"arrival","randomized":false,"zone":"entrance"})");
}

TEST_CASE("the batch envelope wraps pre-encoded items and extra members") {
  const BatchEnvelope env{"mall-7-1714557600-12", "acme", "mall-7", 12, 1714557605000};
  CHECK(encode_batch(env, "visits", {"{\"a\":1}", "{\"a\":2}"}, "") ==
        R"({"batch_id":"mall-7-1714557600-12","tenant":"acme","site":"mall-7","seq":12,)"
        R"("sent_at":"2024-05-01T10:00:05.000Z","visits":[{"a":1},{"a":2}]})");
  CHECK(encode_batch(env, "changes", {}, R"("occupancy":null)") ==
        R"({"batch_id":"mall-7-1714557600-12","tenant":"acme","site":"mall-7","seq":12,)"
        R"("sent_at":"2024-05-01T10:00:05.000Z","changes":[],"occupancy":null})");
}

TEST_CASE("status payloads: online with since, last will with null since") {
  Status online{true, 1714557600123, "0.1.0", "footfall-gw-acme-mall-7", "connected"};
  CHECK(encode_status("acme", "mall-7", online) ==
        R"({"client_id":"footfall-gw-acme-mall-7","reason":"connected","since":"2024-05-01T10:00:00.123Z",)"
        R"("site":"mall-7","software_version":"0.1.0","state":"online","tenant":"acme"})");
  Status will{false, std::nullopt, "0.1.0", "footfall-gw-acme-mall-7", "connection_lost"};
  const std::string w = encode_status("acme", "mall-7", will);
  CHECK(w.find(R"("state":"offline")") != std::string::npos);
  CHECK(w.find(R"("since":null)") != std::string::npos);
}

TEST_CASE("probe health and occupancy snapshots") {
  ProbeReport h{"probe-02", true, 1714557600123, -1500, 7, 3, 4096, 0};
  CHECK(encode_probe_health(h) ==
        R"({"capture_drops":7,"clock_offset_us":-1500,"connected":true,"last_heartbeat":"2024-05-01T10:00:00.123Z",)"
        R"("probe":"probe-02","spool_depth_bytes":4096,"spool_depth_records":3,"spool_full_drops":0})");
  h.last_heartbeat = 0;
  CHECK(encode_probe_health(h).find(R"("last_heartbeat":null)") != std::string::npos);
  Occupancy o{1714557600123, 5, {{"entrance", 2}, {"food-court", 3}}};
  CHECK(encode_occupancy(o) ==
        R"({"at":"2024-05-01T10:00:00.123Z","total":5,"zones":{"entrance":2,"food-court":3}})");
}
