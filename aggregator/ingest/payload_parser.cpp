#include "aggregator/ingest/payload_parser.h"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "aggregator/ingest/feed_schema.h"
#include "aggregator/ingest/iso_time.h"

namespace footfall::aggregator {

std::string_view to_string(FeedKind kind) {
  switch (kind) {
    case FeedKind::visits: return "visits";
    case FeedKind::presence: return "presence";
    case FeedKind::probes: return "probes";
    case FeedKind::sales: return "sales";
    case FeedKind::status: return "status";
  }
  return "?";
}

namespace {

using nlohmann::json;

// Reads members of one JSON object; the first problem is kept and every later read fails fast.
class Reader {
 public:
  std::optional<ParseError> error;

  bool fail(std::string_view reason, const std::string& where, std::string_view what) {
    if (!error) error = ParseError{std::string(reason), where + ": " + std::string(what)};
    return false;
  }

  const json* member(const json& obj, const char* key, const std::string& at) {
    if (error) return nullptr;
    const auto it = obj.find(key);
    if (it == obj.end()) {
      fail(parse_reason::missing_member, at + key, "missing");
      return nullptr;
    }
    return &*it;
  }

  bool text(const json& obj, const char* key, const std::string& at, std::string& out, bool non_empty = false) {
    const json* v = member(obj, key, at);
    if (v == nullptr) return false;
    if (!v->is_string()) return fail(parse_reason::wrong_type, at + key, "expected a string");
    out = v->get_ref<const std::string&>();
    if (non_empty && out.empty()) return fail(parse_reason::wrong_type, at + key, "expected a non-empty string");
    return true;
  }

  bool integer(const json& obj, const char* key, const std::string& at, std::int64_t& out,
               std::int64_t lo = std::numeric_limits<std::int64_t>::min()) {
    const json* v = member(obj, key, at);
    if (v == nullptr) return false;
    if (v->is_number_unsigned()) {
      if (v->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return fail(parse_reason::wrong_type, at + key, "integer out of range");
      out = static_cast<std::int64_t>(v->get<std::uint64_t>());
    } else if (v->is_number_integer()) {
      out = v->get<std::int64_t>();
    } else {
      return fail(parse_reason::wrong_type, at + key, "expected an integer");
    }
    if (out < lo) return fail(parse_reason::wrong_type, at + key, "integer below " + std::to_string(lo));
    return true;
  }

  bool number(const json& obj, const char* key, const std::string& at, double& out) {
    const json* v = member(obj, key, at);
    if (v == nullptr) return false;
    if (!v->is_number()) return fail(parse_reason::wrong_type, at + key, "expected a number");
    out = v->get<double>();
    return true;
  }

  bool boolean(const json& obj, const char* key, const std::string& at, bool& out) {
    const json* v = member(obj, key, at);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return fail(parse_reason::wrong_type, at + key, "expected true or false");
    out = v->get<bool>();
    return true;
  }

  // with_offset: "+01:00" as well as "Z" (times from points of sale, which keep local time).
  bool time(const json& obj, const char* key, const std::string& at, TimeMs& out, bool with_offset = false) {
    const json* v = member(obj, key, at);
    if (v == nullptr) return false;
    std::optional<TimeMs> t;
    if (v->is_string()) {
      const auto& text = v->get_ref<const std::string&>();
      t = with_offset ? parse_iso8601_with_offset(text) : parse_iso8601_utc(text);
    }
    if (!t)
      return fail(parse_reason::bad_timestamp, at + key,
                  with_offset ? "expected an ISO-8601 timestamp with Z or an offset (+01:00)"
                              : "expected an ISO-8601 UTC timestamp");
    out = *t;
    return true;
  }

  const json* array(const json& obj, const char* key, const std::string& at) {
    const json* v = member(obj, key, at);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) {
      fail(parse_reason::wrong_type, at + key, "expected an array");
      return nullptr;
    }
    return v;
  }

  bool object(const json& v, const std::string& at) {
    if (error) return false;
    return v.is_object() || fail(parse_reason::wrong_type, at, "expected an object");
  }
};

// A schema's verdict as a parse error: the reason says which kind of rule, the detail where and which.
ParseError schema_error(const SchemaViolation& v) {
  std::string_view reason = parse_reason::wrong_type;
  if (v.keyword == "required") reason = parse_reason::missing_member;
  else if (v.timestamp) reason = parse_reason::bad_timestamp;
  else if (v.keyword == "minimum" || v.keyword == "maximum") reason = parse_reason::out_of_range;
  else if (v.keyword == "pattern") reason = parse_reason::bad_pattern;
  else if (v.keyword == "enum") reason = parse_reason::not_allowed;
  else if (v.keyword == "additionalProperties") reason = parse_reason::unknown_member;
  return ParseError{std::string(reason), (v.path.empty() ? std::string("payload") : v.path) + ": " + v.detail};
}

std::string item_at(const char* array, std::size_t i) { return std::string(array) + "[" + std::to_string(i) + "]."; }

void parse_visit(Reader& r, const json& v, const std::string& at, Visit& out) {
  if (!r.object(v, at)) return;
  r.text(v, "device", at, out.device, true);
  r.integer(v, "key_epoch", at, out.key_epoch, 0);
  r.time(v, "arrival", at, out.arrival);
  r.time(v, "departure", at, out.departure);
  r.number(v, "dwell_s", at, out.dwell_s);
  if (const json* zones = r.array(v, "zones", at)) {
    out.zones.reserve(zones->size());
    for (const json& z : *zones) {
      if (!z.is_string()) {
        r.fail(parse_reason::wrong_type, at + "zones", "expected an array of strings");
        return;
      }
      out.zones.push_back(z.get<std::string>());
    }
  }
  r.text(v, "entry_zone", at, out.entry_zone);
  r.text(v, "exit_zone", at, out.exit_zone);
  if (const json* spans = r.array(v, "strongest_zone", at)) {
    out.strongest_zone.resize(spans->size());
    for (std::size_t i = 0; i < spans->size() && !r.error; ++i) {
      const std::string sat = at + item_at("strongest_zone", i);
      if (!r.object((*spans)[i], sat)) return;
      r.time((*spans)[i], "from", sat, out.strongest_zone[i].from);
      r.text((*spans)[i], "zone", sat, out.strongest_zone[i].zone);
    }
  }
  if (const json* probes = r.array(v, "probes", at)) {
    out.probes.resize(probes->size());
    for (std::size_t i = 0; i < probes->size() && !r.error; ++i) {
      const json& p = (*probes)[i];
      const std::string pat = at + item_at("probes", i);
      ProbeSignal& s = out.probes[i];
      if (!r.object(p, pat)) return;
      r.text(p, "probe", pat, s.probe);
      r.text(p, "zone", pat, s.zone);
      r.time(p, "first_seen", pat, s.first_seen);
      r.time(p, "last_seen", pat, s.last_seen);
      r.integer(p, "frames", pat, s.frames, 0);
      std::int64_t rssi = 0;
      if (r.integer(p, "rssi_max", pat, rssi)) {
        if (rssi < -128 || rssi > 127) r.fail(parse_reason::wrong_type, pat + "rssi_max", "expected -128..127");
        s.rssi_max = static_cast<int>(rssi);
      }
      r.number(p, "rssi_mean", pat, s.rssi_mean);
    }
  }
  r.boolean(v, "randomized", at, out.randomized);
  if (const json* fp = r.member(v, "fingerprint", at)) {
    if (fp->is_string()) out.fingerprint = fp->get<std::string>();
    else if (!fp->is_null()) r.fail(parse_reason::wrong_type, at + "fingerprint", "expected a string or null");
  }
  if (r.error) return;
  // What the schema cannot say: the gateway publishes dwell_s = (departure - arrival) / 1000.
  if (out.departure < out.arrival) {
    r.fail(parse_reason::inconsistent, at + "departure", "before the arrival");
    return;
  }
  if (out.dwell_s > static_cast<double>(out.departure - out.arrival) / 1000.0 + 0.001) {
    r.fail(parse_reason::inconsistent, at + "dwell_s", "longer than departure - arrival");
    return;
  }
  for (std::size_t i = 0; i < out.probes.size(); ++i) {
    if (out.probes[i].last_seen < out.probes[i].first_seen) {
      r.fail(parse_reason::inconsistent, at + item_at("probes", i) + "last_seen", "before first_seen");
      return;
    }
  }
  const auto id = v.find("visit_id");
  if (id != v.end()) {
    if (!id->is_string() || id->get_ref<const std::string&>().empty()) {
      r.fail(parse_reason::wrong_type, at + "visit_id", "expected a non-empty string");
      return;
    }
    out.visit_id = id->get<std::string>();
  } else {
    // Older gateways send no visit_id: the same device, epoch and arrival are the same visit.
    out.visit_id = "v0-" + out.device + "-" + std::to_string(out.key_epoch) + "-" + std::to_string(out.arrival);
  }
}

void parse_presence(Reader& r, const json& root, IngestBatch& b) {
  if (const json* changes = r.array(root, "changes", "")) b.presence_changes = static_cast<std::int64_t>(changes->size());
  const json* occ = r.member(root, "occupancy", "");
  if (occ == nullptr || occ->is_null()) return;
  if (!r.object(*occ, "occupancy")) return;
  OccupancySample s{b.tenant, b.site, 0, 0, {}};
  r.time(*occ, "at", "occupancy.", s.at);
  r.integer(*occ, "total", "occupancy.", s.total, 0);
  const json* zones = r.member(*occ, "zones", "occupancy.");
  if (zones == nullptr) return;
  if (!zones->is_object()) {
    r.fail(parse_reason::wrong_type, "occupancy.zones", "expected an object of counts");
    return;
  }
  for (const auto& [zone, count] : zones->items()) {
    if (!count.is_number_unsigned()) {
      r.fail(parse_reason::wrong_type, "occupancy.zones." + zone, "expected a count");
      return;
    }
    s.zones[zone] = static_cast<std::int64_t>(count.get<std::uint64_t>());
  }
  if (!r.error) b.occupancy = std::move(s);
}

void parse_probes(Reader& r, const json& root, IngestBatch& b) {
  const json* probes = r.array(root, "probes", "");
  if (probes == nullptr) return;
  b.probes.resize(probes->size());
  for (std::size_t i = 0; i < probes->size() && !r.error; ++i) {
    const json& p = (*probes)[i];
    const std::string at = item_at("probes", i);
    if (!r.object(p, at)) return;
    r.text(p, "probe", at, b.probes[i].probe, true);
    r.boolean(p, "connected", at, b.probes[i].connected);
    const json* hb = r.member(p, "last_heartbeat", at);
    if (hb != nullptr && !hb->is_null()) r.time(p, "last_heartbeat", at, b.probes[i].last_heartbeat);
    b.probes[i].item_json = p.dump();
  }
  json gateway = json::object();
  for (const char* key : {"gateway", "publisher"})
    if (const auto it = root.find(key); it != root.end()) gateway[key] = *it;
  b.gateway_json = gateway.dump();
}

void parse_sales(Reader& r, const json& root, IngestBatch& b) {
  const json* sales = r.array(root, "sales", "");
  if (sales == nullptr) return;
  b.sales.resize(sales->size());
  for (std::size_t i = 0; i < sales->size() && !r.error; ++i) {
    const json& s = (*sales)[i];
    const std::string at = item_at("sales", i);
    if (!r.object(s, at)) return;
    Sale& sale = b.sales[i];
    sale.tenant = b.tenant;
    sale.site = b.site;
    r.text(s, "sale_id", at, sale.sale_id, true);
    r.time(s, "at", at, sale.at, true);
    r.number(s, "amount", at, sale.amount);
  }
}

}  // namespace

bool valid_level(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
           ch == '-' || ch == '.';
  });
}

std::optional<TopicAddress> parse_topic(std::string_view topic) {
  constexpr std::string_view prefix = "footfall/v1/";
  if (!topic.starts_with(prefix)) return std::nullopt;
  topic.remove_prefix(prefix.size());
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    const auto slash = topic.find('/');
    if ((slash == std::string_view::npos) != (i == 2)) return std::nullopt;
    parts[i] = topic.substr(0, slash);
    if (i < 2) topic.remove_prefix(slash + 1);
  }
  if (!valid_level(parts[0]) || !valid_level(parts[1])) return std::nullopt;
  TopicAddress a{std::string(parts[0]), std::string(parts[1]), FeedKind::visits};
  if (parts[2] == "visits") a.kind = FeedKind::visits;
  else if (parts[2] == "presence") a.kind = FeedKind::presence;
  else if (parts[2] == "probes") a.kind = FeedKind::probes;
  else if (parts[2] == "sales") a.kind = FeedKind::sales;
  else if (parts[2] == "status") a.kind = FeedKind::status;
  else return std::nullopt;
  return a;
}

ParseResult parse_payload(std::string_view topic, std::string_view payload, std::size_t max_payload_bytes) {
  const auto where = parse_topic(topic);
  if (!where) return ParseError{std::string(parse_reason::bad_topic), std::string(topic) + ": not a footfall/v1 data topic"};
  return parse_payload(*where, payload, max_payload_bytes);
}

ParseResult parse_payload(const TopicAddress& where, std::string_view payload, std::size_t max_payload_bytes) {
  if (where.kind == FeedKind::status)
    return ParseError{std::string(parse_reason::bad_topic), "status: not a batch"};
  if (payload.size() > max_payload_bytes)
    return ParseError{std::string(parse_reason::too_large), std::to_string(payload.size()) + " bytes"};
  const json root = json::parse(payload.begin(), payload.end(), nullptr, false);
  if (root.is_discarded()) return ParseError{std::string(parse_reason::not_json), "payload is not valid JSON"};
  if (!root.is_object()) return ParseError{std::string(parse_reason::not_object), "payload is not a JSON object"};
  if (const auto bad = feed_schema(where.kind).check(root)) return schema_error(*bad);

  Reader r;
  IngestBatch b;
  b.kind = where.kind;
  r.text(root, "batch_id", "", b.batch_id, true);
  r.text(root, "tenant", "", b.tenant);
  r.text(root, "site", "", b.site);
  if (!r.error && (b.tenant != where.tenant || b.site != where.site))
    r.fail(parse_reason::topic_mismatch, "tenant/site",
           "payload says " + b.tenant + "/" + b.site + ", topic says " + where.tenant + "/" + where.site);
  if (where.kind != FeedKind::sales) r.integer(root, "seq", "", b.seq, 1);
  r.time(root, "sent_at", "", b.sent_at);
  if (!r.error) {
    switch (where.kind) {
      case FeedKind::visits:
        if (const json* visits = r.array(root, "visits", "")) {
          b.visits.resize(visits->size());
          for (std::size_t i = 0; i < visits->size() && !r.error; ++i) {
            Visit& v = b.visits[i];
            v.tenant = b.tenant;
            v.site = b.site;
            parse_visit(r, (*visits)[i], item_at("visits", i), v);
          }
        }
        break;
      case FeedKind::presence: parse_presence(r, root, b); break;
      case FeedKind::probes: parse_probes(r, root, b); break;
      case FeedKind::sales: parse_sales(r, root, b); break;
      case FeedKind::status: break;
    }
  }
  if (r.error) return std::move(*r.error);
  return b;
}

}  // namespace footfall::aggregator
