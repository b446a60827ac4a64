#include "gateway/publish/payloads.h"

#include <array>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace footfall::publish {
namespace {

using nlohmann::json;

// Civil date from days since 1970-01-01 (proleptic Gregorian): no locale, no time zone database.
struct CivilDate {
  std::int64_t year;
  unsigned month;
  unsigned day;
};
CivilDate civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

json sighting_json(const ProbeSighting& p) {
  return json{{"probe", p.probe},
              {"zone", p.zone},
              {"first_seen", iso8601_utc(p.first_seen)},
              {"last_seen", iso8601_utc(p.last_seen)},
              {"frames", p.frames},
              {"rssi_max", p.rssi_max},
              {"rssi_mean", p.rssi_mean}};
}

}  // namespace

bool is_pseudonym(std::string_view s) {
  if (s.size() < 16 || s.size() > 128) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string iso8601_utc(UnixMs t) {
  const std::int64_t days = floor_div(t, 86'400'000);
  const std::int64_t ms_of_day = t - days * 86'400'000;
  const CivilDate d = civil_from_days(days);
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(d.year),
                d.month, d.day, static_cast<int>(ms_of_day / 3'600'000), static_cast<int>(ms_of_day / 60'000 % 60),
                static_cast<int>(ms_of_day / 1000 % 60), static_cast<int>(ms_of_day % 1000));
  return buf.data();
}

std::string_view to_string(PresenceKind k) {
  switch (k) {
    case PresenceKind::arrival: return "arrival";
    case PresenceKind::departure: return "departure";
  }
  return "unknown";
}

std::optional<std::string> encode_visit(const SiteVisit& v) {
  if (!is_pseudonym(v.device) || (!v.fingerprint.empty() && !is_pseudonym(v.fingerprint))) return std::nullopt;
  json strongest = json::array();
  for (const ZoneSpan& s : v.strongest_zone) strongest.push_back({{"from", iso8601_utc(s.from)}, {"zone", s.zone}});
  json probes = json::array();
  for (const ProbeSighting& p : v.probes) probes.push_back(sighting_json(p));
  json j{{"device", v.device},
         {"key_epoch", v.key_epoch},
         {"arrival", iso8601_utc(v.arrival)},
         {"departure", iso8601_utc(v.departure)},
         {"dwell_s", static_cast<double>(v.departure - v.arrival) / 1000.0},
         {"zones", v.zones},
         {"entry_zone", v.entry_zone},
         {"exit_zone", v.exit_zone},
         {"strongest_zone", std::move(strongest)},
         {"probes", std::move(probes)},
         {"randomized", v.randomized},
         {"fingerprint", v.fingerprint.empty() ? json(nullptr) : json(v.fingerprint)}};
  return j.dump();
}

std::optional<std::string> encode_presence_change(const PresenceChange& c) {
  if (!is_pseudonym(c.device)) return std::nullopt;
  return json{{"kind", to_string(c.kind)},
              {"device", c.device},
              {"key_epoch", c.key_epoch},
              {"at", iso8601_utc(c.at)},
              {"zone", c.zone},
              {"randomized", c.randomized}}
      .dump();
}

std::string encode_occupancy(const Occupancy& o) {
  return json{{"at", iso8601_utc(o.at)}, {"total", o.total}, {"zones", o.zones}}.dump();
}

std::string encode_probe_health(const ProbeHealth& h) {
  return json{{"probe", h.probe},
              {"connected", h.connected},
              {"last_heartbeat", h.last_heartbeat == 0 ? json(nullptr) : json(iso8601_utc(h.last_heartbeat))},
              {"clock_offset_us", h.clock_offset_us},
              {"capture_drops", h.capture_drops},
              {"spool_depth_records", h.spool_depth_records},
              {"spool_depth_bytes", h.spool_depth_bytes},
              {"spool_full_drops", h.spool_full_drops}}
      .dump();
}

std::string encode_gateway_health(const GatewayHealth& g) {
  return json{{"counters", g.counters}, {"drops_by_reason", g.drops_by_reason}}.dump();
}

std::string encode_status(std::string_view tenant, std::string_view site, const Status& s) {
  return json{{"state", s.online ? "online" : "offline"},
              {"tenant", tenant},
              {"site", site},
              {"client_id", s.client_id},
              {"since", s.since ? json(iso8601_utc(*s.since)) : json(nullptr)},
              {"software_version", s.software_version},
              {"reason", s.reason}}
      .dump();
}

std::string encode_batch(const BatchEnvelope& env, std::string_view array_key, const std::vector<std::string>& items,
                         std::string_view extra_fields) {
  std::size_t bytes = 160 + env.batch_id.size() + env.tenant.size() + env.site.size() + extra_fields.size();
  for (const std::string& item : items) bytes += item.size() + 1;
  std::string out;
  out.reserve(bytes);
  out += R"({"batch_id":)";
  out += json(env.batch_id).dump();
  out += R"(,"tenant":)";
  out += json(env.tenant).dump();
  out += R"(,"site":)";
  out += json(env.site).dump();
  out += R"(,"seq":)";
  out += std::to_string(env.seq);
  out += R"(,"sent_at":")";
  out += iso8601_utc(env.sent_at);
  out += R"(",")";
  out += array_key;
  out += R"(":[)";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    out += items[i];
  }
  out += ']';
  if (!extra_fields.empty()) {
    out += ',';
    out += extra_fields;
  }
  out += '}';
  return out;
}

}  // namespace footfall::publish
