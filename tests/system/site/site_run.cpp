#include "tests/system/site/site_run.h"

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <fstream>
#include <iterator>
#include <thread>

#include "tests/support/scratch.h"

namespace footfall::test::site {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::array<std::uint8_t, 6> mac_bytes(const std::string& text) {
  std::array<std::uint8_t, 6> b{};
  for (std::size_t i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(std::stoul(text.substr(3 * i, 2), nullptr, 16));
  return b;
}

std::string base64(const std::array<std::uint8_t, 6>& b, bool url) {
  const char* alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                             : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < 6; i += 3) {  // 6 bytes: two whole groups, no padding
    const std::uint32_t v = (std::uint32_t{b[i]} << 16) | (std::uint32_t{b[i + 1]} << 8) | b[i + 2];
    for (int k = 3; k >= 0; --k) out += alphabet[(v >> (6 * k)) & 63];
  }
  return out;
}

// Every common textual and binary spelling of one address, and of its bytes reversed.
std::vector<std::string> spellings(const std::array<std::uint8_t, 6>& forward) {
  std::vector<std::string> out;
  std::array<std::uint8_t, 6> reversed = forward;
  std::reverse(reversed.begin(), reversed.end());
  for (const auto& b : {forward, reversed}) {
    static constexpr char hex[] = "0123456789abcdef";
    std::array<std::string, 6> pair;
    for (std::size_t i = 0; i < 6; ++i) pair[i] = {hex[b[i] >> 4], hex[b[i] & 15]};
    auto joined = [&pair](const std::string& sep) {
      std::string s = pair[0];
      for (std::size_t i = 1; i < 6; ++i) s += sep + pair[i];
      return s;
    };
    const std::string cisco = pair[0] + pair[1] + "." + pair[2] + pair[3] + "." + pair[4] + pair[5];
    for (const std::string& text : {joined(":"), joined("-"), joined("."), joined(""), cisco}) {
      out.push_back(lower(text));
      out.push_back(upper(text));
    }
    out.push_back(base64(b, false));
    out.push_back(base64(b, true));
    out.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
  }
  return out;
}

}  // namespace

Truth read_truth(const std::filesystem::path& truth_json) {
  const auto doc = nlohmann::json::parse(footfall::testing::slurp(truth_json));
  Truth t;
  const auto& devices = doc.at("devices");
  for (const auto& d : devices) {
    if (d.contains("universal_mac") && d["universal_mac"].is_string()) t.macs.insert(lower(d["universal_mac"]));
    for (const auto& m : d.at("macs")) t.macs.insert(lower(m.at("mac")));
  }
  for (const auto& ap : doc.at("access_points")) t.macs.insert(lower(ap.at("bssid")));
  for (const auto& v : doc.at("visits")) {
    const auto& device = devices.at(v.at("device").get<std::size_t>());
    if (device.at("macs").empty() || v.at("probes").empty()) continue;  // never sent a frame / never heard
    TruthVisit tv;
    tv.mac = lower(device.at("macs").at(0).at("mac"));
    tv.role = v.at("role");
    tv.arrival_ns = v.at("arrival_ns");
    tv.departure_ns = v.at("departure_ns");
    tv.first_heard_ns = INT64_MAX;
    tv.last_heard_ns = 0;
    for (const auto& p : v.at("probes")) {
      tv.first_heard_ns = std::min<std::int64_t>(tv.first_heard_ns, p.at("first_ns"));
      tv.last_heard_ns = std::max<std::int64_t>(tv.last_heard_ns, p.at("last_ns"));
      tv.strongest_heard_dbm = std::max(tv.strongest_heard_dbm, p.at("rssi_max").get<int>());
    }
    for (const auto& z : v.at("zones"))
      if (tv.zones.empty() || tv.zones.back() != z.at("zone")) tv.zones.push_back(z.at("zone"));
    t.visits.push_back(std::move(tv));
  }
  return t;
}

Delivery collect(const std::vector<Received>& messages) {
  Delivery d;
  std::map<std::string, std::string> first_payload;
  for (const Received& m : messages) {
    if (m.topic.ends_with("/status")) continue;
    const auto doc = nlohmann::json::parse(m.payload, nullptr, false);
    if (!doc.is_object() || !doc.contains("batch_id")) continue;
    ++d.copies;
    const std::string id = doc["batch_id"];
    const auto [it, fresh] = first_payload.emplace(id, m.payload);
    if (!fresh) {
      ++d.duplicates;
      if (it->second != m.payload) d.duplicates_identical = false;
      continue;
    }
    d.seqs.push_back(doc["seq"].get<std::uint64_t>());
    d.batches.emplace(id, doc);
  }
  std::sort(d.seqs.begin(), d.seqs.end());
  return d;
}

std::vector<nlohmann::json> visits_of(const Delivery& d) {
  std::vector<const nlohmann::json*> batches;
  for (const auto& [id, b] : d.batches)
    if (b.contains("visits")) batches.push_back(&b);
  std::sort(batches.begin(), batches.end(), [](auto* a, auto* b) { return a->at("seq") < b->at("seq"); });
  std::vector<nlohmann::json> out;
  for (const auto* b : batches)
    for (const auto& v : b->at("visits")) out.push_back(v);
  return out;
}

nlohmann::json latest_gateway_health(const std::vector<Received>& messages) {
  nlohmann::json latest;
  std::uint64_t seq = 0;
  for (const Received& m : messages) {
    if (!m.topic.ends_with("/probes")) continue;
    const auto doc = nlohmann::json::parse(m.payload, nullptr, false);
    if (!doc.is_object() || !doc.contains("gateway") || !doc["gateway"].is_object()) continue;
    if (doc["seq"].get<std::uint64_t>() < seq) continue;
    seq = doc["seq"].get<std::uint64_t>();
    latest = doc;
  }
  return latest;
}

std::vector<std::string> find_macs(const std::vector<Received>& messages, const std::set<std::string>& macs) {
  std::vector<std::pair<std::string, std::string>> needles;  // spelling, address
  for (const std::string& mac : macs)
    for (std::string& s : spellings(mac_bytes(mac))) needles.emplace_back(std::move(s), mac);
  std::vector<std::string> hits;
  for (const Received& m : messages)
    for (const auto& [needle, mac] : needles)
      if (m.payload.find(needle) != std::string::npos || m.topic.find(needle) != std::string::npos)
        hits.push_back(mac + " in " + m.topic);
  return hits;
}

SiteRun::SiteRun(std::string broker_uri, double probe_speed)
    : SiteRun(std::move(broker_uri), std::vector<double>(3, probe_speed)) {}

SiteRun::SiteRun(std::string broker_uri, std::vector<double> probe_speeds)
    : dir_("footfall-site"), broker_uri_(std::move(broker_uri)), speeds_(std::move(probe_speeds)) {
  // A couple of opening hours of the office, every phone with one fixed address (the truth is per address).
  const int rc = run_program({FOOTFALL_SIM_BIN, "--scenario", "office", "--duration", "2h", "--seed", "4",
                              "--randomizing-share", "0", "--out", (dir() / "sim").string()},
                             dir() / "sim.log", std::chrono::seconds(60));
  if (rc != 0) error_ = "footfall-sim failed: " + footfall::testing::slurp(dir() / "sim.log");
  gateway_port_ = pick_free_loopback_port();
}

void SiteRun::write_gateway_config(const std::string& username, const std::string& password,
                                   const nlohmann::json& merge) {
  nlohmann::json mqtt = {{"uri", broker_uri_}};
  if (!username.empty()) {
    mqtt["username"] = username;
    mqtt["password"] = password;
  }
  const nlohmann::json doc = {
      {"tenant", kTenant},
      {"site", kSite},
      {"listen", {{"address", "127.0.0.1"}, {"port", gateway_port_}}},
      {"probes",
       {{{"id", "entrance"}, {"token", "t-entrance"}, {"zone", "entrance"}},
        {{"id", "model-room"}, {"token", "t-model"}, {"zone", "model-room"}},
        {{"id", "negotiation"}, {"token", "t-negotiation"}, {"zone", "negotiation"}}}},
      {"journal", {{"dir", journal_dir().string()}, {"max_mb", 64}, {"fsync", "always"}}},
      {"health", {{"interval_s", 5}}},
      {"mqtt", mqtt},
      {"publish", {{"interval_ms", 500}, {"max_events", 500}, {"probes_interval_ms", 1000}}},
      {"outbox", {{"dir", outbox_dir().string()}, {"max_mb", 64}}},
      {"privacy", {{"key_dir", key_dir().string()}, {"create_keys", true}}},
      {"log_level", "info"}};
  nlohmann::json config = doc;
  if (!merge.empty()) config["merge"] = merge;
  std::ofstream(dir() / "gateway.json") << config.dump(2);
}

bool SiteRun::start_gateway() {
  gateway_ = spawn_program({FOOTFALL_GATEWAY_BIN, "--config", (dir() / "gateway.json").string()}, gateway_log());
  if (gateway_ < 0) return false;
  return wait_until([&] { return log_of("gateway").find("listening on") != std::string::npos; }, std::chrono::seconds(20));
}

int SiteRun::stop_gateway() {
  if (gateway_ < 0) return -1;
  ::kill(gateway_, SIGTERM);
  int status = 0;
  const bool exited = wait_until([&] { return ::waitpid(gateway_, &status, WNOHANG) == gateway_; }, std::chrono::seconds(30));
  if (!exited) {
    stop_program(gateway_, SIGKILL);
    gateway_ = -1;
    return -1;
  }
  gateway_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool SiteRun::start_probes() {
  const std::array<std::pair<const char*, const char*>, 3> probes{
      {{"entrance", "t-entrance"}, {"model-room", "t-model"}, {"negotiation", "t-negotiation"}}};
  for (std::size_t i = 0; i < probes.size(); ++i) {
    const auto& [id, token] = probes[i];
    const nlohmann::json doc = {
        {"probe_id", id},
        {"token", token},
        {"source", {{"file", (dir() / "sim" / ("probe-" + std::to_string(i + 1) + ".pcap")).string()}, {"speed", speeds_.at(i)}}},
        {"gateway", {{"host", "127.0.0.1"}, {"port", gateway_port_}}},
        {"spool", {{"dir", (dir() / (std::string("spool-") + id)).string()}, {"fsync", "never"}}},
        {"uplink", {{"backoff_initial_ms", 50}, {"backoff_max_ms", 1000}}},
        {"heartbeat_s", 1},
        {"drain_timeout_s", 120},
        {"log_level", "info"}};
    const auto config = dir() / (std::string("probe-") + id + ".json");
    std::ofstream(config) << doc.dump(2);
    const pid_t pid = spawn_program({FOOTFALL_PROBE_BIN, "run", "--config", config.string()},
                                    dir() / (std::string("probe-") + id + ".log"));
    if (pid < 0) return false;
    probes_.push_back(pid);
  }
  return true;
}

bool SiteRun::wait_probes(std::chrono::milliseconds timeout) {
  bool all_ok = true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (pid_t& pid : probes_) {
    int status = 0;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (!wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, std::max(left, std::chrono::milliseconds(1)))) {
      stop_program(pid, SIGKILL);
      all_ok = false;
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      all_ok = false;
    }
    pid = -1;
  }
  probes_.clear();
  return all_ok;
}

std::string SiteRun::log_of(const std::string& name) const {
  return footfall::testing::slurp(name == "gateway" ? gateway_log() : dir() / (name + ".log"));
}

}  // namespace footfall::test::site
