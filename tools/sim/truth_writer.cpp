#include "tools/sim/truth_writer.h"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
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

std::vector<std::pair<std::string, json>> site_json(const Scenario& s) {
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
                      {"ie_rates_hex", hex(m.ie_rates)}, {"ie_tail_hex", hex(m.ie_tail)},
                      {"randomizing_share", m.randomizing_share}, {"rotation", to_string(m.rotation)},
                      {"seq_at_change", m.seq_at_change == SeqAtAddressChange::random ? "random" : "continues"},
                      {"idle_period_median_s", m.idle_period.median_s}, {"scan_channels", m.scan_channels}});
  }
  const RadioModel& r = s.radio;
  json radio = {{"ref_dbm_at_1m", r.ref_dbm_at_1m}, {"path_loss_exponent", r.path_loss_exponent},
                {"shadowing_sigma_db", r.shadowing_sigma_db}, {"outdoor_loss_db", r.outdoor_loss_db},
                {"antenna_height_m", r.antenna_height_m}};
  return {{"zones", zones}, {"probes", probes}, {"access_points", aps}, {"models", models}, {"radio", radio}};
}

double money(std::int64_t cents) { return static_cast<double>(cents) / 100.0; }

// What an aggregator counts the visit as: group members are visitors who came together.
std::string_view counted_as(Role r) { return r == Role::group_member ? "visitor" : to_string(r); }

json visit_json(const Visit& v, const Scenario& s, const Schedule& schedule, const json& sale_ids) {
  json zones = json::array();
  json zone_order = json::array();  // distinct zones in the order first entered
  std::vector<bool> entered(s.zones.size(), false);
  for (const ZoneStay& stay : v.stays) {
    zones.push_back({{"zone", s.zones[stay.zone].name}, {"enter_ns", stay.enter_ns}, {"leave_ns", stay.leave_ns}});
    if (!entered[stay.zone]) zone_order.push_back(s.zones[stay.zone].name);
    entered[stay.zone] = true;
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
              {"probes", probes},
              {"counts_as", counted_as(v.role)},
              {"party_size", v.group == kNone ? std::size_t{1} : schedule.groups[v.group].visits.size()},
              {"zone_order", zone_order},
              {"entry_zone", v.stays.empty() ? json(nullptr) : json(s.zones[v.stays.front().zone].name)},
              {"exit_zone", v.stays.empty() ? json(nullptr) : json(s.zones[v.stays.back().zone].name)},
              {"sales", sale_ids}};
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
          {"variant", d.variant},
          {"role", to_string(d.role)},
          {"group", optional_id(d.group)},
          {"randomizing", d.randomizing()},
          {"addressing", to_string(d.addressing)},
          {"associated", d.associated},
          {"universal_mac", d.universal_mac.to_string()},
          {"macs", macs},
          {"visits", d.visits}};
}


// Writes one JSON object a key at a line, and the long arrays (devices, visits) an element at a line:
// the file stays one document for any JSON reader while a person can grep it, and the writer never
// holds the whole tree.
class TruthStream {
 public:
  explicit TruthStream(std::ostream& out) : out_(out) { out_ << "{"; }
  void field(std::string_view key, const json& value) {
    begin(key);
    out_ << value.dump();
  }
  template <typename Items, typename ToJson>
  void array(std::string_view key, const Items& items, ToJson&& to_json) {
    begin(key);
    out_ << "[";
    bool first = true;
    for (const auto& item : items) {
      std::optional<json> value = to_json(item);
      if (!value) continue;
      out_ << (first ? "\n  " : ",\n  ") << value->dump();
      first = false;
    }
    out_ << (first ? "]" : "\n ]");
  }
  void finish() { out_ << "\n}\n"; }

 private:
  void begin(std::string_view key) {
    out_ << (first_ ? "\n " : ",\n ") << json(key).dump() << ": ";
    first_ = false;
  }
  std::ostream& out_;
  bool first_ = true;
};

}  // namespace

void write_truth(const std::filesystem::path& path, const SimConfig& config, const SimResult& result) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path.string());
  const Scenario& s = result.scenario;
  const Schedule& schedule = result.schedule;

  json days = json::array();
  for (const DayWindow& d : result.days) {
    if (d.start_ns > result.end_ns) break;
    days.push_back({{"day", d.day}, {"start_ns", d.start_ns}, {"end_ns", std::min(d.end_ns, result.end_ns)}});
  }
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

  json sales_per_day = json::array();
  std::vector<std::int64_t> day_cents(days.size(), 0);
  std::vector<std::size_t> day_sales(days.size(), 0);
  std::vector<json> visit_sales(schedule.visits.size(), json::array());
  std::int64_t total_cents = 0;
  for (const Sale& sale : result.sales) {
    total_cents += sale.amount_cents;
    visit_sales[sale.visit].push_back(sale.sale_id);
    const std::uint32_t day = schedule.visits[sale.visit].day;
    if (day < days.size()) {
      day_cents[day] += sale.amount_cents;
      ++day_sales[day];
    }
  }
  for (std::size_t d = 0; d < days.size(); ++d) {
    sales_per_day.push_back({{"day", d}, {"count", day_sales[d]}, {"amount", money(day_cents[d])}, {"amount_cents", day_cents[d]}});
  }

  TruthStream truth(out);
  truth.field("format", kTruthFormat);
  truth.field("site", result.site);
  truth.field("scenario", s.name);
  truth.field("description", s.description);
  truth.field("seed", config.seed);
  truth.field("time_scale", config.time_scale);
  truth.field("start", format_utc(config.start_ns));
  truth.field("start_ns", config.start_ns);
  truth.field("end_ns", result.end_ns);
  truth.field("stopped_at_frame_limit", result.stopped_at_frame_limit);
  truth.field("days", days);
  for (const auto& [key, value] : site_json(s)) truth.field(key, value);
  truth.field("totals", {{"per_probe", per_probe}, {"captured", counts_json(captured)},
                         {"transmitted", counts_json(result.transmitted)},
                         {"sales", {{"count", result.sales.size()}, {"amount", money(total_cents)},
                                    {"amount_cents", total_cents},
                                    {"file", kSalesFileName}, {"per_day", sales_per_day}}}});
  truth.array("groups", schedule.groups, [&](const Group& g) -> std::optional<json> {
    if (g.visits.empty()) return std::nullopt;
    std::int64_t arrival = schedule.visits[g.visits.front()].arrival_ns;
    std::int64_t departure = 0;
    for (auto id : g.visits) {
      arrival = std::min(arrival, schedule.visits[id].arrival_ns);
      departure = std::max(departure, schedule.visits[id].departure_ns);
    }
    return json{{"id", g.id}, {"day", g.day}, {"devices", g.devices}, {"visits", g.visits},
                {"arrival_ns", arrival}, {"departure_ns", departure}};
  });
  truth.array("devices", schedule.devices, [&](const Device& d) -> std::optional<json> {
    if (d.visits.empty()) return std::nullopt;  // planned for after the frame limit stopped the run
    return device_json(d, s);
  });
  truth.array("visits", schedule.visits,
              [&](const Visit& v) -> std::optional<json> { return visit_json(v, s, schedule, visit_sales[v.id]); });
  truth.array("sales", result.sales, [&](const Sale& sale) -> std::optional<json> {
    return json{{"sale_id", sale.sale_id}, {"visit", sale.visit}, {"device", sale.device},
                {"zone", s.zones[sale.zone].name}, {"time", format_utc_ms(sale.time_ns)}, {"time_ns", sale.time_ns},
                {"amount", money(sale.amount_cents)}, {"amount_cents", sale.amount_cents}};
  });
  truth.finish();
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

FrameLog::FrameLog(const std::filesystem::path& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
  if (!file_) throw std::runtime_error("cannot create " + path.string() + ": " + std::strerror(errno));
  std::setvbuf(file_.get(), nullptr, _IOFBF, 1 << 20);
  std::fputs("probe\tts_ns\tkind\tsa\tseq\trssi\n", file_.get());
}

void FrameLog::add(int probe_id, std::int64_t ts_ns, std::string_view kind, const MacAddress& sa, unsigned seq,
                   int rssi) {
  // Formatted by hand: the log may hold millions of lines.
  std::array<char, 128> line{};
  std::size_t n = 0;
  const auto put = [&](char c) {
    if (n < line.size()) line[n++] = c;
  };
  const auto number = [&](auto value) {
    const auto r = std::to_chars(line.data() + n, line.data() + line.size(), value);
    if (r.ec == std::errc{}) n = static_cast<std::size_t>(r.ptr - line.data());
  };
  number(probe_id);
  put('\t');
  number(ts_ns);
  put('\t');
  for (char c : kind) put(c);
  put('\t');
  std::array<char, 17> mac{};
  sa.write(mac.data());
  for (char c : mac) put(c);
  put('\t');
  number(seq);
  put('\t');
  number(rssi);
  put('\n');
  std::fwrite(line.data(), 1, n, file_.get());
}

void FrameLog::close() {
  if (!file_) return;
  const bool ok = std::fflush(file_.get()) == 0 && std::ferror(file_.get()) == 0;
  file_.reset();
  if (!ok) throw std::runtime_error("cannot write " + path_.string());
}

}  // namespace footfall::sim
