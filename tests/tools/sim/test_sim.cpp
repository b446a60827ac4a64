// footfall-sim: deterministic captures whose frames the probe's own parsers decode into exactly what
// the truth file says, and a truth file that is consistent with itself.
#include <doctest/doctest.h>
#include <pcap/pcap.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "probe/parse/dot11.h"
#include "probe/parse/radio_header.h"
#include "tools/sim/frame_builder.h"
#include "tools/sim/sales.h"
#include "tools/sim/simulation.h"
#include "tools/sim/time_text.h"

#include "tests/support/scratch.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace footfall;
using namespace footfall::probe;

namespace {

using footfall::testing::slurp;
using footfall::testing::TempDir;

json load_truth(const fs::path& dir) { return json::parse(slurp(dir / sim::kTruthFileName)); }

// A short office run in which people move 30 times faster than real time: a busy office hour or more of
// visits in four minutes of capture, well under a second to simulate.
sim::SimConfig small_office(const fs::path& out, std::uint64_t seed) {
  sim::SimConfig c;
  c.scenario = "office";
  c.seed = seed;
  c.start_ns = *sim::parse_utc_timestamp("2026-11-02T09:00:00Z");
  c.duration_ns = 4LL * 60 * 1'000'000'000;
  c.time_scale = 30.0;
  c.out_dir = out;
  c.frame_log = true;
  return c;
}

struct CapturedFrame {
  std::int64_t ts_ns = 0;
  std::vector<std::uint8_t> bytes;
};

struct Capture {
  int link_type = -1;
  int precision = -1;
  std::vector<CapturedFrame> frames;
};

Capture read_capture(const fs::path& file) {
  Capture capture;
  std::array<char, PCAP_ERRBUF_SIZE> err{};
  std::unique_ptr<pcap_t, decltype(&pcap_close)> pcap(
      pcap_open_offline_with_tstamp_precision(file.c_str(), PCAP_TSTAMP_PRECISION_NANO, err.data()), &pcap_close);
  REQUIRE_MESSAGE(pcap != nullptr, err.data());
  capture.link_type = pcap_datalink(pcap.get());
  capture.precision = pcap_get_tstamp_precision(pcap.get());
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(pcap.get(), &header, &data) == 1) {
    capture.frames.push_back({static_cast<std::int64_t>(header->ts.tv_sec) * 1'000'000'000 + header->ts.tv_usec,
                              std::vector<std::uint8_t>(data, data + header->caplen)});
  }
  return capture;
}

struct LoggedFrame {
  std::int64_t ts_ns = 0;
  std::string kind;
  std::string sa;
  unsigned seq = 0;
  int rssi = 0;
};

// truth-frames.tsv, grouped by probe id, in file order.
std::map<int, std::vector<LoggedFrame>> read_frame_log(const fs::path& dir) {
  std::map<int, std::vector<LoggedFrame>> by_probe;
  std::ifstream in(dir / sim::kFrameLogFileName);
  std::string line;
  std::getline(in, line);
  REQUIRE(line == "probe\tts_ns\tkind\tsa\tseq\trssi");
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    int probe = 0;
    LoggedFrame f;
    fields >> probe >> f.ts_ns >> f.kind >> f.sa >> f.seq >> f.rssi;
    REQUIRE(!fields.fail());
    by_probe[probe].push_back(f);
  }
  return by_probe;
}

// One shared run: the checks below all read the same files.
struct OfficeRun {
  const TempDir dir{"sim-test"};
  json truth;
  std::map<int, Capture> captures;  // by probe id
  std::map<int, std::vector<LoggedFrame>> log;
  OfficeRun() {
    sim::run_simulation(small_office(dir.path(), 42));
    truth = load_truth(dir.path());
    for (const auto& probe : truth["probes"]) {
      captures[probe["id"].get<int>()] = read_capture(dir.path() / probe["file"].get<std::string>());
    }
    log = read_frame_log(dir.path());
  }
};

const OfficeRun& office_run() {
  static const OfficeRun run;
  return run;
}

}  // namespace

TEST_CASE("same arguments give byte-identical files; another seed gives another capture") {
  TempDir a, b, c;
  sim::run_simulation(small_office(a.path(), 7));
  sim::run_simulation(small_office(b.path(), 7));
  sim::run_simulation(small_office(c.path(), 8));
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(a.path())) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"probe-1.pcap", "probe-2.pcap", "probe-3.pcap", "sales.csv",
                                          "truth-frames.tsv", "truth.json"});
  for (const auto& name : names) {
    INFO(name);
    const std::string first = slurp(a.path() / name);
    if (name == sim::kSalesFileName) {  // a short office run may sell nothing: the file is then its header
      CHECK(first.starts_with("sale_id,site,time,amount\n"));
      CHECK(first == slurp(b.path() / name));
      continue;
    }
    CHECK(first.size() > 1000);
    CHECK(first == slurp(b.path() / name));
    CHECK(first != slurp(c.path() / name));
  }
}

TEST_CASE("captures are radiotap with nanosecond timestamps, in time order, as many frames as the truth says") {
  const OfficeRun& run = office_run();
  const std::string head = slurp(run.dir.path() / "probe-1.pcap").substr(0, 4);
  CHECK(head == std::string("\x4d\x3c\xb2\xa1", 4));  // nanosecond pcap magic, little-endian
  for (const auto& probe : run.truth["totals"]["per_probe"]) {
    const int id = probe["probe"].get<int>();
    INFO("probe " << id);
    const Capture& capture = run.captures.at(id);
    CHECK(capture.link_type == 127);
    CHECK(capture.precision == PCAP_TSTAMP_PRECISION_NANO);
    CHECK(capture.frames.size() == probe["frames"].get<std::size_t>());
    CHECK(capture.frames.size() > 100);
    CHECK(std::is_sorted(capture.frames.begin(), capture.frames.end(),
                         [](const CapturedFrame& x, const CapturedFrame& y) { return x.ts_ns < y.ts_ns; }));
    CHECK(capture.frames.front().ts_ns >= run.truth["start_ns"].get<std::int64_t>());
    CHECK(capture.frames.back().ts_ns <= run.truth["end_ns"].get<std::int64_t>());
  }
}

TEST_CASE("every frame decodes with the probe's parsers into the address, sequence and signal of the truth") {
  const OfficeRun& run = office_run();
  std::map<std::string, std::uint64_t> kinds;
  for (const auto& probe : run.truth["probes"]) {
    const int id = probe["id"].get<int>();
    INFO("probe " << id);
    const Capture& capture = run.captures.at(id);
    const auto& logged = run.log.at(id);
    REQUIRE(logged.size() == capture.frames.size());
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < capture.frames.size(); ++i) {
      const auto radio = parse::parse_radiotap(capture.frames[i].bytes);
      const auto dot11 = parse::parse_dot11(radio.payload, radio.radio.fcs_at_end);
      const LoggedFrame& want = logged[i];
      const bool same = radio.ok && radio.radio.rssi_dbm == want.rssi &&
                        radio.radio.freq_mhz == probe["freq_mhz"].get<unsigned>() && radio.radio.fcs_at_end &&
                        !radio.radio.bad_fcs && radio.radio.tsft_us.has_value() &&
                        dot11.verdict == parse::Dot11Result::Verdict::frame &&
                        parse::to_string(dot11.frame.kind) == want.kind && dot11.frame.sa.to_string() == want.sa &&
                        dot11.frame.seq == want.seq && capture.frames[i].ts_ns == want.ts_ns &&
                        !dot11.frame.ie_truncated;
      if (!same && mismatches++ == 0) {
        MESSAGE("first mismatch at frame " << i + 1 << ": " << want.kind << " " << want.sa << " seq " << want.seq);
      }
      ++kinds[want.kind];
    }
    CHECK(mismatches == 0);
  }
  CHECK(kinds["probe_req"] == run.truth["totals"]["captured"]["probe_req"].get<std::uint64_t>());
  CHECK(kinds["beacon"] == run.truth["totals"]["captured"]["beacon"].get<std::uint64_t>());
  CHECK(kinds["probe_resp"] == run.truth["totals"]["captured"]["probe_resp"].get<std::uint64_t>());
  CHECK(kinds["probe_req"] > 50);
  CHECK(kinds["beacon"] > 50);
}

namespace {

// A mall hour in real time (time scale 1), so that burst periods are the models' own: every model, several
// devices of each, heard by seven probes on channels 1, 6 and 11.
struct MallRun {
  const TempDir dir{"sim-test"};
  json truth;
  std::map<std::string, std::vector<LoggedFrame>> by_mac;  // probe requests heard, one entry per transmission
  std::map<std::string, std::set<std::uint64_t>> fingerprints;
  std::map<std::string, int> device_of;  // address -> truth device id
  MallRun() {
    auto config = small_office(dir.path(), 23);
    config.scenario = "mall";
    config.duration_ns = 30LL * 60 * 1'000'000'000;
    config.time_scale = 1.0;
    sim::run_simulation(config);
    truth = load_truth(dir.path());
    std::set<std::pair<std::string, std::int64_t>> seen;  // one frame heard by several probes counts once
    for (const auto& [probe, frames] : read_frame_log(dir.path())) {
      for (const LoggedFrame& f : frames) {
        if (f.kind == "probe_req" && seen.emplace(f.sa, f.ts_ns).second) by_mac[f.sa].push_back(f);
      }
    }
    for (auto& [mac, frames] : by_mac) {
      std::sort(frames.begin(), frames.end(), [](const auto& x, const auto& y) { return x.ts_ns < y.ts_ns; });
    }
    for (const auto& probe : truth["probes"]) {
      for (const auto& frame : read_capture(dir.path() / probe["file"].get<std::string>()).frames) {
        const auto radio = parse::parse_radiotap(frame.bytes);
        const auto dot11 = parse::parse_dot11(radio.payload, radio.radio.fcs_at_end);
        if (dot11.verdict == parse::Dot11Result::Verdict::frame && dot11.frame.kind == parse::MgmtKind::probe_req) {
          fingerprints[dot11.frame.sa.to_string()].insert(dot11.frame.ie_fingerprint);
        }
      }
    }
    for (const auto& device : truth["devices"]) {
      for (const auto& use : device["macs"]) device_of[use["mac"].get<std::string>()] = device["id"].get<int>();
    }
  }

  // The device's heard frames in time order, each with the index of its address in the device's macs.
  [[nodiscard]] std::vector<std::pair<LoggedFrame, std::size_t>> heard(const json& device) const {
    std::vector<std::pair<LoggedFrame, std::size_t>> out;
    const auto& macs = device["macs"];
    for (std::size_t k = 0; k < macs.size(); ++k) {
      const auto it = by_mac.find(macs[k]["mac"].get<std::string>());
      if (it == by_mac.end()) continue;
      for (const auto& f : it->second) out.emplace_back(f, k);
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.first.ts_ns < y.first.ts_ns; });
    return out;
  }
};

const MallRun& mall_run() {
  static const MallRun run;
  return run;
}

// Heard frames split into bursts: frames of one burst are at most 0.3 s apart, bursts at least 1 s.
template <typename Frames>
std::vector<Frames> bursts_of(const Frames& frames) {
  std::vector<Frames> bursts;
  for (const auto& f : frames) {
    if (bursts.empty() || f.first.ts_ns - bursts.back().back().first.ts_ns > 900'000'000) bursts.emplace_back();
    bursts.back().push_back(f);
  }
  return bursts;
}

const sim::DeviceModel& model_named(const std::vector<sim::DeviceModel>& models, const std::string& name) {
  const auto it = std::find_if(models.begin(), models.end(), [&](const auto& m) { return m.name == name; });
  REQUIRE(it != models.end());
  return *it;
}

}  // namespace

TEST_CASE("the truth lists every address a device used, and no address belongs to two devices") {
  const MallRun& run = mall_run();
  std::map<std::string, int> owners;
  std::map<int, std::uint64_t> sent_by_visits;
  for (const auto& v : run.truth["visits"]) {
    sent_by_visits[v["device"].get<int>()] += v["frames_sent"].get<std::uint64_t>();
  }
  for (const auto& device : run.truth["devices"]) {
    std::uint64_t frames = 0;
    for (const auto& use : device["macs"]) {
      CHECK(++owners[use["mac"].get<std::string>()] == 1);
      frames += use["frames"].get<std::uint64_t>();
    }
    CHECK(frames == sent_by_visits[device["id"].get<int>()]);  // every probe request sent is on one address
  }
  for (const auto& [mac, frames] : run.by_mac) {
    INFO(mac);
    CHECK(run.device_of.count(mac) == 1);  // every address heard is in the truth
  }
  CHECK(run.by_mac.size() > 500);
}

TEST_CASE("per model: address changes, fixed and stable addresses, as the model says") {
  const MallRun& run = mall_run();
  const auto models = sim::standard_device_models();
  std::map<std::string, std::size_t> checked;  // rotating devices checked, per model
  for (const auto& device : run.truth["devices"]) {
    const sim::DeviceModel& model = model_named(models, device["model"].get<std::string>());
    const std::string addressing = device["addressing"];
    const auto& macs = device["macs"];
    INFO("device " << device["id"].get<int>() << " " << model.name << " " << addressing);
    CHECK(device["randomizing"].get<bool>() == (addressing != "fixed"));
    for (const auto& use : macs) {
      const auto mac = *MacAddress::parse(use["mac"].get<std::string>());
      CHECK(!mac.group());
      CHECK(mac.locally_administered() == (addressing != "fixed"));
    }
    if (addressing == "fixed") {  // (a device that left before its first burst used none)
      CHECK(macs.size() <= 1);
      if (macs.size() == 1) CHECK(macs[0]["mac"] == device["universal_mac"]);
      continue;
    }
    if (addressing == "stable") {
      CHECK(device["associated"].get<bool>());
      CHECK(macs.size() <= 1);
      continue;
    }
    const auto bursts = bursts_of(run.heard(device));
    if (bursts.size() < 2) continue;
    ++checked[model.name];
    if (model.rotation == sim::AddressRotation::per_channel) {
      // A new address on every channel of a scan: 1-2 probes each.
      for (const auto& use : macs) CHECK(use["frames"].get<unsigned>() <= model.probes_per_channel[1]);
      for (const auto& burst : bursts) {
        for (std::size_t i = 1; i < burst.size(); ++i) {
          if (burst[i].first.ts_ns - burst[i - 1].first.ts_ns > 200'000'000) continue;  // another scan's
          const bool same_address = burst[i].second == burst[i - 1].second;
          const bool same_channel_run = std::abs(burst[i].first.ts_ns - burst[i - 1].first.ts_ns) <=
                                        static_cast<std::int64_t>(model.probe_gap_ms[1] * 1e6);
          if (same_address) CHECK(same_channel_run);
        }
      }
    } else if (model.rotation == sim::AddressRotation::per_bursts) {
      // One address per burst, another for the next.
      for (std::size_t b = 0; b < bursts.size(); ++b) {
        for (const auto& f : bursts[b]) CHECK(f.second == bursts[b].front().second);
        if (b > 0) CHECK(bursts[b].front().second != bursts[b - 1].front().second);
      }
    }
  }
  for (const char* name : {"iphone-11", "iphone-12", "iphone-xr", "iphone-7", "galaxy-s21", "android-pixel-like"}) {
    INFO(name);
    CHECK(checked[name] >= 3);
  }
}

TEST_CASE("per model: the sequence counter continues across an address change or restarts at random") {
  const MallRun& run = mall_run();
  const auto models = sim::standard_device_models();
  struct Steps {
    std::size_t changes = 0;
    std::size_t within = 0;  // steps no larger than the frames sent on the two addresses
  };
  std::map<std::string, Steps> by_model;
  for (const auto& device : run.truth["devices"]) {
    if (device["addressing"] != "rotating") continue;
    const sim::DeviceModel& model = model_named(models, device["model"].get<std::string>());
    const auto& macs = device["macs"];
    for (std::size_t k = 0; k + 1 < macs.size(); ++k) {
      const auto before = run.by_mac.find(macs[k]["mac"].get<std::string>());
      const auto after = run.by_mac.find(macs[k + 1]["mac"].get<std::string>());
      if (before == run.by_mac.end() || after == run.by_mac.end()) continue;
      const unsigned step = (after->second.front().seq + 4096 - before->second.back().seq) % 4096;
      // Frames sent from the two addresses, and the numbers a model spends between channels, bound a continuing step.
      const unsigned sent = macs[k]["frames"].get<unsigned>() + macs[k + 1]["frames"].get<unsigned>();
      const unsigned bound = sent * (1u + model.seq_skip_per_channel[1]);
      Steps& steps = by_model[model.name];
      ++steps.changes;
      if (step >= 1 && step <= bound) ++steps.within;
    }
  }
  for (const auto& model : models) {
    if (model.randomizing_share < 1.0) continue;  // laptops and old phones rarely change address
    const Steps& steps = by_model[model.name];
    INFO(model.name << ": " << steps.within << " of " << steps.changes << " steps small");
    REQUIRE(steps.changes >= 10);
    if (model.seq_at_change == sim::SeqAtAddressChange::continues) {
      CHECK(steps.within == steps.changes);
    } else {
      CHECK(steps.within * 5 < steps.changes);  // a random 12-bit start lands close only by chance
    }
  }
}

TEST_CASE("per model: bursts follow each other within the model's period range") {
  const MallRun& run = mall_run();
  const auto models = sim::standard_device_models();
  std::map<std::string, std::pair<std::size_t, std::size_t>> gaps;  // model -> (gaps, gaps within the range)
  for (const auto& device : run.truth["devices"]) {
    const sim::DeviceModel& model = model_named(models, device["model"].get<std::string>());
    const bool associated = device["associated"].get<bool>();
    // Screen on or off may change between bursts; an associated device probes at its own pace.
    double lo = std::min(model.idle_period.min_s, model.screen_on_period.min_s);
    double hi = std::max(model.idle_period.max_s, model.screen_on_period.max_s);
    if (associated) {
      lo = model.associated_period.min_s;
      hi = model.associated_period.max_s;
    }
    const auto bursts = bursts_of(run.heard(device));
    for (std::size_t b = 1; b < bursts.size(); ++b) {
      const double gap_s = static_cast<double>(bursts[b].front().first.ts_ns - bursts[b - 1].front().first.ts_ns) / 1e9;
      INFO(model.name << (associated ? " associated" : "") << ": gap " << gap_s << " s");
      // The first frame heard may be up to a second into its burst.
      CHECK(gap_s >= lo - 1.0);
      auto& [all, within] = gaps[model.name + (associated ? "/associated" : "")];
      ++all;
      if (gap_s <= hi + 1.0) ++within;  // longer only when a whole burst went unheard
    }
  }
  for (const auto& [name, counts] : gaps) {
    INFO(name << ": " << counts.second << " of " << counts.first << " gaps within the range");
    CHECK(counts.second * 10 >= counts.first * 7);
  }
  CHECK(gaps["laptop-like"].first >= 5);
  CHECK(gaps["iphone-11"].first >= 20);
}

TEST_CASE("phones of one model and variant send identical elements: one fingerprint each, another per variant") {
  const MallRun& run = mall_run();
  std::map<std::string, std::set<std::uint64_t>> by_model;  // by model and variant
  std::map<std::string, std::size_t> devices_heard;
  for (const auto& device : run.truth["devices"]) {
    std::set<std::uint64_t> prints;
    for (const auto& use : device["macs"]) {
      const auto it = run.fingerprints.find(use["mac"].get<std::string>());
      if (it != run.fingerprints.end()) prints.insert(it->second.begin(), it->second.end());
    }
    if (prints.empty()) continue;
    CHECK(prints.count(0) == 0);
    const std::string kind = device["model"].get<std::string>() + "/" + std::to_string(device["variant"].get<int>());
    ++devices_heard[kind];
    by_model[kind].insert(prints.begin(), prints.end());
  }
  std::set<std::uint64_t> all;
  std::set<std::string> models;
  std::size_t shared = 0;
  for (const auto& [kind, prints] : by_model) {
    INFO(kind << ": " << devices_heard[kind] << " devices");
    CHECK(prints.size() == 1);
    if (devices_heard[kind] >= 2) ++shared;
    all.insert(prints.begin(), prints.end());
    models.insert(kind.substr(0, kind.find('/')));
  }
  CHECK(shared >= sim::standard_device_models().size());  // fingerprints shared by several phones: the hard case
  CHECK(all.size() == by_model.size());
  CHECK(models.size() == sim::standard_device_models().size());
  // Variants: the first is the most common (shares 1/(k+1)), and a model has at most 8.
  std::map<std::string, std::size_t> variants_of;
  for (const auto& [kind, prints] : by_model) ++variants_of[kind.substr(0, kind.find('/'))];
  for (const auto& [model, n] : variants_of) CHECK(n <= 8);
  CHECK(devices_heard["iphone-11/0"] > devices_heard["iphone-11/7"]);
}

TEST_CASE("--randomizing-share 0: every device keeps its one burned-in address") {
  const TempDir dir{"sim-test"};
  auto config = small_office(dir.path(), 4);
  config.randomizing_share = 0.0;
  config.frame_log = false;
  sim::run_simulation(config);
  const json truth = load_truth(dir.path());
  std::size_t devices = 0;
  for (const auto& device : truth["devices"]) {
    INFO(device.dump());
    CHECK(device["addressing"] == "fixed");
    REQUIRE(device["macs"].size() <= 1);  // none when it left before its first burst
    if (device["macs"].empty()) continue;
    CHECK(device["macs"][0]["mac"] == device["universal_mac"]);
    ++devices;
  }
  CHECK(devices > 20);
}

TEST_CASE("visits in the truth are consistent: times, zones in order, what each probe heard") {
  const OfficeRun& run = office_run();
  const auto& truth = run.truth;
  const auto start = truth["start_ns"].get<std::int64_t>();
  const auto end = truth["end_ns"].get<std::int64_t>();
  std::set<std::string> zones;
  for (const auto& z : truth["zones"]) zones.insert(z["name"].get<std::string>());
  std::map<std::string, std::size_t> roles;
  std::map<std::int64_t, std::uint64_t> heard_by_probe;
  std::int64_t previous_arrival = start;
  for (const auto& v : truth["visits"]) {
    INFO("visit " << v["id"].get<int>());
    const auto arrival = v["arrival_ns"].get<std::int64_t>();
    const auto departure = v["departure_ns"].get<std::int64_t>();
    CHECK(start <= arrival);
    CHECK(arrival <= departure);
    CHECK(departure <= end);
    CHECK(previous_arrival <= arrival);  // listed in order of arrival
    previous_arrival = arrival;
    CHECK(v["dwell_s"].get<double>() == doctest::Approx(static_cast<double>(departure - arrival) / 1e9));
    const std::string role = v["role"].get<std::string>();
    ++roles[role];
    std::int64_t t = arrival;
    for (const auto& stay : v["zones"]) {
      CHECK(zones.count(stay["zone"].get<std::string>()) == 1);
      CHECK(t <= stay["enter_ns"].get<std::int64_t>());
      CHECK(stay["enter_ns"].get<std::int64_t>() <= stay["leave_ns"].get<std::int64_t>());
      t = stay["leave_ns"].get<std::int64_t>();
    }
    CHECK(t <= departure);
    if (role == "passer_by") CHECK(v["zones"].empty());
    if (role == "visitor" && v["complete"].get<bool>()) CHECK(v["zones"].front()["zone"] == "entrance");
    std::uint64_t heard = 0;
    for (const auto& p : v["probes"]) {
      CHECK(p["frames"].get<std::uint64_t>() > 0);
      CHECK(p["rssi_min"].get<int>() <= p["rssi_max"].get<int>());
      CHECK(p["rssi_min"].get<int>() >= -92);  // probes' sensitivity
      CHECK(arrival <= p["first_ns"].get<std::int64_t>());
      CHECK(p["first_ns"].get<std::int64_t>() <= p["last_ns"].get<std::int64_t>());
      CHECK(p["last_ns"].get<std::int64_t>() <= departure);
      heard += p["frames"].get<std::uint64_t>();
      heard_by_probe[p["probe"].get<std::int64_t>()] += p["frames"].get<std::uint64_t>();
    }
    // Office probes sit on three different channels: each transmission reaches at most one of them.
    CHECK(heard <= v["frames_sent"].get<std::uint64_t>());
  }
  for (const auto& p : truth["totals"]["per_probe"]) {
    CHECK(heard_by_probe[p["probe"].get<std::int64_t>()] == p["probe_req"].get<std::uint64_t>());
  }
  CHECK(roles["visitor"] > 0);
  CHECK(roles["passer_by"] > 0);
  CHECK(roles["staff"] == 3);
  CHECK(roles["group_member"] >= 2);
  for (const auto& g : truth["groups"]) {
    CHECK(g["devices"].size() >= 2);
    CHECK(g["devices"].size() <= 4);
    // Members walk in within 20 s of each other (less at 30 times speed).
    std::int64_t first = INT64_MAX, last = 0;
    for (const auto& id : g["visits"]) {
      const auto a = truth["visits"][id.get<std::size_t>()]["arrival_ns"].get<std::int64_t>();
      first = std::min(first, a);
      last = std::max(last, a);
    }
    CHECK(last - first <= 20'000'000'000 / 30 + 1);
  }
}

TEST_CASE("on later days visitors return with the same device; randomizing ones with new addresses") {
  const TempDir dir{"sim-test"};
  auto config = small_office(dir.path(), 3);
  config.days = 3;
  config.duration_ns = 3LL * 60 * 1'000'000'000;
  config.time_scale = 60.0;
  config.frame_log = false;
  const auto result = sim::run_simulation(config);
  const json truth = load_truth(dir.path());
  CHECK(truth["days"].size() == 3);
  std::size_t returning = 0;
  for (const auto& v : truth["visits"]) {
    if (!v["returning"].get<bool>() || v["role"] != "visitor") continue;
    ++returning;
    const auto id = v["device"].get<int>();
    const auto it = std::find_if(truth["devices"].begin(), truth["devices"].end(),
                                 [&](const json& d) { return d["id"].get<int>() == id; });
    REQUIRE(it != truth["devices"].end());
    const auto& visits = (*it)["visits"];
    REQUIRE(visits.size() >= 2);
    CHECK(truth["visits"][visits[0].get<std::size_t>()]["day"].get<int>() < v["day"].get<int>());
    if ((*it)["addressing"] == "rotating") {
      // No address is used on two days (an associated phone keeps its network's private address).
      std::set<int> days_of_address;
      const auto day_start = [&](int d) { return truth["days"][static_cast<std::size_t>(d)]["start_ns"].get<std::int64_t>(); };
      for (const auto& use : (*it)["macs"]) {
        const auto first = use["first_ns"].get<std::int64_t>();
        const auto last = use["last_ns"].get<std::int64_t>();
        int first_day = 0, last_day = 0;
        for (int d = 0; d < 3; ++d) {
          if (first >= day_start(d)) first_day = d;
          if (last >= day_start(d)) last_day = d;
        }
        CHECK(first_day == last_day);
      }
    }
  }
  CHECK(returning > 0);
  CHECK(result.days.size() == 3);

  // Staff are on site the whole opening hours of every day, counted as staff.
  std::map<int, std::set<int>> staff_days;
  for (const auto& v : truth["visits"]) {
    if (v["role"] != "staff") continue;
    CHECK(v["counts_as"] == "staff");
    const auto& day = truth["days"][v["day"].get<std::size_t>()];
    CHECK(v["arrival_ns"] == day["start_ns"]);
    CHECK(v["departure_ns"] == day["end_ns"]);
    CHECK(staff_days[v["device"].get<int>()].insert(v["day"].get<int>()).second);
  }
  CHECK(staff_days.size() == 3);  // the office's staff
  for (const auto& [device, days] : staff_days) CHECK(days.size() == 3);
}

TEST_CASE("the frame limit stops the run once the largest capture holds that many frames") {
  const TempDir dir{"sim-test"};
  auto config = small_office(dir.path(), 5);
  config.frame_limit = 3000;
  config.frame_log = false;
  const auto result = sim::run_simulation(config);
  CHECK(result.stopped_at_frame_limit);
  std::uint64_t largest = 0;
  for (const auto& counts : result.heard) largest = std::max(largest, counts.total());
  CHECK(largest == 3000);
  const json truth = load_truth(dir.path());
  CHECK(truth["stopped_at_frame_limit"].get<bool>());
  std::size_t largest_file = 0;
  for (const auto& probe : truth["probes"]) {
    largest_file = std::max(largest_file, read_capture(dir.path() / probe["file"].get<std::string>()).frames.size());
  }
  CHECK(largest_file == 3000);
  for (const auto& v : truth["visits"]) {
    CHECK(v["arrival_ns"].get<std::int64_t>() <= truth["end_ns"].get<std::int64_t>());
    CHECK(v["departure_ns"].get<std::int64_t>() <= truth["end_ns"].get<std::int64_t>());
  }
  for (const auto& d : truth["devices"]) {
    for (const auto& use : d["macs"]) CHECK(use["last_ns"].get<std::int64_t>() <= truth["end_ns"].get<std::int64_t>());
  }
}

TEST_CASE("mall scenario: more probes and zones, devices heard by several probes on one channel") {
  const TempDir dir{"sim-test"};
  auto config = small_office(dir.path(), 11);
  config.scenario = "mall";
  config.duration_ns = 60LL * 1'000'000'000;
  config.frame_log = false;
  const auto result = sim::run_simulation(config);
  CHECK(result.scenario.probes.size() >= 6);
  std::set<unsigned> channels;
  for (const auto& p : result.scenario.probes) channels.insert(p.channel);
  CHECK(channels == std::set<unsigned>{1, 6, 11});
  std::size_t multi = 0;
  for (const auto& v : result.schedule.visits) {
    std::size_t probes = 0;
    for (const auto& h : v.heard) probes += h.frames > 0 ? 1 : 0;
    if (probes >= 2) ++multi;
  }
  CHECK(multi > 0);
  CHECK(result.schedule.visits.size() > 100);
}

TEST_CASE("frame encoding: radiotap fields in their aligned places, probe request bytes, FCS") {
  const std::array<std::uint8_t, 9> check{'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  CHECK(sim::crc32(check) == 0xcbf43926u);  // the CRC-32 check value

  std::array<std::uint8_t, sim::kRadiotapBytes> radiotap{};
  sim::write_radiotap(radiotap, {.tsft_us = 0x0102030405060708ULL, .freq_mhz = 2437, .signal_dbm = -61});
  const std::array<std::uint8_t, sim::kRadiotapBytes> want_radiotap{
      0x00, 0x00, 0x17, 0x00, 0x2b, 0x00, 0x00, 0x00,  // version, pad, length 23, TSFT|Flags|Channel|dBm signal
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // TSFT
      0x10, 0x00,                                      // Flags: FCS at end; pad to 2-byte alignment
      0x85, 0x09, 0xa0, 0x00,                          // 2437 MHz, 2 GHz | CCK
      0xc3};                                           // -61 dBm
  CHECK(radiotap == want_radiotap);

  const auto models = sim::standard_device_models();
  const auto legacy = std::find_if(models.begin(), models.end(), [](const auto& m) { return m.name == "legacy-phone"; });
  REQUIRE(legacy != models.end());
  std::array<std::uint8_t, sim::kMaxFrameBytes> out{};
  const auto sa = *MacAddress::parse("00:23:76:12:34:56");
  const std::size_t n = sim::build_probe_request(out, {.sa = sa, .seq = 0x123, .ssid = "", .channel = 6}, *legacy);
  const std::vector<std::uint8_t> want{
      0x40, 0x00, 0x00, 0x00,                          // probe request, duration 0
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,              // DA broadcast
      0x00, 0x23, 0x76, 0x12, 0x34, 0x56,              // SA
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,              // BSSID wildcard
      0x30, 0x12,                                      // sequence 0x123, fragment 0
      0x00, 0x00,                                      // wildcard SSID
      0x01, 0x04, 0x02, 0x04, 0x0b, 0x16,              // supported rates
      0x32, 0x08, 0x0c, 0x12, 0x18, 0x24, 0x30, 0x48, 0x60, 0x6c,  // extended rates
      0x2d, 0x1a, 0x20, 0x00, 0x01, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // HT capabilities
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x67, 0xaf, 0xc7, 0x9c};                         // FCS
  CHECK(std::vector<std::uint8_t>(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)) == want);

  std::array<std::uint8_t, 8> tiny{};
  CHECK(sim::build_probe_request(tiny, {.sa = sa, .seq = 1, .ssid = "", .channel = 6}, *legacy) == 0);
}

TEST_CASE("command-line times") {
  CHECK(sim::parse_utc_timestamp("2026-11-02T09:00:00Z") == 1'793'610'000LL * 1'000'000'000);
  CHECK(sim::parse_utc_timestamp("2026-11-02T09:00:00.25Z") == 1'793'610'000LL * 1'000'000'000 + 250'000'000);
  CHECK_FALSE(sim::parse_utc_timestamp("2026-11-02 09:00"));
  CHECK_FALSE(sim::parse_utc_timestamp("2026-02-30T09:00:00Z"));
  CHECK(sim::parse_duration_ns("10h") == 36'000LL * 1'000'000'000);
  CHECK(sim::parse_duration_ns("1h30m") == 5'400LL * 1'000'000'000);
  CHECK(sim::parse_duration_ns("250ms") == 250'000'000);
  CHECK(sim::parse_duration_ns("90") == 90LL * 1'000'000'000);
  CHECK_FALSE(sim::parse_duration_ns("10x"));
  CHECK_FALSE(sim::parse_duration_ns("h"));
  CHECK(sim::format_utc(1'793'610'000LL * 1'000'000'000) == "2026-11-02T09:00:00Z");
  CHECK(sim::format_utc(1'793'610'000LL * 1'000'000'000 + 5) == "2026-11-02T09:00:00.000000005Z");
}

TEST_CASE("bad arguments: one line naming the option, exit status 2") {
  const fs::path binary = fs::path(FOOTFALL_BIN_DIR) / "footfall-sim";
  if (!fs::exists(binary)) {
    MESSAGE("skipped: " << binary << " is not built");
    return;
  }
  const TempDir dir{"sim-test"};
  struct Case {
    std::string args;
    std::string names;
  };
  const std::vector<Case> cases{
      {"--scenario shop --out " + dir.path().string(), "--scenario"},
      {"--seed many --out " + dir.path().string(), "--seed"},
      {"--start yesterday --out " + dir.path().string(), "--start"},
      {"--duration 10x --out " + dir.path().string(), "--duration"},
      {"--days 0 --out " + dir.path().string(), "--days"},
      {"--mac-change-prob 2 --out " + dir.path().string(), "--mac-change-prob"},
      {"--scenario office", "--out"},
  };
  for (const auto& c : cases) {
    INFO(c.args);
    const std::string command = binary.string() + " " + c.args + " 2>&1";
    std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
    REQUIRE(pipe != nullptr);
    std::string output;
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe.get()) != nullptr) output += buf.data();
    const int status = pclose(pipe.release());
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    CHECK(output.find(c.names) != std::string::npos);
    CHECK(std::count(output.begin(), output.end(), '\n') == 1);
  }
  CHECK(fs::is_empty(dir.path()));
}

namespace {

// One line of sales.csv split by RFC 4180 (quoted fields may hold commas and doubled quotes).
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

std::vector<std::vector<std::string>> read_sales_csv(const fs::path& path) {
  std::istringstream in(slurp(path));
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(csv_fields(line));
  return rows;
}

// Checks sales.csv against truth.json: same sales, in time order, each made by a visitor inside the zone.
std::size_t check_sales(const fs::path& dir, const std::string& site) {
  const json truth = load_truth(dir);
  const auto rows = read_sales_csv(dir / sim::kSalesFileName);
  REQUIRE(!rows.empty());
  CHECK(rows[0] == std::vector<std::string>{"sale_id", "site", "time", "amount"});
  const auto& sales = truth["sales"];
  REQUIRE(rows.size() == sales.size() + 1);
  CHECK(truth["site"] == site);
  CHECK(truth["totals"]["sales"]["count"].get<std::size_t>() == sales.size());
  std::int64_t cents = 0;
  std::int64_t previous_ns = 0;
  std::set<std::string> ids;
  for (std::size_t i = 0; i < sales.size(); ++i) {
    const auto& sale = sales[i];
    const auto& row = rows[i + 1];
    INFO(sale.dump());
    REQUIRE(row.size() == 4);
    CHECK(row[0] == sale["sale_id"]);
    CHECK(ids.insert(row[0]).second);
    CHECK(row[1] == site);
    CHECK(row[2] == sale["time"]);
    // ISO-8601 UTC with exactly three fraction digits, and the instant of time_ns.
    CHECK(row[2].size() == 24);
    CHECK(row[2][19] == '.');
    CHECK(row[2].back() == 'Z');
    const auto t_ns = sale["time_ns"].get<std::int64_t>();
    CHECK(sim::parse_utc_timestamp(row[2]) == t_ns);
    CHECK(t_ns % 1'000'000 == 0);
    CHECK(t_ns >= previous_ns);
    previous_ns = t_ns;
    // Two decimals, and the same amount as the truth's cents.
    const auto dot = row[3].find('.');
    REQUIRE(dot != std::string::npos);
    CHECK(row[3].size() == dot + 3);
    const auto amount_cents = sale["amount_cents"].get<std::int64_t>();
    CHECK(amount_cents > 0);
    CHECK(std::stoll(row[3].substr(0, dot)) * 100 + std::stoll(row[3].substr(dot + 1)) == amount_cents);
    cents += amount_cents;

    const auto& visit = truth["visits"][sale["visit"].get<std::size_t>()];
    CHECK(visit["id"] == sale["visit"]);
    CHECK(visit["device"] == sale["device"]);
    CHECK(visit["counts_as"] == "visitor");
    CHECK(visit["arrival_ns"].get<std::int64_t>() <= t_ns);
    CHECK(t_ns <= visit["departure_ns"].get<std::int64_t>());
    const auto& listed = visit["sales"];
    CHECK(std::find(listed.begin(), listed.end(), sale["sale_id"]) != listed.end());
    bool in_zone = false;
    for (const auto& stay : visit["zones"]) {
      in_zone = in_zone || (stay["zone"] == sale["zone"] && stay["enter_ns"].get<std::int64_t>() <= t_ns &&
                            t_ns <= stay["leave_ns"].get<std::int64_t>());
    }
    CHECK(in_zone);
  }
  CHECK(truth["totals"]["sales"]["amount_cents"].get<std::int64_t>() == cents);
  std::int64_t per_day = 0;
  for (const auto& d : truth["totals"]["sales"]["per_day"]) per_day += d["amount_cents"].get<std::int64_t>();
  CHECK(per_day == cents);
  return sales.size();
}

}  // namespace

TEST_CASE("sales: visitors in a selling zone buy; sales.csv and truth.json agree, deterministic by seed") {
  TempDir mall_a, mall_b, office;
  auto config = small_office(mall_a.path(), 11);
  config.scenario = "mall";
  config.duration_ns = 60LL * 1'000'000'000;
  config.frame_log = false;
  const auto result = sim::run_simulation(config);
  CHECK(result.site == "mall");
  const std::size_t mall_sales = check_sales(mall_a.path(), "mall");
  CHECK(mall_sales > 5);
  std::set<std::string> zones;
  for (const auto& sale : load_truth(mall_a.path())["sales"]) zones.insert(sale["zone"].get<std::string>());
  CHECK(!zones.contains("north-entrance"));
  CHECK(!zones.contains("south-entrance"));
  config.out_dir = mall_b.path();
  sim::run_simulation(config);
  CHECK(slurp(mall_a.path() / sim::kSalesFileName) == slurp(mall_b.path() / sim::kSalesFileName));

  // An office sells only at the negotiation corner; a site name with a comma and quotes is quoted.
  auto office_config = small_office(office.path(), 5);
  office_config.duration_ns = 10LL * 60 * 1'000'000'000;
  office_config.time_scale = 60.0;
  office_config.frame_log = false;
  office_config.site = R"(Sales "Nord", Berlin)";
  sim::run_simulation(office_config);
  CHECK(check_sales(office.path(), office_config.site) > 0);
  for (const auto& sale : load_truth(office.path())["sales"]) CHECK(sale["zone"] == "negotiation");
  CHECK(slurp(office.path() / sim::kSalesFileName).find(R"("Sales ""Nord"", Berlin")") != std::string::npos);
}

TEST_CASE("each visit states what an aggregator check needs: counted role, party, zones in order, sales") {
  const TempDir dir{"sim-test"};
  auto config = small_office(dir.path(), 3);
  config.days = 2;
  config.duration_ns = 5LL * 60 * 1'000'000'000;
  config.time_scale = 60.0;
  config.frame_log = false;
  sim::run_simulation(config);
  const json truth = load_truth(dir.path());
  std::size_t groups = 0;
  for (const auto& v : truth["visits"]) {
    INFO(v["id"]);
    const std::string role = v["role"];
    CHECK(v["counts_as"] == (role == "group_member" ? "visitor" : role));
    CHECK(v["dwell_s"].get<double>() >= 0.0);
    CHECK(v["sales"].is_array());
    if (v["role"] == "passer_by") {
      CHECK(v["zones"].empty());
      CHECK(v["entry_zone"].is_null());
      continue;
    }
    REQUIRE(!v["zones"].empty());
    CHECK(v["entry_zone"] == v["zones"].front()["zone"]);
    CHECK(v["exit_zone"] == v["zones"].back()["zone"]);
    std::vector<std::string> order;
    for (const auto& stay : v["zones"]) {
      if (std::find(order.begin(), order.end(), stay["zone"]) == order.end()) order.push_back(stay["zone"]);
    }
    CHECK(v["zone_order"] == json(order));
    if (v["group"].is_null()) {
      CHECK(v["party_size"] == 1);
      continue;
    }
    // Members of a group arrive together: within the 20 s (real time) they walk in one after the other.
    const auto& group = truth["groups"][v["group"].get<std::size_t>()];
    CHECK(group["id"] == v["group"]);
    CHECK(v["party_size"].get<std::size_t>() == group["visits"].size());
    CHECK(v["party_size"].get<std::size_t>() >= 2);
    CHECK(v["arrival_ns"].get<std::int64_t>() - group["arrival_ns"].get<std::int64_t>() <= 20'000'000'000 / 60);
    CHECK(v["returning"] == false);
    ++groups;
  }
  CHECK(groups > 0);
}

TEST_CASE("sale times and amounts as text") {
  CHECK(sim::format_utc_ms(*sim::parse_utc_timestamp("2026-11-25T10:15:00.123456Z")) == "2026-11-25T10:15:00.123Z");
  CHECK(sim::format_utc_ms(*sim::parse_utc_timestamp("2026-11-25T10:15:00Z")) == "2026-11-25T10:15:00.000Z");
  CHECK(sim::format_utc_ms(-1'000'000) == "1969-12-31T23:59:59.999Z");
  CHECK(sim::format_amount(1230) == "12.30");
  CHECK(sim::format_amount(5) == "0.05");
  CHECK(sim::format_amount(-105) == "-1.05");
}

namespace {

// `footfall-probe presence --read` on one probe's capture: the distinct `device` values it reports (the
// probe links the addresses of one phone into one device) and the distinct addresses behind them.
struct Estimate {
  std::size_t devices = 0;
  std::size_t addresses = 0;
};

std::optional<Estimate> presence_estimate(const fs::path& capture, int floor_dbm) {
  const fs::path binary = fs::path(FOOTFALL_BIN_DIR) / "footfall-probe";
  if (!fs::exists(binary)) return std::nullopt;
  const std::string command = binary.string() + " presence --read '" + capture.string() +
                              "' --update 0 --floor " + std::to_string(floor_dbm) + " 2>/dev/null";
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(command.c_str(), "r"), &pclose);
  REQUIRE(pipe != nullptr);
  std::set<std::string> devices;
  std::set<std::string> addresses;
  std::string line;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), static_cast<int>(buf.size()), pipe.get()) != nullptr) {
    line += buf.data();
    if (line.empty() || line.back() != '\n') continue;
    const json event = json::parse(line);
    line.clear();
    devices.insert(event["device"].get<std::string>());
    addresses.insert(event["mac"].get<std::string>());
    if (event.contains("previous_mac")) addresses.insert(event["previous_mac"].get<std::string>());
  }
  const int status = pclose(pipe.release());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return Estimate{devices.size(), addresses.size()};
}

// Devices of the truth that `probe` heard at or above the floor, and the addresses it heard from them.
std::pair<std::size_t, std::size_t> truth_heard(const fs::path& dir, int probe, int floor_dbm) {
  const json truth = load_truth(dir);
  std::set<int> devices;
  for (const auto& v : truth["visits"]) {
    for (const auto& p : v["probes"]) {
      if (p["probe"] == probe && p["rssi_max"].get<int>() >= floor_dbm) devices.insert(v["device"].get<int>());
    }
  }
  std::set<std::string> addresses;
  for (const auto& [p, frames] : read_frame_log(dir)) {
    if (p != probe) continue;
    for (const auto& f : frames) {
      if (f.kind == "probe_req" && f.rssi >= floor_dbm) addresses.insert(f.sa);
    }
  }
  return {devices.size(), addresses.size()};
}

constexpr int kFloorDbm = -90;  // footfall-probe presence's default floor

fs::path office_hour(const fs::path& out, std::optional<double> randomizing_share) {
  auto config = small_office(out, 1);
  config.duration_ns = 3600LL * 1'000'000'000;
  config.time_scale = 1.0;
  config.randomizing_share = randomizing_share;
  sim::run_simulation(config);
  return out / sim::capture_file_name(1);
}

}  // namespace

TEST_CASE("end to end: with one address per device the probe's device count is the truth's") {
  const TempDir dir{"sim-test"};
  const fs::path capture = office_hour(dir.path(), 0.0);
  const auto estimate = presence_estimate(capture, kFloorDbm);
  if (!estimate) {
    MESSAGE("skipped: footfall-probe is not built in " FOOTFALL_BIN_DIR);
    return;
  }
  const auto [truth_devices, truth_addresses] = truth_heard(dir.path(), 1, kFloorDbm);
  MESSAGE("office hour, fixed addresses, probe 1: " << estimate->devices << " devices estimated, truth "
                                                    << truth_devices << " (" << truth_addresses << " addresses)");
  REQUIRE(truth_devices >= 20);
  CHECK(static_cast<double>(estimate->devices) >= 0.85 * static_cast<double>(truth_devices));
  CHECK(static_cast<double>(estimate->devices) <= 1.15 * static_cast<double>(truth_devices));
}

// The realistic phones (the default mix): the estimate against the truth of the same capture. The probe links
// the many addresses of each phone, so it must not count more devices than there are; not counting fewer
// than 85 % is not met today (docs/simulator.md, "Device linking against the truth"): phones of one model
// heard one after another within the probe's link window (300 s) share a fingerprint and, with random
// sequence numbers, are linked into one device. That half guards 70 % and prints the figure.
struct RealisticHour {
  const TempDir dir{"sim-test"};
  std::optional<Estimate> estimate;
  std::size_t truth_devices = 0;
  std::size_t truth_addresses = 0;
  RealisticHour() {
    estimate = presence_estimate(office_hour(dir.path(), std::nullopt), kFloorDbm);
    std::tie(truth_devices, truth_addresses) = truth_heard(dir.path(), 1, kFloorDbm);
    if (estimate) {
      MESSAGE("office hour, realistic phones, probe 1: " << estimate->devices << " devices estimated from "
                                                         << truth_addresses << " addresses, truth " << truth_devices);
    }
  }
};

const RealisticHour& realistic_hour() {
  static const RealisticHour run;
  return run;
}

TEST_CASE("end to end: on realistic phones the probe never counts more devices than the truth (+15 %)") {
  const RealisticHour& run = realistic_hour();
  if (!run.estimate) {
    MESSAGE("skipped: footfall-probe is not built in " FOOTFALL_BIN_DIR);
    return;
  }
  REQUIRE(run.truth_devices >= 20);
  REQUIRE(run.truth_addresses > 2 * run.truth_devices);  // the phones do rotate their addresses
  CHECK(run.estimate->devices <= run.truth_addresses);
  CHECK(static_cast<double>(run.estimate->devices) <= 1.15 * static_cast<double>(run.truth_devices));
}

TEST_CASE("end to end: on realistic phones the probe counts at least 70 % of the truth's devices") {
  // The aim is 85 %; one probe alone measures 0.77 here (docs/simulator.md, "Device linking against the truth"):
  // phones of one fingerprint heard one after another merge. 70 % guards what is reached.
  const RealisticHour& run = realistic_hour();
  if (!run.estimate) {
    MESSAGE("skipped: footfall-probe is not built in " FOOTFALL_BIN_DIR);
    return;
  }
  CHECK(static_cast<double>(run.estimate->devices) >= 0.70 * static_cast<double>(run.truth_devices));
}

namespace {

// One phone's probe requests in a ProbingPatterns capture (three sniffers: a frame heard twice counts once).
struct PhoneFrame {
  std::int64_t ts_ns = 0;
  std::string sa;
  unsigned seq = 0;
  unsigned channel = 0;  // the DS parameter set: the channel the phone sent on
};

std::vector<PhoneFrame> phone_frames(const fs::path& file) {
  std::vector<PhoneFrame> frames;
  std::map<std::pair<std::string, unsigned>, std::int64_t> last_copy;
  for (const auto& frame : read_capture(file).frames) {
    const auto radio = parse::parse_radiotap(frame.bytes);
    const auto dot11 = parse::parse_dot11(radio.payload, radio.radio.fcs_at_end);
    if (dot11.verdict != parse::Dot11Result::Verdict::frame || dot11.frame.kind != parse::MgmtKind::probe_req) continue;
    PhoneFrame f{frame.ts_ns, dot11.frame.sa.to_string(), dot11.frame.seq, dot11.frame.ds_channel.value_or(0)};
    auto [it, added] = last_copy.try_emplace({f.sa, f.seq}, f.ts_ns);
    if (!added && f.ts_ns - it->second < 1'000'000'000) continue;
    it->second = f.ts_ns;
    frames.push_back(f);
  }
  std::sort(frames.begin(), frames.end(), [](const auto& a, const auto& b) { return a.ts_ns < b.ts_ns; });
  return frames;
}

template <typename T>
T median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

// The measured models' numbers are the captures' (docs/simulator.md, "Device models"): re-measured here so that
// a model cannot drift from its source. Skipped, saying why, where ../shared/captures is absent.
TEST_CASE("the measured device models probe as the phones of their captures do") {
  const fs::path captures = fs::path(FOOTFALL_SHARED_DIR) / "captures";
  const std::vector<std::pair<std::string, std::string>> sources{
      {"iphone-11", "rt127-probingpatterns-iphone11-B-one-device.pcap"},
      {"iphone-11", "rt127-probingpatterns-iphone11-M-one-device.pcap"},
      {"iphone-xr", "rt127-probingpatterns-iphoneXR-A-one-device.pcap"},
      {"iphone-7", "rt127-probingpatterns-iphone7-F-one-device.pcap"},
      {"galaxy-s21", "rt127-probingpatterns-galaxyS21ultra-M-one-device.pcap"},
  };
  const auto models = sim::standard_device_models();
  for (const auto& [name, file] : sources) {
    if (!fs::exists(captures / file)) {
      MESSAGE("skipped: " << (captures / file).string() << " is absent");
      continue;
    }
    const sim::DeviceModel& model = model_named(models, name);
    INFO(name << " against " << file);
    const auto frames = phone_frames(captures / file);
    REQUIRE(frames.size() > 100);
    std::vector<std::vector<PhoneFrame>> bursts;  // a burst ends after 2 s without a frame
    for (const auto& f : frames) {
      if (bursts.empty() || f.ts_ns - bursts.back().back().ts_ns > 2'000'000'000) bursts.emplace_back();
      bursts.back().push_back(f);
    }
    std::vector<double> gaps_s;
    for (std::size_t b = 1; b < bursts.size(); ++b) {
      const double gap = static_cast<double>(bursts[b].front().ts_ns - bursts[b - 1].back().ts_ns) / 1e9;
      if (gap < 3600) gaps_s.push_back(gap);  // iPhone11-M's second session is 21 days later
    }
    const double measured = median(gaps_s);
    CHECK(model.idle_period.median_s >= 0.75 * measured);
    CHECK(model.idle_period.median_s <= 1.25 * measured);
    CHECK(model.idle_period.max_s >= *std::max_element(gaps_s.begin(), gaps_s.end()) * 0.95);

    std::vector<std::size_t> addresses_per_burst;
    std::size_t widest = 0;
    for (const auto& burst : bursts) {
      std::set<std::string> addresses;
      std::set<unsigned> channels;
      for (const auto& f : burst) {
        addresses.insert(f.sa);
        channels.insert(f.channel);
      }
      addresses_per_burst.push_back(addresses.size());
      widest = std::max(widest, channels.size());
    }
    CHECK(widest == model.scan_channels.size());
    if (model.rotation == sim::AddressRotation::per_channel) CHECK(median(addresses_per_burst) >= 2);
    if (model.rotation == sim::AddressRotation::per_bursts) CHECK(median(addresses_per_burst) == 1);

    std::size_t changes = 0;
    std::size_t small = 0;
    for (std::size_t i = 1; i < frames.size(); ++i) {
      if (frames[i].sa == frames[i - 1].sa) continue;
      const unsigned step = (frames[i].seq + 4096 - frames[i - 1].seq) % 4096;
      ++changes;
      if (step >= 1 && step <= 64) ++small;
    }
    INFO(small << " of " << changes << " steps at an address change within 64");
    REQUIRE(changes >= 5);
    if (model.seq_at_change == sim::SeqAtAddressChange::continues) {
      CHECK(small * 10 >= changes * 9);
    } else {
      CHECK(small * 5 <= changes);
    }
  }
}
