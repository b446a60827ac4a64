// `footfall-probe presence` on real captures: how many devices it estimates where the truth is known.
// Method and figures: docs/counting.md. Parameters are the probe's defaults (link window 300 s, ...); nothing
// here is tuned to a file. Skipped, with the reason printed, when ../shared/captures is absent.
//
// Counting rules (docs/counting.md, applied here to the probe's events, not inside the probe):
// - a device is present from its arrival's first_seen_ns to its departure's last_seen_ns;
// - visitor rule: a device counts once it has been present 60 s (one-burst addresses, stray frames and
//   passers-by do not count);
// - resident rule: a device present over a run of 4 h or more is left out (staff, room PCs); a presence has no
//   silence beyond the departure silence, so one presence is one run;
// - Brno only: frames below -80 dBm are ignored (--floor -80, the room / corridor split of that site).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "probe/capture/pcap_source.h"
#include "probe/commands/presence_command.h"
#include "tests/support/scratch.h"
#include "tools/sim/pcap_writer.h"

namespace {
namespace fs = std::filesystem;
using footfall::probe::commands::PresenceOptions;
using footfall::probe::commands::run_presence;

constexpr std::int64_t sec = 1'000'000'000;
constexpr std::int64_t min_dwell_ns = 60 * sec;
constexpr std::int64_t resident_after_ns = 4 * 3600 * sec;

const fs::path captures = fs::path(FOOTFALL_SHARED_DIR) / "captures";

// The ProbingPatterns one-phone captures (three sniffers each; the authors re-randomised every address).
const std::vector<std::pair<std::string, std::string>> phones = {
    {"iPhone11-B", "rt127-probingpatterns-iphone11-B-one-device.pcap"},
    {"iPhone11-M", "rt127-probingpatterns-iphone11-M-one-device.pcap"},
    {"iPhone7-F", "rt127-probingpatterns-iphone7-F-one-device.pcap"},
    {"S21Ultra-M", "rt127-probingpatterns-galaxyS21ultra-M-one-device.pcap"},
    {"iPhoneXR-A", "rt127-probingpatterns-iphoneXR-A-one-device.pcap"},
    {"iPhone12Pro-C", "rt127-probingpatterns-iphone12pro-C-one-device.pcap"},
};

bool have(const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (!fs::exists(captures / n)) {
      MESSAGE("skipped: " << (captures / n).string() << " is absent");
      return false;
    }
  }
  return true;
}

struct Presence {
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
  std::uint64_t fingerprint = 0;
  std::uint64_t addresses = 0;
};

struct Run {
  std::map<std::string, Presence> devices;  // by `device`: one presence each (a departed device never returns)
  std::uint64_t addresses = 0;              // addresses the devices used, summed
};

Run presence_of(const std::string& path, PresenceOptions options) {
  options.read_path = path;
  options.update_s = 0;
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  std::FILE* err = std::tmpfile();
  REQUIRE(out != nullptr);
  REQUIRE(err != nullptr);
  const int status = run_presence(options, out, err);
  std::fclose(out);
  std::fclose(err);
  CHECK(status == 0);
  Run run;
  std::string all(text, size);
  std::free(text);
  std::size_t at = 0;
  while (at < all.size()) {
    const std::size_t end = all.find('\n', at);
    const auto e = nlohmann::json::parse(all.substr(at, end - at));
    at = end + 1;
    REQUIRE(e["device"].get<std::string>().size() == 16);
    if (e["kind"] != "departure") continue;
    Presence& p = run.devices[e["device"].get<std::string>()];
    CHECK(p.last_ns == 0);  // one departure per device
    p.first_ns = e["first_seen_ns"].get<std::int64_t>();
    p.last_ns = e["last_seen_ns"].get<std::int64_t>();
    p.fingerprint = std::stoull(e["fingerprint"].get<std::string>(), nullptr, 16);
    p.addresses = e["addresses"].get<std::uint64_t>();
    run.addresses += p.addresses;
  }
  return run;
}

PresenceOptions all_randomized() {
  PresenceOptions o;
  o.all_randomized = true;  // the ProbingPatterns authors replaced every address: the LA bit is noise there
  return o;
}

// Devices the visitor rule counts over a whole capture.
std::size_t counted(const Run& run) {
  return static_cast<std::size_t>(std::count_if(run.devices.begin(), run.devices.end(), [](const auto& d) {
    return d.second.last_ns - d.second.first_ns >= min_dwell_ns;
  }));
}

bool within(std::size_t estimate, std::size_t k) {
  const double bound = std::max(1.0, 0.15 * static_cast<double>(k));
  return std::abs(static_cast<double>(estimate) - static_cast<double>(k)) <= bound;
}

// Frames of a capture in its first `length_ns`, shifted so that it starts at `start_ns`.
struct Frame {
  std::int64_t ts_ns;
  std::vector<std::uint8_t> bytes;
};

std::vector<Frame> first_minutes(const std::string& name, std::int64_t start_ns, std::int64_t length_ns) {
  auto source = footfall::probe::capture::PcapSource::open_file((captures / name).string());
  std::vector<Frame> frames;
  footfall::probe::capture::PacketView packet;
  while (source.next(packet) == footfall::probe::capture::ReadStatus::packet)
    frames.push_back({packet.ts_ns, {packet.bytes.begin(), packet.bytes.end()}});
  if (frames.empty()) return frames;
  // Three sniffers merged: the file is not quite in time order; its start is the earliest frame.
  const std::int64_t t0 = std::min_element(frames.begin(), frames.end(), [](const Frame& a, const Frame& b) {
                            return a.ts_ns < b.ts_ns;
                          })->ts_ns;
  std::erase_if(frames, [&](const Frame& f) { return f.ts_ns - t0 >= length_ns; });
  for (Frame& f : frames) f.ts_ns = f.ts_ns - t0 + start_ns;
  return frames;
}

// Merges the first 15 minutes of each capture, all starting at one instant, into one pcap in time order.
std::string merged(const footfall::testing::TempDir& dir, const std::vector<std::string>& names) {
  std::vector<Frame> all;
  for (const auto& n : names) {
    auto part = first_minutes(n, 1'700'000'000 * sec, 900 * sec);
    all.insert(all.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  std::stable_sort(all.begin(), all.end(), [](const Frame& a, const Frame& b) { return a.ts_ns < b.ts_ns; });
  std::string path = dir.file("mix.pcap");
  footfall::sim::PcapWriter writer(path);
  for (const Frame& f : all) writer.write(f.ts_ns, f.bytes);
  writer.flush();
  return path;
}

std::vector<std::string> files_of(const std::vector<std::size_t>& pick) {
  std::vector<std::string> out;
  for (std::size_t i : pick) out.push_back(phones[i].second);
  return out;
}
}  // namespace

TEST_CASE("one phone changing its random address gives at most 2 devices (ProbingPatterns)") {
  std::vector<std::string> names;
  for (const auto& p : phones) names.push_back(p.second);
  if (!have(names)) return;
  for (const auto& [phone, file] : phones) {
    const Run run = presence_of((captures / file).string(), all_randomized());
    const std::size_t n = counted(run);
    MESSAGE(phone << ": " << run.addresses << " addresses -> " << run.devices.size() << " device ids, " << n
                  << " counted");
    CHECK(n >= 1);
    CHECK(n <= 2);
  }
}

TEST_CASE("mixes of K different phones, first 15 minutes each from one instant, give K within max(1, 15% of K)") {
  std::vector<std::string> names;
  for (const auto& p : phones) names.push_back(p.second);
  if (!have(names)) return;
  footfall::testing::TempDir dir("presence-mix");
  std::size_t combinations = 0, exact = 0;
  std::map<std::size_t, std::map<std::size_t, int>> estimates;  // K -> estimate -> mixes
  for (unsigned mask = 0; mask < (1u << phones.size()); ++mask) {
    std::vector<std::size_t> pick;
    for (std::size_t i = 0; i < phones.size(); ++i)
      if (mask & (1u << i)) pick.push_back(i);
    if (pick.size() < 2) continue;
    const Run run = presence_of(merged(dir, files_of(pick)), all_randomized());
    const std::size_t n = counted(run);
    std::string label;
    for (std::size_t i : pick) label += (label.empty() ? "" : "+") + phones[i].first;
    INFO(label << ": " << run.addresses << " addresses -> " << n << " devices");
    CHECK(within(n, pick.size()));
    ++combinations;
    exact += n == pick.size();
    ++estimates[pick.size()][n];
  }
  for (const auto& [k, by] : estimates) {
    std::string line;
    for (const auto& [n, mixes] : by) line += " " + std::to_string(n) + " (x" + std::to_string(mixes) + ")";
    MESSAGE("K=" << k << ":" << line);
  }
  MESSAGE(combinations << " mixes, " << exact << " exact");
  CHECK(combinations == 57);
}

TEST_CASE("the two iPhone 11 captures together: one fingerprint, two phones, within the bound") {
  if (!have({phones[0].second, phones[1].second})) return;
  footfall::testing::TempDir dir("presence-iphone11");
  const Run run = presence_of(merged(dir, {phones[0].second, phones[1].second}), all_randomized());
  std::set<std::uint64_t> fingerprints;
  std::size_t n = 0;
  for (const auto& [device, p] : run.devices) {
    if (p.last_ns - p.first_ns < min_dwell_ns) continue;
    ++n;
    fingerprints.insert(p.fingerprint);
  }
  MESSAGE("iPhone11-B + iPhone11-M: " << run.addresses << " addresses -> " << n << " devices");
  CHECK(fingerprints.size() == 1);  // same model: only sequence numbers and signal can tell them apart
  CHECK(within(n, 2));
}

namespace {
// Labels: `datetime` in local time (CET, UTC+1, on 2023-03-16) of each labelled probe; `occupancy` people.
struct Label {
  std::int64_t ts_ns;
  double people;
};

std::vector<Label> labels_of(const fs::path& csv) {
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  std::vector<Label> out;
  while (std::getline(in, line)) {
    std::tm tm{};
    double frac = 0;
    int y, mo, d, h, mi;
    double s;
    if (std::sscanf(line.c_str(), "%d-%d-%d %d:%d:%lf", &y, &mo, &d, &h, &mi, &s) != 6) continue;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = static_cast<int>(s);
    frac = s - tm.tm_sec;
    const std::int64_t utc_s = static_cast<std::int64_t>(timegm(&tm)) - 3600;  // CET
    const double people = std::stod(line.substr(line.rfind(';') + 1));
    out.push_back({utc_s * sec + static_cast<std::int64_t>(std::llround(frac * 1e9)), people});
  }
  return out;
}
}  // namespace

TEST_CASE("Brno busy day: devices present each minute, per 10-minute window, against the labelled occupancy") {
  const std::string file = "rt127-esp32-brno-lab-2023-03-16-busy-probes.pcap";
  if (!have({file, file + ".labels.csv"})) return;
  const auto labels = labels_of(captures / (file + ".labels.csv"));
  REQUIRE(labels.size() > 1000);

  auto windows_of = [&](bool link) {
    PresenceOptions o;
    o.floor_dbm = -80;  // the room / corridor split of this site (frames below are ignored)
    o.no_link = !link;
    const Run run = presence_of((captures / file).string(), o);
    std::int64_t start = INT64_MAX;
    for (const auto& [d, p] : run.devices) start = std::min(start, p.first_ns);
    // Whole minutes between the first and last label, from 300 s after the capture starts (warm-up: a
    // device probing every few minutes may not have been heard yet); the label at T is the last one before.
    std::map<std::int64_t, std::pair<double, double>> sums;  // window -> (devices, people) summed
    std::map<std::int64_t, int> samples;
    for (std::int64_t t = (labels.front().ts_ns / (60 * sec) + 1) * 60 * sec; t <= labels.back().ts_ns;
         t += 60 * sec) {
      if (t < start + 300 * sec) continue;
      int n = 0;
      for (const auto& [d, p] : run.devices) {
        const bool present = p.first_ns <= t && t <= p.last_ns;
        const bool visitor = t - p.first_ns >= min_dwell_ns;
        const bool resident = p.last_ns - p.first_ns >= resident_after_ns;
        n += present && visitor && !resident;
      }
      const auto label = std::upper_bound(labels.begin(), labels.end(), t,
                                          [](std::int64_t v, const Label& l) { return v < l.ts_ns; }) -
                         1;
      const std::int64_t w = t / (600 * sec);
      sums[w].first += n;
      sums[w].second += label->people;
      ++samples[w];
    }
    std::vector<std::pair<double, double>> out;
    for (const auto& [w, s] : sums) out.push_back({s.first / samples[w], s.second / samples[w]});
    return out;
  };
  // People = k x devices, k fitted through the origin on the day's windows (the site's devices per person).
  auto mae = [](const std::vector<std::pair<double, double>>& ws, double& k) {
    double num = 0, den = 0;
    for (const auto& [d, p] : ws) num += d * p, den += d * d;
    k = den > 0 ? num / den : 0;
    double sum = 0;
    for (const auto& [d, p] : ws) sum += std::abs(k * d - p);
    return sum / static_cast<double>(ws.size());
  };
  const auto linked = windows_of(true);
  const auto per_address = windows_of(false);
  double k_linked = 0, k_address = 0;
  const double mae_linked = mae(linked, k_linked);
  const double mae_address = mae(per_address, k_address);
  std::string figures;
  for (const auto& [d, p] : linked) figures += " " + std::to_string(d).substr(0, 4) + "/" + std::to_string(p).substr(0, 4);
  MESSAGE("windows " << linked.size() << ", devices/people:" << figures);
  MESSAGE("linked: MAE " << mae_linked << " (factor " << k_linked << "); per address: MAE " << mae_address
                         << " (factor " << k_address << ")");
  CHECK(linked.size() == 10);
  CHECK(mae_linked <= 2.0);
}
