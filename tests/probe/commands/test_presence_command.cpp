// `footfall-probe presence` on a footfall-sim capture, checked against the simulator's per-frame truth.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "probe/commands/presence_command.h"
#include "probe/pipeline/presence_json.h"
#include "tests/support/scratch.h"
#include "tests/support/sim_capture.h"

using namespace footfall;
using namespace footfall::probe;
using namespace footfall::testing;

using footfall::testing::slurp;

namespace {

struct Output {
  int status = -1;
  std::string out;
  std::string err;
};

Output run(const commands::PresenceOptions& options) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  REQUIRE(out);
  REQUIRE(err);
  Output o;
  o.status = commands::run_presence(options, out, err);
  o.out = slurp(out);
  o.err = slurp(err);
  return o;
}

std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> v;
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; start = nl + 1, nl = text.find('\n', start))
    v.push_back(nlohmann::json::parse(text.substr(start, nl - start)));
  return v;
}

// One presence as the truth implies it: a run of heard probe requests with no gap of `silence` or more.
struct ExpectedVisit {
  std::int64_t first = 0;
  std::int64_t last = 0;
  std::uint32_t frames = 0;
  int rssi_min = 0;
  int rssi_max = 0;
};

std::map<std::string, std::vector<ExpectedVisit>> expected_visits(const std::vector<TruthFrame>& frames, int floor,
                                                                  std::int64_t silence_ns) {
  std::map<std::string, std::vector<ExpectedVisit>> by_mac;
  for (const TruthFrame& f : frames) {
    if (f.kind != "probe_req" || f.rssi < floor) continue;
    auto& visits = by_mac[f.sa];
    if (visits.empty() || f.ts_ns - visits.back().last >= silence_ns) {
      visits.push_back({f.ts_ns, f.ts_ns, 0, f.rssi, f.rssi});
    }
    ExpectedVisit& v = visits.back();
    v.last = std::max(v.last, f.ts_ns);
    ++v.frames;
    v.rssi_min = std::min(v.rssi_min, f.rssi);
    v.rssi_max = std::max(v.rssi_max, f.rssi);
  }
  return by_mac;
}

}  // namespace

TEST_CASE("presence command: arrivals and departures of a simulated hour match the simulator's truth") {
  const SimCapture& sim = SimCapture::office_hour();
  const std::vector<TruthFrame> truth = sim.frames(1);
  REQUIRE(!truth.empty());

  commands::PresenceOptions options;
  options.read_path = sim.pcap(1).string();
  options.no_link = true;  // the truth is per address; device linking is tested in test_presence_devices
  const Output o = run(options);
  REQUIRE(o.status == 0);
  const auto events = lines_of(o.out);

  const std::int64_t silence_ns = 300'000'000'000;
  const auto expected = expected_visits(truth, -90, silence_ns);
  REQUIRE(expected.size() >= 5);  // the scenario has visitors: the comparison below means something
  std::int64_t last_counted = 0;
  for (const TruthFrame& f : truth)
    if (f.kind == "probe_req" && f.rssi >= -90) last_counted = std::max(last_counted, f.ts_ns);

  std::map<std::string, std::vector<nlohmann::json>> arrivals, departures;
  std::size_t updates = 0;
  for (const auto& e : events) {
    const std::string kind = e.at("kind");
    if (kind == "arrival") arrivals[e.at("mac")].push_back(e);
    if (kind == "departure") departures[e.at("mac")].push_back(e);
    if (kind == "update") ++updates;
    CHECK(e.at("fingerprint").get<std::string>().size() == 16);
  }
  CHECK(updates > 0);
  CHECK(arrivals.size() == expected.size());
  for (const auto& [mac, visits] : expected) {
    CAPTURE(mac);
    REQUIRE(arrivals[mac].size() == visits.size());
    REQUIRE(departures[mac].size() == visits.size());
    for (std::size_t i = 0; i < visits.size(); ++i) {
      const auto& a = arrivals[mac][i];
      const auto& d = departures[mac][i];
      const ExpectedVisit& v = visits[i];
      CHECK(a.at("ts_ns") == v.first);
      CHECK(d.at("ts_ns") == v.last);
      CHECK(d.at("first_seen_ns") == v.first);
      CHECK(d.at("last_seen_ns") == v.last);
      CHECK(d.at("dwell_s") == (v.last - v.first) / 1'000'000'000);
      CHECK(d.at("frames") == v.frames);
      CHECK(d.at("rssi_min") == v.rssi_min);
      CHECK(d.at("rssi_max") == v.rssi_max);
      CHECK(d.at("randomized") == ((std::stoi(mac.substr(0, 2), nullptr, 16) & 0x02) != 0));
      const std::string cause = d.at("cause");
      if (v.last + silence_ns <= last_counted) CHECK(cause == "silence");
      if (cause == "shutdown") CHECK(v.last + silence_ns > last_counted);
    }
  }
  // Access points (beacons, probe responses) are not devices.
  for (const TruthFrame& f : truth)
    if (f.kind == "beacon") CHECK(arrivals.count(f.sa) == 0);

  std::size_t arrival_count = 0;
  for (const auto& [mac, list] : arrivals) arrival_count += list.size();
  CHECK(o.err.find(" arrivals=" + std::to_string(arrival_count) + " ") != std::string::npos);
  CHECK(o.err.find(" departures=" + std::to_string(arrival_count) + " ") != std::string::npos);

  SUBCASE("deterministic: the same file gives the same bytes") { CHECK(run(options).out == o.out); }
}

TEST_CASE("presence command: a higher floor and a shorter silence change the visits as the truth says") {
  const SimCapture& sim = SimCapture::office_hour();
  commands::PresenceOptions options;
  options.read_path = sim.pcap(1).string();
  options.no_link = true;  // the truth is per address
  options.floor_dbm = -70;
  options.silence_s = 60;
  options.update_s = 0;
  const Output o = run(options);
  REQUIRE(o.status == 0);
  const auto expected = expected_visits(sim.frames(1), -70, 60'000'000'000);
  std::size_t expected_visits_total = 0;
  for (const auto& [mac, v] : expected) expected_visits_total += v.size();
  std::size_t arrivals = 0, updates = 0;
  for (const auto& e : lines_of(o.out)) {
    arrivals += e.at("kind") == "arrival";
    updates += e.at("kind") == "update";
  }
  CHECK(updates == 0);
  CHECK(arrivals == expected_visits_total);
  CHECK(o.err.find("below_floor=0 ") == std::string::npos);  // -70 dBm filters some frames out
}

TEST_CASE("presence command: not a capture is a usage error naming the file") {
  commands::PresenceOptions options;
  options.read_path = "/nonexistent/capture.pcap";
  const Output o = run(options);
  CHECK(o.status == 2);
  CHECK(o.err.find("/nonexistent/capture.pcap") != std::string::npos);
}

TEST_CASE("presence JSON line: golden departure") {
  PresenceEvent e;
  e.kind = PresenceKind::departure;
  e.ts_ns = 1'793'610'058'089'195'586;
  e.mac = *MacAddress::parse("c6:8e:38:a4:ec:2b");
  e.randomized = true;
  e.fingerprint = 0x00ab'cdef'0123'4567;
  e.first_seen_ns = 1'793'610'028'670'094'074;
  e.last_seen_ns = e.ts_ns;
  e.frames = 6;
  e.rssi_min = -87;
  e.rssi_max = -64;
  e.rssi_mean = -75;
  e.strongest_freq_mhz = 2412;
  e.dwell_s = 29;
  e.device = 0x2a;
  e.previous_mac = *MacAddress::parse("d2:11:22:33:44:55");
  e.addresses = 3;
  std::array<char, pipeline::kMaxPresenceJsonLine> buf{};
  const std::size_t n = pipeline::write_presence_json(buf, e, presence::DepartureCause::silence);
  CHECK(std::string(buf.data(), n) ==
        "{\"kind\":\"departure\",\"ts_ns\":1793610058089195586,\"device\":\"000000000000002a\","
        "\"mac\":\"c6:8e:38:a4:ec:2b\",\"randomized\":true,"
        "\"fingerprint\":\"00abcdef01234567\",\"rssi_min\":-87,\"rssi_max\":-64,\"rssi_mean\":-75,"
        "\"strongest_freq_mhz\":2412,\"frames\":6,\"first_seen_ns\":1793610028670094074,"
        "\"last_seen_ns\":1793610058089195586,\"previous_mac\":\"d2:11:22:33:44:55\",\"addresses\":3,"
        "\"dwell_s\":29,\"cause\":\"silence\"}\n");
}
