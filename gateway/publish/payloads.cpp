#include "gateway/publish/payloads.h"

#include <array>
#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/civil_date.h"

namespace footfall::gateway::publish {
namespace {

using nlohmann::json;

using footfall::CivilDate;
using footfall::civil_from_days;
using footfall::floor_div;

// The hot payloads (visits, presence changes) are written by hand: the same bytes nlohmann would produce
// (members in key order, same escapes, same number forms), several times faster and without a DOM.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void raw(std::string_view s) { out_ += s; }
  void key(std::string_view k) {  // keys are our own literals: no escaping needed
    out_ += '"';
    out_ += k;
    out_ += "\":";
  }
  void string(std::string_view s) {
    out_ += '"';
    std::size_t run = 0;  // start of the pending run of bytes that need no escape
    for (std::size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default: {
          static constexpr char hex[] = "0123456789abcdef";
          out_ += "\\u00";
          out_ += hex[c >> 4];
          out_ += hex[c & 15];
        }
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
  }
  void boolean(bool b) { out_ += b ? "true" : "false"; }
  void null() { out_ += "null"; }
  template <typename Int>
  void integer(Int v) {
    std::array<char, 24> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out_.append(buf.data(), r.ptr);
  }
  // As nlohmann prints a double: shortest round-trip digits, integral values with ".0".
  void number(double v) {
    std::array<char, 32> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    const std::string_view text(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));
    out_ += text;
    if (text.find_first_of(".eEn") == std::string_view::npos) out_ += ".0";
  }
  void timestamp(UnixMs t) {
    out_ += '"';
    append_iso8601(out_, t);
    out_ += '"';
  }

 private:
  std::string& out_;
};

void write_sighting(JsonWriter& w, const ProbeSighting& p) {
  w.raw("{");
  w.key("first_seen");
  w.timestamp(p.first_seen);
  w.raw(",");
  w.key("frames");
  w.integer(p.frames);
  w.raw(",");
  w.key("last_seen");
  w.timestamp(p.last_seen);
  w.raw(",");
  w.key("probe");
  w.string(p.probe);
  w.raw(",");
  w.key("rssi_max");
  w.integer(p.rssi_max);
  w.raw(",");
  w.key("rssi_mean");
  w.number(p.rssi_mean);
  w.raw(",");
  w.key("zone");
  w.string(p.zone);
  w.raw("}");
}

}  // namespace

bool is_pseudonym(std::string_view s) {
  if (s.size() < 16 || s.size() > 128) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void append_iso8601(std::string& out, UnixMs t) {
  const std::int64_t days = floor_div(t, 86'400'000);
  const std::int64_t ms_of_day = t - days * 86'400'000;
  const CivilDate d = civil_from_days(days);
  if (d.year < 0 || d.year > 9999) {  // outside what four digits hold: the slow, general path
    std::array<char, 48> buf{};
    std::snprintf(buf.data(), buf.size(), "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<long long>(d.year),
                  d.month, d.day, static_cast<int>(ms_of_day / 3'600'000), static_cast<int>(ms_of_day / 60'000 % 60),
                  static_cast<int>(ms_of_day / 1000 % 60), static_cast<int>(ms_of_day % 1000));
    out += buf.data();
    return;
  }
  std::array<char, 24> b{};
  auto put = [&b](std::size_t at, unsigned value, std::size_t width) {
    for (std::size_t i = width; i-- > 0; value /= 10) b[at + i] = static_cast<char>('0' + value % 10);
  };
  const auto ms = static_cast<unsigned>(ms_of_day);
  put(0, static_cast<unsigned>(d.year), 4);
  b[4] = '-';
  put(5, d.month, 2);
  b[7] = '-';
  put(8, d.day, 2);
  b[10] = 'T';
  put(11, ms / 3'600'000, 2);
  b[13] = ':';
  put(14, ms / 60'000 % 60, 2);
  b[16] = ':';
  put(17, ms / 1000 % 60, 2);
  b[19] = '.';
  put(20, ms % 1000, 3);
  b[23] = 'Z';
  out.append(b.data(), b.size());
}

std::string iso8601_utc(UnixMs t) {
  std::string out;
  append_iso8601(out, t);
  return out;
}

std::string_view to_string(PresenceKind k) {
  switch (k) {
    case PresenceKind::arrival: return "arrival";
    case PresenceKind::departure: return "departure";
  }
  return "unknown";
}

std::optional<std::string> encode_visit(const SiteVisit& v) {
  if (!is_pseudonym(v.device) || (!v.fingerprint.empty() && !is_pseudonym(v.fingerprint)) ||
      (!v.visit_id.empty() && !is_pseudonym(v.visit_id)))
    return std::nullopt;
  std::string out;
  out.reserve(400 + 160 * v.probes.size() + 48 * v.strongest_zone.size());
  JsonWriter w(out);
  w.raw("{");
  w.key("addresses");
  w.integer(v.addresses);
  w.raw(",");
  w.key("arrival");
  w.timestamp(v.arrival);
  w.raw(",");
  w.key("departure");
  w.timestamp(v.departure);
  w.raw(",");
  w.key("device");
  w.string(v.device);
  w.raw(",");
  w.key("dwell_s");
  w.number(static_cast<double>(v.departure - v.arrival) / 1000.0);
  w.raw(",");
  w.key("entry_zone");
  w.string(v.entry_zone);
  w.raw(",");
  w.key("exit_zone");
  w.string(v.exit_zone);
  w.raw(",");
  w.key("fingerprint");
  if (v.fingerprint.empty()) w.null();
  else w.string(v.fingerprint);
  w.raw(",");
  w.key("key_epoch");
  w.integer(v.key_epoch);
  w.raw(",");
  w.key("probes");
  w.raw("[");
  for (std::size_t i = 0; i < v.probes.size(); ++i) {
    if (i != 0) w.raw(",");
    write_sighting(w, v.probes[i]);
  }
  w.raw("],");
  w.key("randomized");
  w.boolean(v.randomized);
  w.raw(",");
  w.key("strongest_zone");
  w.raw("[");
  for (std::size_t i = 0; i < v.strongest_zone.size(); ++i) {
    if (i != 0) w.raw(",");
    w.raw("{");
    w.key("from");
    w.timestamp(v.strongest_zone[i].from);
    w.raw(",");
    w.key("zone");
    w.string(v.strongest_zone[i].zone);
    w.raw("}");
  }
  w.raw("],");
  if (!v.visit_id.empty()) {
    w.key("visit_id");
    w.string(v.visit_id);
    w.raw(",");
  }
  w.key("zones");
  w.raw("[");
  for (std::size_t i = 0; i < v.zones.size(); ++i) {
    if (i != 0) w.raw(",");
    w.string(v.zones[i]);
  }
  w.raw("]}");
  return out;
}

std::optional<std::string> encode_presence_change(const PresenceChange& c) {
  if (!is_pseudonym(c.device)) return std::nullopt;
  std::string out;
  out.reserve(160);
  JsonWriter w(out);
  w.raw("{");
  w.key("at");
  w.timestamp(c.at);
  w.raw(",");
  w.key("device");
  w.string(c.device);
  w.raw(",");
  w.key("key_epoch");
  w.integer(c.key_epoch);
  w.raw(",");
  w.key("kind");
  w.string(to_string(c.kind));
  w.raw(",");
  w.key("randomized");
  w.boolean(c.randomized);
  w.raw(",");
  w.key("zone");
  w.string(c.zone);
  w.raw("}");
  return out;
}

std::string encode_occupancy(const Occupancy& o) {
  return json{{"at", iso8601_utc(o.at)}, {"total", o.total}, {"zones", o.zones}}.dump();
}

std::string encode_probe_health(const ProbeReport& h) {
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
  return json{{"counters", g.counters}, {"drops_by_reason", g.drops.by_reason()}}.dump();
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
  JsonWriter w(out);
  out += R"({"batch_id":)";
  w.string(env.batch_id);
  out += R"(,"tenant":)";
  w.string(env.tenant);
  out += R"(,"site":)";
  w.string(env.site);
  out += R"(,"seq":)";
  out += std::to_string(env.seq);
  out += R"(,"sent_at":")";
  append_iso8601(out, env.sent_at);
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

}  // namespace footfall::gateway::publish
