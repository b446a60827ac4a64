#pragma once
// What the aggregator knows of a site: the gateway's visits, presence changes, occupancy samples and probe
// health as they arrive on MQTT, and the sales the site reports. Times are milliseconds since the Unix epoch
// (UTC); devices are the gateway's pseudonyms, comparable only within one key epoch.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace footfall::aggregator {

using TimeMs = std::int64_t;

// What one probe heard of a visit (from visits[].probes[]).
struct ProbeSignal {
  std::string probe;
  std::string zone;
  TimeMs first_seen = 0;
  TimeMs last_seen = 0;
  std::int64_t frames = 0;
  int rssi_max = -127;
  double rssi_mean = -127.0;
};

// Strongest zone from a point in time on (from visits[].strongest_zone[]).
struct ZoneSpan {
  TimeMs from = 0;
  std::string zone;
};

// A completed visit of one device at one site, as published on .../visits.
struct Visit {
  std::string tenant;
  std::string site;
  std::string visit_id;  // unique per visit; the idempotence key
  std::string device;    // pseudonym, valid within key_epoch
  std::int64_t key_epoch = 0;
  TimeMs arrival = 0;
  TimeMs departure = 0;
  double dwell_s = 0.0;
  std::vector<std::string> zones;  // in the order first entered
  std::string entry_zone;
  std::string exit_zone;
  std::vector<ZoneSpan> strongest_zone;
  std::vector<ProbeSignal> probes;
  bool randomized = false;
  std::string fingerprint;
};

// The site's occupancy at one moment (from presence batches' "occupancy").
struct OccupancySample {
  std::string tenant;
  std::string site;
  TimeMs at = 0;
  std::int64_t total = 0;
  std::map<std::string, std::int64_t> zones;
};

// The health of one probe (from .../probes): the fields a reader filters on, plus the item as sent.
struct ProbeHealth {
  std::string probe;
  bool connected = false;
  TimeMs last_heartbeat = 0;
  std::string item_json;  // the probes[] item exactly as received (compact JSON)
};

// One sale of the site (CSV import or the .../sales topic); sale_id makes imports idempotent.
struct Sale {
  std::string tenant;
  std::string site;
  std::string sale_id;
  TimeMs at = 0;
  double amount = 0.0;
};

}  // namespace footfall::aggregator
