#include "aggregator/aggregate/thresholds.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>

namespace footfall::aggregator {
namespace {

[[noreturn]] void bad(const std::string& key, const std::string& why) {
  throw std::invalid_argument("thresholds: " + key + ": " + why);
}

int read_int(const std::string& key, const nlohmann::json& v, long long lo, long long hi) {
  if (!v.is_number_integer()) bad(key, "must be an integer, got " + v.dump());
  const auto x = v.get<long long>();
  if (x < lo || x > hi) bad(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + v.dump());
  return static_cast<int>(x);
}

double read_number(const std::string& key, const nlohmann::json& v, double lo, double hi) {
  if (!v.is_number()) bad(key, "must be a number, got " + v.dump());
  const auto x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    bad(key, "must be in [" + nlohmann::json(lo).dump() + ", " + nlohmann::json(hi).dump() + "], got " + v.dump());
  }
  return x;
}

}  // namespace

SiteThresholds SiteThresholds::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw std::invalid_argument("thresholds: must be a JSON object, got " + j.dump());
  SiteThresholds t;
  constexpr double year_s = 366.0 * 86400.0;
  using Setter = std::function<void(const std::string&, const nlohmann::json&)>;
  const std::map<std::string, Setter> table = {
      {"visitor_rssi_dbm", [&](auto& k, auto& v) { t.visitor_rssi_dbm = read_int(k, v, -128, 127); }},
      {"visitor_rssi_stat",
       [&](auto& k, auto& v) {
         if (!v.is_string() || (v != "mean" && v != "max")) bad(k, "must be \"mean\" or \"max\", got " + v.dump());
         t.visitor_rssi_stat = v.template get<std::string>();
       }},
      {"visitor_min_dwell_s", [&](auto& k, auto& v) { t.visitor_min_dwell_s = read_number(k, v, 0, year_s); }},
      {"engaged_dwell_s", [&](auto& k, auto& v) { t.engaged_dwell_s = read_number(k, v, 0, year_s); }},
      {"engaged_min_zones", [&](auto& k, auto& v) { t.engaged_min_zones = read_int(k, v, 1, 1000); }},
      {"returning_window_days", [&](auto& k, auto& v) { t.returning_window_days = read_int(k, v, 1, 366); }},
      {"refer_arrival_s", [&](auto& k, auto& v) { t.refer_arrival_s = read_number(k, v, 0, 86400); }},
      {"refer_departure_s", [&](auto& k, auto& v) { t.refer_departure_s = read_number(k, v, 0, 86400); }},
      {"alert_drop", [&](auto& k, auto& v) { t.alert_drop = read_number(k, v, 0, 1); }},
      {"alert_min_baseline_days", [&](auto& k, auto& v) { t.alert_min_baseline_days = read_int(k, v, 1, 4); }},
      {"utc_offset_min", [&](auto& k, auto& v) { t.utc_offset_min = read_int(k, v, -720, 840); }},
      {"time_zone",
       [&](auto& k, auto& v) {
         if (!v.is_string()) bad(k, "must be a tz database name such as \"Europe/Paris\", got " + v.dump());
         if (find_time_zone(v.template get<std::string>()) == nullptr)
           bad(k, "unknown time zone " + v.dump() + " (not in the system's tz database, /usr/share/zoneinfo)");
         t.time_zone = v.template get<std::string>();
       }},
      {"occupancy_step_s", [&](auto& k, auto& v) { t.occupancy_step_s = read_int(k, v, 1, 86400); }},
      {"report_occupancy_points", [&](auto& k, auto& v) { t.report_occupancy_points = read_int(k, v, 1, 1000000); }},
      {"resident_min_hours", [&](auto& k, auto& v) { t.resident_min_hours = read_number(k, v, 0, 24); }},
  };
  if (j.contains("time_zone") && j.contains("utc_offset_min"))
    bad("utc_offset_min", "give either time_zone or utc_offset_min, not both");
  for (const auto& [key, value] : j.items()) {
    const auto it = table.find(key);
    if (it == table.end()) bad(key, "unknown key");
    it->second(key, value);
  }
  return t;
}

LocalClock SiteThresholds::clock() const {
  if (time_zone.empty()) return LocalClock(utc_offset_min);
  const date::time_zone* zone = find_time_zone(time_zone);
  if (zone == nullptr) throw std::invalid_argument("thresholds: time_zone: unknown time zone \"" + time_zone + "\"");
  return LocalClock(*zone);
}

nlohmann::json SiteThresholds::to_json() const {
  nlohmann::json j = {{"visitor_rssi_dbm", visitor_rssi_dbm},
          {"visitor_rssi_stat", visitor_rssi_stat},
          {"visitor_min_dwell_s", visitor_min_dwell_s},
          {"engaged_dwell_s", engaged_dwell_s},
          {"engaged_min_zones", engaged_min_zones},
          {"returning_window_days", returning_window_days},
          {"refer_arrival_s", refer_arrival_s},
          {"refer_departure_s", refer_departure_s},
          {"alert_drop", alert_drop},
          {"alert_min_baseline_days", alert_min_baseline_days},
          {"utc_offset_min", utc_offset_min},
          {"occupancy_step_s", occupancy_step_s},
          {"report_occupancy_points", report_occupancy_points},
          {"resident_min_hours", resident_min_hours}};
  // One of the two local-time keys, as from_json takes them back.
  if (!time_zone.empty()) {
    j.erase("utc_offset_min");
    j["time_zone"] = time_zone;
  }
  return j;
}

}  // namespace footfall::aggregator
