#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/publish/payloads.h"
#include "tests/support/mosquitto_broker.h"
#include "tests/support/schema_check.h"

using namespace footfall::gateway::publish;
using footfall::test::schema_problems;
using nlohmann::json;

namespace {

const std::filesystem::path kSchemaDir = FOOTFALL_SCHEMA_DIR;

json load(const std::filesystem::path& p) {
  std::ifstream in(p);
  REQUIRE_MESSAGE(in, "cannot read " << p.string());
  return json::parse(in);
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// Payloads built by the same encoders the Publisher uses.
std::vector<std::pair<std::string, std::string>> encoder_output() {
  SiteVisit v;
  v.device = "0123456789abcdef0123456789abcdef";
  v.arrival = 1714557600123;
  v.departure = 1714557660123;
  v.zones = {"entrance"};
  v.entry_zone = v.exit_zone = "entrance";
  v.strongest_zone = {{v.arrival, "entrance"}};
  v.probes = {{"probe-01", "entrance", v.arrival, v.departure, 3, -50, -55.5}};
  const BatchEnvelope env{"mall-7-1714557600-9", "acme", "mall-7", 9, 1714557665000};
  PresenceChange c{PresenceKind::departure, v.device, 2, v.departure, "entrance", true};
  Occupancy o{v.departure, 1, {{"entrance", 1}}};
  ProbeReport h{"probe-01", true, v.departure, 250, 0, 0, 0, 0};
  GatewayHealth g{{{"frames_received", 10}}, {}};
  g.drops.add({"receive.bad_frames", "bad_crc", false});
  const std::string publisher =
      R"({"acked":0,"auth_failures":0,"connection_losses":0,"drops_by_reason":{},"full_events":0,)"
      R"("outbox_bytes":0,"outbox_records":0,"published":0,"republished":0})";
  Status s{true, v.arrival, "0.1.0", "footfall-gw-acme-mall-7", "connected"};
  Status will{false, std::nullopt, "0.1.0", "footfall-gw-acme-mall-7", "connection_lost"};
  return {
      {"visits", encode_batch(env, "visits", {*encode_visit(v)}, "")},
      {"presence", encode_batch(env, "changes", {*encode_presence_change(c)}, R"("occupancy":)" + encode_occupancy(o))},
      {"presence", encode_batch(env, "changes", {}, R"("occupancy":null)")},
      {"probes", encode_batch(env, "probes", {encode_probe_health(h)},
                              R"("gateway":)" + encode_gateway_health(g) + R"(,"publisher":)" + publisher)},
      {"status", encode_status("acme", "mall-7", s)},
      {"status", encode_status("acme", "mall-7", will)},
  };
}

}  // namespace

TEST_CASE("every example in docs/schema/examples conforms to its schema") {
  for (const std::string name : {"visits", "presence", "probes", "status", "status-last-will"}) {
    const std::string schema_name = name.rfind("status", 0) == 0 ? "status" : name;
    const json schema = load(kSchemaDir / (schema_name + ".schema.json"));
    const json example = load(kSchemaDir / "examples" / (name + ".json"));
    const auto problems = schema_problems(schema, example);
    CHECK_MESSAGE(problems.empty(), name << ":\n" << joined(problems));
  }
}

TEST_CASE("the checker rejects a raw MAC, a missing field, an extra field and a bad timestamp") {
  const json schema = load(kSchemaDir / "visits.schema.json");
  const json good = load(kSchemaDir / "examples" / "visits.json");
  json bad = good;
  bad["visits"][0]["device"] = "a4:5e:60:c1:22:9f";
  CHECK_FALSE(schema_problems(schema, bad).empty());
  bad = good;
  bad["visits"][0]["device"] = "a45e60c1229f";
  CHECK_FALSE(schema_problems(schema, bad).empty());
  bad = good;
  bad.erase("batch_id");
  CHECK_FALSE(schema_problems(schema, bad).empty());
  bad = good;
  bad["visits"][0]["mac"] = "a4:5e:60:c1:22:9f";
  CHECK_FALSE(schema_problems(schema, bad).empty());
  bad = good;
  bad["sent_at"] = "2024-05-01 10:15:05";
  CHECK_FALSE(schema_problems(schema, bad).empty());
}

TEST_CASE("encoder output conforms to the schemas") {
  for (const auto& [name, payload] : encoder_output()) {
    const json schema = load(kSchemaDir / (name + ".schema.json"));
    const auto problems = schema_problems(schema, json::parse(payload));
    CHECK_MESSAGE(problems.empty(), name << ": " << payload << "\n" << joined(problems));
  }
}

TEST_CASE("python jsonschema (draft 2020-12) agrees on the examples and the encoder output") {
  footfall::test::TempDir tmp;
  // One interpreter run for everything: arguments are SCHEMA=INSTANCE pairs; exit 77 without the module.
  const auto script = tmp.path() / "validate.py";
  std::ofstream(script) << "import json, sys\n"
                           "try:\n"
                           "    from jsonschema import Draft202012Validator\n"
                           "except ImportError:\n"
                           "    sys.exit(77)\n"
                           "for pair in sys.argv[1:]:\n"
                           "    schema_path, instance_path = pair.split('=', 1)\n"
                           "    schema = json.load(open(schema_path))\n"
                           "    Draft202012Validator.check_schema(schema)\n"
                           "    errors = list(Draft202012Validator(schema).iter_errors(json.load(open(instance_path))))\n"
                           "    print(('BAD ' if errors else 'OK ') + instance_path, *[e.message for e in errors[:1]])\n";
  std::vector<std::string> argv{"/usr/bin/env", "python3", script.string()};
  auto pair = [&](const std::string& schema_name, const std::filesystem::path& instance) {
    argv.push_back((kSchemaDir / (schema_name + ".schema.json")).string() + "=" + instance.string());
  };
  std::vector<std::string> good;
  for (const std::string name : {"visits", "presence", "probes", "status", "status-last-will"}) {
    const auto path = kSchemaDir / "examples" / (name + ".json");
    pair(name.rfind("status", 0) == 0 ? "status" : name, path);
    good.push_back(path.string());
  }
  int n = 0;
  for (const auto& [name, payload] : encoder_output()) {
    const auto path = tmp.path() / ("out-" + std::to_string(n++) + ".json");
    std::ofstream(path) << payload;
    pair(name, path);
    good.push_back(path.string());
  }
  json bad = load(kSchemaDir / "examples" / "visits.json");
  bad["visits"][0]["device"] = "a4:5e:60:c1:22:9f";
  const auto bad_path = tmp.path() / "bad.json";
  std::ofstream(bad_path) << bad.dump();
  pair("visits", bad_path);

  const auto log = tmp.path() / "python.log";
  const int rc = footfall::test::run_program(argv, log, std::chrono::seconds(60));
  if (rc == 77 || rc == 127) {
    MESSAGE("skipped: python3 with the jsonschema module is not installed (Debian: python3-jsonschema)");
    return;
  }
  std::ifstream in(log);
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_MESSAGE(rc == 0, out);
  for (const std::string& path : good) CHECK_MESSAGE(out.find("OK " + path) != std::string::npos, out);
  CHECK_MESSAGE(out.find("BAD " + bad_path.string()) != std::string::npos, out);  // and it does reject a raw MAC
}
