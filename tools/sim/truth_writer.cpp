#include "tools/sim/truth_writer.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "tools/sim/time_text.h"

namespace footfall::sim {
namespace {

using nlohmann::json;

std::string hex(const std::vector<std::uint8_t>& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 0x0f]);
  }
  return s;
}

std::string oui_text(std::uint32_t oui) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x", (oui >> 16) & 0xff, (oui >> 8) & 0xff, oui & 0xff);
  return buf;
}

json optional_id(std::uint32_t id) { return id == kNone ? json(nullptr) : json(id); }

json json_point(Point p) { return {{"x", p.x}, {"y", p.y}}; }

json counts_json(const FrameCounts& c) {
  return {{"frames", c.total()}, {"probe_req", c.probe_req}, {"probe_resp", c.probe_resp}, {"beacon", c.beacon}};
}

json site_json(const Scenario& s) {
  json zones = json::array();
  for (const Zone& z : s.zones) {
    zones.push_back({{"name", z.name}, {"centre", json_point(z.centre)}, {"radius_m", z.radius_m},
                     {"entrance", z.entrance}, {"dwell_median_s", z.dwell_median_s}});
  }
  json probes = json::array();
  for (const Probe& p : s.probes) {
    probes.push_back({{"id", p.id}, {"name", p.name}, {"zone", s.zones[p.zone].name},
                      {"position", json_point(p.position)}, {"channel", p.channel},
                      {"freq_mhz", channel_freq_mhz(p.channel)}, {"sensitivity_dbm", p.sensitivity_dbm},
                      {"file", capture_file_name(p.id)}});
  }
  json aps = json::array();
  for (const AccessPoint& ap : s.access_points) {
    aps.push_back({{"bssid", ap.bssid.to_string()}, {"ssid", ap.ssid}, {"channel", ap.channel},
                   {"position", json_point(ap.position)}, {"outdoor", ap.outdoor},
                   {"beacon_interval_tu", ap.beacon_interval_tu}, {"capability", ap.capability}});
  }
  json models = json::array();
  for (const DeviceModel& m : s.models) {
    json ouis = json::array();
    for (auto oui : m.vendor_ouis) ouis.push_back(oui_text(oui));
    models.push_back({{"name", m.name}, {"vendor", m.vendor}, {"has_ht", m.has_ht}, {"has_vht", m.has_vht},
                      {"sends_ds_param", m.sends_ds_param}, {"vendor_ouis", ouis},
                      {"ie_rates_hex", hex(m.ie_rates)}, {"ie_tail_hex", hex(m.ie_tail)}});
  }
  const RadioModel& r = s.radio;
  json radio = {{"ref_dbm_at_1m", r.ref_dbm_at_1m}, {"path_loss_exponent", r.path_loss_exponent},
                {"shadowing_sigma_db", r.shadowing_sigma_db}, {"outdoor_loss_db", r.outdoor_loss_db},
                {"antenna_height_m", r.antenna_height_m}};
  return {{"zones", zones}, {"probes", probes}, {"access_points", aps}, {"models", models}, {"radio", radio}};
}

json visit_json(const Visit& v, const Scenario& s) {
  json zones = json::array();
  for (const ZoneStay& stay : v.stays) {
    zones.push_back({{"zone", s.zones[stay.zone].name}, {"enter_ns", stay.enter_ns}, {"leave_ns", stay.leave_ns}});
  }
  json probes = json::array();
  for (std::size_t p = 0; p < v.heard.size(); ++p) {
    const ProbeHeard& h = v.heard[p];
    if (h.frames == 0) continue;
    probes.push_back({{"probe", s.probes[p].id}, {"frames", h.frames}, {"rssi_max", h.rssi_max},
                      {"rssi_min", h.rssi_min}, {"first_ns", h.first_ns}, {"last_ns", h.last_ns}});
  }
  json out = {{"id", v.id},
              {"device", v.device},
              {"role", to_string(v.role)},
              {"group", optional_id(v.group)},
              {"day", v.day},
              {"returning", v.returning},
              {"arrival_ns", v.arrival_ns},
              {"departure_ns", v.departure_ns},
              {"dwell_s", static_cast<double>(v.departure_ns - v.arrival_ns) / 1e9},
              {"complete", v.complete},
              {"frames_sent", v.frames_sent},
              {"zones", zones},
              {"probes", probes}};
  if (v.outdoor) out["walk"] = {{"from", json_point(v.walk_from)}, {"to", json_point(v.walk_to)}};
  return out;
}

json device_json(const Device& d, const Scenario& s) {
  json macs = json::array();
  for (const MacUse& m : d.macs) {
    macs.push_back({{"mac", m.mac.to_string()}, {"first_ns", m.first_ns}, {"last_ns", m.last_ns}, {"frames", m.frames}});
  }
  return {{"id", d.id},
          {"model", s.models[d.model].name},
          {"role", to_string(d.role)},
          {"group", optional_id(d.group)},
          {"randomizing", d.randomizing},
          {"universal_mac", d.universal_mac.to_string()},
          {"macs", macs},
          {"visits", d.visits}};
}

}  // namespace

json truth_json(const SimConfig& config, const SimResult& result) {
  const Scenario& s = result.scenario;
  const Schedule& schedule = result.schedule;
  json days = json::array();
  for (const DayWindow& d : result.days) {
    if (d.start_ns > result.end_ns) break;
    days.push_back({{"day", d.day}, {"start_ns", d.start_ns}, {"end_ns", std::min(d.end_ns, result.end_ns)}});
  }
  json devices = json::array();
  for (const Device& d : schedule.devices) {
    if (!d.visits.empty()) devices.push_back(device_json(d, s));
  }
  json groups = json::array();
  for (const Group& g : schedule.groups) {
    if (g.visits.empty()) continue;
    std::int64_t arrival = schedule.visits[g.visits.front()].arrival_ns;
    std::int64_t departure = 0;
    for (auto id : g.visits) {
      arrival = std::min(arrival, schedule.visits[id].arrival_ns);
      departure = std::max(departure, schedule.visits[id].departure_ns);
    }
    groups.push_back({{"id", g.id}, {"day", g.day}, {"devices", g.devices}, {"visits", g.visits},
                      {"arrival_ns", arrival}, {"departure_ns", departure}});
  }
  json visits = json::array();
  for (const Visit& v : schedule.visits) visits.push_back(visit_json(v, s));

  json per_probe = json::array();
  FrameCounts captured;
  for (std::size_t p = 0; p < result.heard.size(); ++p) {
    json c = counts_json(result.heard[p]);
    c["probe"] = s.probes[p].id;
    per_probe.push_back(c);
    captured.probe_req += result.heard[p].probe_req;
    captured.probe_resp += result.heard[p].probe_resp;
    captured.beacon += result.heard[p].beacon;
  }

  json truth = {
      {"format", kTruthFormat},
      {"scenario", s.name},
      {"description", s.description},
      {"seed", config.seed},
      {"time_scale", config.time_scale},
      {"start", format_utc(config.start_ns)},
      {"start_ns", config.start_ns},
      {"end_ns", result.end_ns},
      {"stopped_at_frame_limit", result.stopped_at_frame_limit},
      {"days", days},
  };
  truth.update(site_json(s));
  truth["devices"] = devices;
  truth["groups"] = groups;
  truth["visits"] = visits;
  truth["totals"] = {{"per_probe", per_probe}, {"captured", counts_json(captured)},
                     {"transmitted", counts_json(result.transmitted)}};
  return truth;
}

void write_truth(const std::filesystem::path& path, const SimConfig& config, const SimResult& result) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path.string());
  out << truth_json(config, result).dump(1) << '\n';
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

FrameLog::FrameLog(const std::filesystem::path& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
  if (!file_) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
  std::fputs("probe\tts_ns\tkind\tsa\tseq\trssi\n", file_.get());
}

void FrameLog::add(int probe_id, std::int64_t ts_ns, std::string_view kind, const MacAddress& sa, unsigned seq,
                   int rssi) {
  char line[128];
  char* p = line;
  char* const end = line + sizeof line;
  p = std::to_chars(p, end, probe_id).ptr;
  *p++ = '\t';
  p = std::to_chars(p, end, ts_ns).ptr;
  *p++ = '\t';
  p = std::copy(kind.begin(), kind.end(), p);
  *p++ = '\t';
  p = sa.write(p);
  *p++ = '\t';
  p = std::to_chars(p, end, seq).ptr;
  *p++ = '\t';
  p = std::to_chars(p, end, rssi).ptr;
  *p++ = '\n';
  std::fwrite(line, 1, static_cast<std::size_t>(p - line), file_.get());
}

void FrameLog::close() {
  if (!file_) return;
  const bool ok = std::fflush(file_.get()) == 0 && std::ferror(file_.get()) == 0;
  file_.reset();
  if (!ok) throw std::runtime_error("cannot write " + path_.string());
}

}  // namespace footfall::sim
