#pragma once
// Hand-built visits for the aggregation tests: one loud probe over the whole visit unless told otherwise.

#include <string>
#include <vector>

#include "aggregator/model/site_records.h"

namespace footfall::aggregator::testing {

constexpr TimeMs minute = 60'000;
constexpr TimeMs hour = 60 * minute;
constexpr TimeMs day = 24 * hour;
constexpr TimeMs may_1 = 1'714'521'600'000;  // 2024-05-01T00:00:00Z, a Wednesday

inline ProbeSignal probe(TimeMs first, TimeMs last, double rssi_mean, const std::string& zone = "entrance") {
  ProbeSignal p;
  p.probe = "probe-" + zone;
  p.zone = zone;
  p.first_seen = first;
  p.last_seen = last;
  p.frames = 10;
  p.rssi_mean = rssi_mean;
  p.rssi_max = static_cast<int>(rssi_mean) + 5;
  return p;
}

inline Visit visit(const std::string& device, TimeMs arrival, TimeMs departure, double rssi_mean = -50,
                   std::int64_t epoch = 1, std::vector<std::string> zones = {"entrance"}) {
  Visit v;
  v.tenant = "acme";
  v.site = "mall-7";
  v.device = device;
  v.key_epoch = epoch;
  v.visit_id = device + "-" + std::to_string(arrival);
  v.arrival = arrival;
  v.departure = departure;
  v.dwell_s = static_cast<double>(departure - arrival) / 1000.0;
  v.zones = zones;
  v.entry_zone = zones.front();
  v.exit_zone = zones.back();
  for (std::size_t i = 0; i < zones.size(); ++i) v.strongest_zone.push_back({arrival + static_cast<TimeMs>(i), zones[i]});
  v.probes.push_back(probe(arrival, departure, rssi_mean, zones.front()));
  return v;
}

// A visitor visit of `minutes` minutes.
inline Visit visitor(const std::string& device, TimeMs arrival, TimeMs minutes, std::int64_t epoch = 1) {
  return visit(device, arrival, arrival + minutes * minute, -50, epoch);
}

}  // namespace footfall::aggregator::testing
