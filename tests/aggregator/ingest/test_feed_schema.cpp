// The ingest validator against the published schemas: the values issue 18 found stored, a walk over every
// constraint of every feed schema (each broken in turn on the documented example must be refused, at its path),
// the pattern subset against std::regex, and the pipeline counting what it refuses without storing it.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <variant>

#include <nlohmann/json.hpp>

#include "aggregator/ingest/feed_schema.h"
#include "aggregator/ingest/ingest_pipeline.h"
#include "aggregator/ingest/payload_parser.h"
#include "aggregator/store/sqlite_store.h"
#include "tests/support/schema_check.h"
#include "tests/support/scratch.h"

using namespace footfall::aggregator;
using nlohmann::json;

namespace {

json doc(const std::string& rel) {
  std::ifstream in(std::string(FOOTFALL_SOURCE_DIR) + "/docs/schema/" + rel);
  REQUIRE(in);
  return json::parse(in);
}

std::string topic_of(const std::string& feed) { return "footfall/v1/acme/mall-7/" + feed; }

ParseError refused(const std::string& feed, const json& payload) {
  const ParseResult r = parse_payload(topic_of(feed), payload.dump());
  const auto* e = std::get_if<ParseError>(&r);
  REQUIRE_MESSAGE(e != nullptr, feed << ": stored what it should refuse: " << payload.dump().substr(0, 300));
  return *e;
}

std::string reason(const std::string& feed, const json& payload) {
  const ParseResult r = parse_payload(topic_of(feed), payload.dump());
  const auto* e = std::get_if<ParseError>(&r);
  return e ? e->reason : "stored";
}

// --- the walk over the schemas ---------------------------------------------------------------------------

struct Walk {
  std::string feed;
  json schema;
  json example;
  std::map<std::string, int> broken;  // by keyword: how many constraints were broken and refused

  const json& resolve(const json& s) const {
    if (s.contains("$ref")) return schema["$defs"][s["$ref"].get<std::string>().substr(std::string("#/$defs/").size())];
    return s;
  }
  // The node's own keywords merged with those of the definition it refers to.
  json merged(const json& s) const {
    json m = resolve(s);
    for (const auto& [k, v] : s.items())
      if (k != "$ref") m[k] = v;
    return m;
  }

  static std::string member_path(const std::string& at, const std::string& key) { return at.empty() ? key : at + "." + key; }

  // Sets the value at the path in a copy of the example, checks that the oracle (the test schema checker) calls
  // it wrong, and that the parser refuses it naming that path.
  void expect_refused(const std::string& keyword, const std::string& at, const std::function<void(json&)>& edit) {
    json bad = example;
    edit(bad);
    const auto problems = footfall::test::schema_problems(schema, bad);
    REQUIRE_MESSAGE(!problems.empty(), feed << " " << at << " " << keyword << ": the mutation broke nothing");
    const ParseError e = refused(feed, bad);
    INFO(feed << " " << keyword << " at " << at << ": " << e.reason << ": " << e.detail);
    CHECK(e.detail.starts_with(at.empty() ? "payload" : at));
    CHECK(e.reason != "stored");
    ++broken[keyword];
  }

  // Values of each JSON type; the first the node's type list refuses breaks it.
  static std::vector<json> samples() { return {json("x"), json(1.5), json(7), json(true), json(nullptr), json::array(), json::object()}; }

  // Breaks every constraint of node s, whose value sits at ptr (present in the example or not).
  void visit(const json& s_in, const json::json_pointer& ptr, const std::string& at, bool present) {
    INFO(feed << " at " << at);
    REQUIRE(s_in.is_object());
    const json s = merged(s_in);
    REQUIRE(s.is_object());
    const auto set = [&](json v) { return [ptr, v](json& j) { j[ptr] = v; }; };
    if (s.contains("type") && !at.empty()) {
      for (const json& v : samples()) {
        if (!footfall::test::schema_problems(json{{"type", s["type"]}}, v).empty()) {
          expect_refused("type", at, set(v));
          break;
        }
      }
    }
    if (s.contains("anyOf")) {
      for (const json& v : samples()) {
        json only{{"anyOf", s["anyOf"]}, {"$defs", schema["$defs"]}};
        if (!footfall::test::schema_problems(only, v).empty()) {
          expect_refused("anyOf", at, set(v));
          break;
        }
      }
      // Walk into the alternative the example's value takes.
      if (present) {
        for (const json& alt : s["anyOf"]) {
          json one = alt;
          one["$defs"] = schema["$defs"];
          if (footfall::test::schema_problems(one, example[ptr]).empty()) visit(alt, ptr, at, present);
        }
      }
    }
    if (s.contains("enum")) expect_refused("enum", at, set("teleport-not-in-enum"));
    const bool integer = s.value("type", json()) == "integer";
    if (s.contains("minimum")) {
      const double min = s["minimum"].get<double>();
      expect_refused("minimum", at, integer ? set(static_cast<std::int64_t>(min) - 1) : set(min - 0.5));
    }
    if (s.contains("maximum")) {
      const double max = s["maximum"].get<double>();
      expect_refused("maximum", at, integer ? set(static_cast<std::int64_t>(max) + 1) : set(max + 0.5));
    }
    if (s.contains("pattern")) {
      const std::regex re(s["pattern"].get<std::string>());
      const std::string base = present && example[ptr].is_string() ? example[ptr].get<std::string>() : "a";
      bool done = false;
      for (const std::string& v : {std::string(), std::string("!"), std::string("aa:bb:cc:dd:ee:ff"), base + "!",
                                   base + "\n", std::string(300, 'a'), std::string("2024-05-01T10:15:05Z")}) {
        if (std::regex_search(v, re)) continue;
        expect_refused("pattern", at, set(v));
        done = true;
        break;
      }
      CHECK_MESSAGE(done, at << ": no string found outside " << s["pattern"]);
    }
    if (!present) return;  // nested constraints need a value to nest in
    const json& value = example[ptr];
    if (value.is_object()) {
      const json required = s.value("required", json::array());
      for (const json& r : required) {
        const std::string key = r.get<std::string>();
        if (value.contains(key))
          expect_refused("required", member_path(at, key), [ptr, key](json& j) { j[ptr].erase(key); });
      }
      if (s.contains("additionalProperties") && s["additionalProperties"] == false)
        expect_refused("additionalProperties", member_path(at, "zz_not_in_schema"),
                       [ptr](json& j) { j[ptr]["zz_not_in_schema"] = 1; });
      const json properties = s.value("properties", json::object());
      for (const auto& [key, sub] : properties.items()) visit(sub, ptr / key, member_path(at, key), value.contains(key));
      if (s.contains("additionalProperties") && s["additionalProperties"].is_object()) {
        for (const auto& [key, _] : value.items())
          if (!properties.contains(key))
            visit(s["additionalProperties"], ptr / key, member_path(at, key), true);
      }
    }
    if (value.is_array() && s.contains("items") && !value.empty()) visit(s["items"], ptr / 0, at + "[0]", true);
  }
};

}  // namespace

TEST_CASE("the values issue 18 saw stored are refused, each with a reason") {
  const json visits = doc("examples/visits.json");
  auto visit_with = [&](const std::function<void(json&)>& edit) {
    json j = visits;
    edit(j["visits"][0]);
    return j;
  };
  const ParseError mac = refused("visits", visit_with([](json& v) { v["device"] = "aa:bb:cc:dd:ee:ff"; }));
  CHECK(mac.reason == "bad_pattern");
  CHECK(mac.detail.starts_with("visits[0].device: "));
  CHECK(mac.detail.find("aa:bb") == std::string::npos);  // a refused value may be an address: never logged
  CHECK(reason("visits", visit_with([](json& v) { v["device"] = "AABBCCDDEEFF00112233"; })) == "bad_pattern");
  CHECK(reason("visits", visit_with([](json& v) { v["dwell_s"] = -900; })) == "out_of_range");
  CHECK(reason("visits", visit_with([](json& v) { v["dwell_s"] = 1e308; })) == "inconsistent");
  CHECK(reason("visits", visit_with([](json& v) { v["dwell_s"] = 900.6; })) == "inconsistent");
  CHECK(reason("visits", visit_with([](json& v) { v["departure"] = "2024-05-01T09:59:59.000Z"; })) == "inconsistent");
  CHECK(reason("visits", visit_with([](json& v) { v["probes"][0]["last_seen"] = "2024-05-01T09:00:00.000Z"; })) ==
        "inconsistent");
  CHECK(reason("visits", visit_with([](json& v) { v["arrival"] = "2024-05-01T10:00:00Z"; })) == "bad_timestamp");
  CHECK(reason("visits", visit_with([](json& v) { v["arrival"] = "2024-02-30T10:00:00.000Z"; })) == "bad_timestamp");
  // JSON has no infinity, but an overflowing literal must not pass as a number.
  std::string huge = visits.dump();
  huge.replace(huge.find("900.5"), 5, "1e999");
  CHECK(std::holds_alternative<ParseError>(parse_payload(topic_of("visits"), huge)));
  // The member device linking adds: allowed, and held to its minimum.
  CHECK(reason("visits", visit_with([](json& v) { v["addresses"] = 3; })) == "stored");
  CHECK(reason("visits", visit_with([](json& v) { v["addresses"] = 0; })) == "out_of_range");
  CHECK(reason("visits", visit_with([](json& v) { v["addresses"] = "3"; })) == "wrong_type");

  json presence = doc("examples/presence.json");
  presence["changes"][0]["kind"] = "teleport";
  const ParseError kind = refused("presence", presence);
  CHECK(kind.reason == "not_allowed");
  CHECK(kind.detail.starts_with("changes[0].kind: "));

  json sales = doc("examples/sales.json");
  for (const char* id : {"batch 1", "batch/1", "b\xc3\xa4tch", ""}) {
    sales["batch_id"] = id;
    CHECK(reason("sales", sales) == "bad_pattern");
  }
  sales["batch_id"] = std::string(129, 'b');
  CHECK(reason("sales", sales) == "bad_pattern");
  sales["batch_id"] = "pos:2024-05-01.7";
  CHECK(reason("sales", sales) == "stored");
  sales["sales"][0]["sale_id"] = std::string(129, 'r');
  CHECK(reason("sales", sales) == "bad_pattern");
  sales["sales"][0]["sale_id"] = "\xc3\xa4" + std::string(127, 'r');  // 128 characters, 129 bytes
  CHECK(reason("sales", sales) == "stored");
}

TEST_CASE("every constraint of every feed schema is enforced") {
  std::map<std::string, int> broken;
  for (const std::string feed : {"visits", "presence", "probes", "sales"}) {
    Walk w{feed, doc(feed + ".schema.json"), doc("examples/" + feed + ".json"), {}};
    // The example passes both the test's checker and the parser: the walk starts from a valid payload.
    REQUIRE(footfall::test::schema_problems(w.schema, w.example).empty());
    REQUIRE(reason(feed, w.example) == "stored");
    // The program checks the text docs/schema holds now (compiled in at configure time).
    CHECK(json::parse(feed_schema_text(parse_topic(topic_of(feed))->kind)) == w.schema);
    w.visit(w.schema, json::json_pointer(), "", true);
    for (const auto& [k, n] : w.broken) broken[k] += n;
    MESSAGE(feed << ": " << json(w.broken).dump());
  }
  // Each kind of rule the schemas use was met and broken at least once.
  for (const char* k : {"type", "anyOf", "enum", "minimum", "maximum", "pattern", "required", "additionalProperties"})
    CHECK_MESSAGE(broken[k] > 0, k);
}

TEST_CASE("schema patterns agree with std::regex") {
  std::vector<std::string> patterns;
  for (const char* f : {"visits", "presence", "probes", "sales", "status", "metrics", "alerts", "report-document"}) {
    const std::string text = doc(std::string(f) + ".schema.json").dump();
    static const std::regex pat(R"re("pattern":"((?:[^"\\]|\\.)*)")re");
    for (auto it = std::sregex_iterator(text.begin(), text.end(), pat); it != std::sregex_iterator(); ++it)
      patterns.push_back(json::parse("\"" + (*it)[1].str() + "\"").get<std::string>());
  }
  for (const char* extra : {"^a?b*c{2,3}d{2,}$", "^[a-c.\\-]+x$", "^$", "^.{0,2}\\.$"}) patterns.push_back(extra);
  REQUIRE(patterns.size() > 10);
  const std::vector<std::string> texts{"", "a", "2024-05-01T10:15:05.123Z", "2024-05-01T10:15:05Z", "2024-05-01",
                                       "2024-05-01T10:15", "9f86d081884c7d659a2feaa0c55ad015", "9F86D081884C7D65",
                                       "aa:bb:cc:dd:ee:ff", "mall-7-1714550000-1042", "mall-7-1-", "mall--1-2",
                                       "acme", "a b", std::string(64, 'x'), std::string(65, 'x'), "pos:2024.1",
                                       "bcc", "abbccc", "bccdd", "acccdd", "a.x", "-x", "x", ".", "ab.", "a\n.",
                                       std::string(128, 'r'), std::string(129, 'r'), "r\nr"};
  for (const std::string& p : patterns) {
    const auto compiled = SchemaPattern::compile(p);
    REQUIRE_MESSAGE(compiled, p);
    const std::regex re(p);
    for (const std::string& t : texts) {
      INFO(p << " on '" << t << "'");
      CHECK(compiled->matches(t) == std::regex_search(t, re));
    }
  }
  // Long inputs are matched in linear time (a backtracking matcher would take minutes on this one).
  CHECK_FALSE(SchemaPattern::compile("^[A-Za-z0-9_.-]+-[0-9]+-[0-9]+$")->matches(std::string(1 << 20, '1') + "-"));
}

TEST_CASE("a schema the validator cannot fully check does not compile") {
  CHECK_THROWS_AS(JsonSchema(json{{"type", "integer"}, {"multipleOf", 2}}), std::invalid_argument);
  CHECK_THROWS_AS(JsonSchema(json{{"type", "strin"}}), std::invalid_argument);
  CHECK_THROWS_AS(JsonSchema(json{{"format", "email"}}), std::invalid_argument);
  CHECK_THROWS_AS(JsonSchema(json{{"$ref", "#/$defs/none"}}), std::invalid_argument);
  for (const char* p : {"abc", "^(a|b)$", "^a|b$", "^\\d+$", "^[^a]$", "^a+?$", "^a{2$", "^a\\$"})
    CHECK_MESSAGE(!SchemaPattern::compile(p), p);
  const JsonSchema s(json{{"type", "object"}, {"properties", {{"n", {{"type", "integer"}, {"maximum", 3}}}}}});
  CHECK_FALSE(s.check(json{{"n", 3}}));
  REQUIRE(s.check(json{{"n", 4}}));
  CHECK(s.check(json{{"n", 4}})->keyword == "maximum");
  CHECK(s.check(json{{"n", 4}})->path == "n");
  CHECK(s.check(json{{"n", 2.5}})->keyword == "type");
}

TEST_CASE("the pipeline counts what the schemas refuse and stores none of it") {
  footfall::testing::TempDir dir("ingest-schema");
  auto store = SqliteStore::open(dir.path() / "s.db");
  IngestPipeline pipeline(*store, 16, [] { return TimeMs{1714550000000}; });
  json visits = doc("examples/visits.json");
  visits["visits"][0]["device"] = "aa:bb:cc:dd:ee:ff";
  for (int i = 0; i < 3; ++i)
    CHECK(pipeline.submit(topic_of("visits"), visits.dump(), true) == SubmitOutcome::malformed);
  visits = doc("examples/visits.json");
  visits["visits"][0]["dwell_s"] = -900;
  CHECK(pipeline.submit(topic_of("visits"), visits.dump(), true) == SubmitOutcome::malformed);
  json presence = doc("examples/presence.json");
  presence["changes"][1]["kind"] = "teleport";
  CHECK(pipeline.submit(topic_of("presence"), presence.dump(), true) == SubmitOutcome::malformed);
  CHECK(pipeline.submit(topic_of("visits"), doc("examples/visits.json").dump(), true) == SubmitOutcome::stored);
  pipeline.stop();
  const IngestCounters c = pipeline.counters();
  CHECK(c.malformed.at("bad_pattern") == 3);
  CHECK(c.malformed.at("out_of_range") == 1);
  CHECK(c.malformed.at("not_allowed") == 1);
  CHECK(c.batches_stored == 1);
  CHECK(c.visits_stored == doc("examples/visits.json")["visits"].size());
}
