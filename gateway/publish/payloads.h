#pragma once
// What the gateway publishes to MQTT, as plain structs, and their JSON encoding (docs/schema/*.json).
// Devices appear only as pseudonyms (lowercase hex from the anonymize stage): an item whose device or
// fingerprint is not a pseudonym is refused by the encoder, so a raw MAC can never reach a payload.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/drops.h"

namespace footfall::gateway::publish {

using UnixMs = std::int64_t;  // milliseconds since the Unix epoch, UTC

// A pseudonym is 16..128 lowercase hex digits: longer than a MAC's 12, and no separators.
bool is_pseudonym(std::string_view s);
// "2024-05-01T10:00:00.123Z"
std::string iso8601_utc(UnixMs t);
void append_iso8601(std::string& out, UnixMs t);

struct ZoneSpan {
  UnixMs from = 0;  // the device was loudest in zone from this moment on
  std::string zone;
};

struct ProbeSighting {
  std::string probe;
  std::string zone;
  UnixMs first_seen = 0;
  UnixMs last_seen = 0;
  std::uint32_t frames = 0;
  std::int32_t rssi_max = 0;  // dBm
  double rssi_mean = 0.0;     // dBm
};

// One completed visit at the site, merged over every probe that heard the device.
struct SiteVisit {
  std::string device;  // pseudonym
  std::uint32_t key_epoch = 0;  // which pseudonymization key produced `device`
  UnixMs arrival = 0;
  UnixMs departure = 0;
  std::vector<std::string> zones;  // in order of first visit
  std::string entry_zone;
  std::string exit_zone;
  std::vector<ZoneSpan> strongest_zone;
  std::vector<ProbeSighting> probes;
  bool randomized = false;  // locally administered (randomized) address
  std::string fingerprint;  // pseudonym of the probe-request fingerprint; empty: none
  std::string visit_id;     // keyed hash of (site, device, arrival): the same on a replay; empty: not sent
  std::uint32_t addresses = 1;  // addresses the device used during the visit (random ones change)
};

enum class PresenceKind : std::uint8_t { arrival, departure };
std::string_view to_string(PresenceKind k);

struct PresenceChange {
  PresenceKind kind = PresenceKind::arrival;
  std::string device;  // pseudonym
  std::uint32_t key_epoch = 0;
  UnixMs at = 0;
  std::string zone;
  bool randomized = false;
};

// How many devices are at the site right now; the newest snapshot rides on the next presence batch.
struct Occupancy {
  UnixMs at = 0;
  std::uint32_t total = 0;
  std::map<std::string, std::uint32_t> zones;
};

// One probe's health as the `.../probes` topic reports it: a summary of the receive side's ProbeHealth
// (gateway/health/probe_health.h, the live record with its clock estimate), in the payload's units.
struct ProbeReport {
  std::string probe;
  bool connected = false;
  UnixMs last_heartbeat = 0;
  std::int64_t clock_offset_us = 0;  // probe clock minus gateway clock
  std::uint64_t capture_drops = 0;   // frames the kernel or libpcap dropped
  std::uint64_t spool_depth_records = 0;
  std::uint64_t spool_depth_bytes = 0;
  std::uint64_t spool_full_drops = 0;  // records the probe's spool lost to its full policy
};

struct GatewayHealth {
  std::map<std::string, std::uint64_t> counters;
  drops::DropCounts drops;  // published as drops_by_reason
};

struct Status {
  bool online = false;
  std::optional<UnixMs> since;  // when this state began; unknown for the last will
  std::string software_version;
  std::string client_id;
  std::string reason;  // "connected", "shutdown", "connection_lost"
};

// Item encoders: nullopt when a device or fingerprint field is not a pseudonym.
std::optional<std::string> encode_visit(const SiteVisit& v);
std::optional<std::string> encode_presence_change(const PresenceChange& c);
std::string encode_occupancy(const Occupancy& o);
std::string encode_probe_health(const ProbeReport& h);
std::string encode_gateway_health(const GatewayHealth& g);
std::string encode_status(std::string_view tenant, std::string_view site, const Status& s);

// The envelope every micro-batch shares; `items` are already-encoded JSON values under `array_key`.
struct BatchEnvelope {
  std::string_view batch_id;
  std::string_view tenant;
  std::string_view site;
  std::uint64_t seq = 0;
  UnixMs sent_at = 0;
};
// extra_fields: already-encoded `"key":value` members appended after the array (may be empty).
std::string encode_batch(const BatchEnvelope& env, std::string_view array_key, const std::vector<std::string>& items,
                         std::string_view extra_fields);

}  // namespace footfall::gateway::publish
