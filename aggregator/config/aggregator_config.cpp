#include "aggregator/config/aggregator_config.h"

#include <algorithm>
#include <set>

#include <libpq-fe.h>

#include "aggregator/aggregate/local_time.h"
#include "aggregator/ingest/payload_parser.h"
#include "common/file_text.h"
#include "common/options/option_table.h"

namespace footfall::aggregator {
namespace {

using nlohmann::json;
using options::Option;
using options::Type;
using A = AggregatorConfig;
using M = MqttIngestSettings;
using P = PostgresSettings;
using S = ServeSettings;

// What the custom "tenants" row reads into: the config, and the check of each site's thresholds.
struct Reading {
  AggregatorConfig config;
  const ThresholdCheck* check = nullptr;
};

template <auto... Members>
constexpr options::Field field_of() {
  return options::field<&Reading::config, Members...>();
}

std::string read_tenants(const json& v, void* reading);
std::string read_users(const json& v, void* reading);

std::string_view check_mqtt_uri(const std::string& uri) {
  if (!uri.empty() && !uri.starts_with("tcp://") && !uri.starts_with("ssl://"))
    return "expected tcp://host:port or ssl://host:port";
  return {};
}

std::string_view check_client_id(const std::string& id) {
  if (id.empty() || id.size() > 256 || id.find_first_of("#+/") != std::string::npos)
    return "expected 1..256 characters without #, + or /";
  return {};
}

std::string_view check_share_group(const std::string& group) {
  if (!group.empty() && !valid_level(group)) return "expected 1..64 of [A-Za-z0-9_.-]";
  return {};
}

const Option kOptions[] = {
    {.key = "mqtt.uri", .type = Type::string, .default_text = "\"\"",
     .help = "broker: tcp://host:1883 or ssl://host:8883 (needed by run)", .field = field_of<&A::mqtt, &M::uri>(),
     .check = check_mqtt_uri},
    {.key = "mqtt.username", .type = Type::string, .default_text = "\"\"", .help = "broker user; empty: anonymous",
     .field = field_of<&A::mqtt, &M::username>()},
    {.key = "mqtt.password", .type = Type::string, .default_text = "\"\"",
     .help = "broker password (needs mqtt.username)", .field = field_of<&A::mqtt, &M::password>()},
    {.key = "mqtt.tls.ca_file", .type = Type::string, .default_text = "\"\"",
     .help = "ssl://: CA certificate(s) to trust; empty: the system's trust store",
     .field = field_of<&A::mqtt, &M::ca_file>(), .type_text = "path"},
    {.key = "mqtt.tls.cert_file", .type = Type::string, .default_text = "\"\"",
     .help = "ssl://: client certificate (PEM), optional", .field = field_of<&A::mqtt, &M::cert_file>(),
     .type_text = "path"},
    {.key = "mqtt.tls.key_file", .type = Type::string, .default_text = "\"\"",
     .help = "ssl://: private key of mqtt.tls.cert_file", .field = field_of<&A::mqtt, &M::key_file>(), .type_text = "path"},
    {.key = "mqtt.tls.verify_server", .type = Type::boolean, .default_text = "true",
     .help = "check the broker's certificate chain and host name", .field = field_of<&A::mqtt, &M::verify_server>()},
    {.key = "mqtt.client_id", .type = Type::string, .default_text = "\"footfall-aggregator\"",
     .help = "MQTT client id of the persistent session (the broker queues for it while it is away): unique per "
             "instance",
     .field = field_of<&A::mqtt, &M::client_id>(), .expected = "expected 1..256 characters without #, + or /",
     .check = check_client_id},
    {.key = "mqtt.share_group", .type = Type::string, .default_text = "\"\"",
     .help = "non-empty: subscribe as $share/{group}/footfall/... so the aggregators of one group split the feed",
     .field = field_of<&A::mqtt, &M::share_group>(), .check = check_share_group},
    {.key = "mqtt.persist_dir", .type = Type::path, .default_text = "\"{store.path}.mqtt\"",
     .help = "where the MQTT client keeps received messages until they are stored",
     .field = field_of<&A::mqtt, &M::persist_dir>(), .expected = "expected a path"},
    {.key = "mqtt.keep_alive_s", .type = Type::integer, .default_text = "30", .help = "MQTT keep-alive",
     .field = field_of<&A::mqtt, &M::keep_alive_s>(), .min = 5, .max = 3600},
    {.key = "mqtt.max_buffered_publishes", .type = Type::integer, .default_text = "1024",
     .help = "figures and alerts kept while the broker is away; when full the oldest is dropped",
     .field = field_of<&A::mqtt, &M::max_buffered_publishes>(), .min = 16, .max = 1'000'000},
    {.key = "store.backend", .type = Type::choice, .default_text = "\"sqlite\"",
     .help = "sqlite: one file, one instance (demo, one site, laptops); postgresql: one server database shared by "
             "several instances (docs/deployment.md)",
     .field = field_of<&A::store_backend>(), .choices = "sqlite|postgresql"},
    {.key = "store.path", .type = Type::path, .default_text = "\"/var/lib/footfall/aggregator.db\"",
     .help = "sqlite: the database file (WAL; -wal and -shm beside it)", .field = field_of<&A::store_path>(),
     .non_empty = true},
    {.key = "store.postgresql.conninfo", .type = Type::string, .default_text = "\"\"",
     .help = "postgresql: libpq connection string, e.g. \"host=db.example dbname=footfall user=aggregator\" (a "
             "password is better kept in ~/.pgpass or PGPASSFILE)",
     .field = field_of<&A::postgresql, &P::conninfo>()},
    {.key = "store.postgresql.pool_size", .type = Type::integer, .default_text = "4",
     .help = "postgresql: connections this instance opens at most (the publisher's lease connection is one more)",
     .field = field_of<&A::postgresql, &P::pool_size>(), .min = 1, .max = 256},
    {.key = "store.batch_ids_days", .type = Type::integer, .default_text = "30",
     .help = "processed batch ids are kept this many days, then pruned (an older redelivery is still caught by "
             "visit_id and sale_id)",
     .field = field_of<&A::batch_ids_days>(), .min = 1, .max = 3650},
    {.key = "ingest.queue_capacity", .type = Type::integer, .default_text = "64",
     .help = "parsed batches waiting for the store writer; when full the MQTT client waits (back-pressure)",
     .field = field_of<&A::queue_capacity>(), .min = 1, .max = 100'000, .expected = "expected an integer in [1, 100000]"},
    {.key = "ingest.sessions", .type = Type::integer, .default_text = "1",
     .help = "MQTT sessions this instance opens in its share group (client ids {mqtt.client_id}-2 ... beside the first), "
             "each with a store writer of its own, so that several messages are stored at once (their commits "
             "overlap); more than 1 needs mqtt.share_group and store.backend \"postgresql\"",
     .field = field_of<&A::ingest_sessions>(), .min = 1, .max = 64, .expected = "expected an integer in [1, 64]"},
    {.key = "publish.enabled", .type = Type::boolean, .default_text = "true",
     .help = "publish figures and alerts on MQTT", .field = field_of<&A::publish_enabled>()},
    {.key = "publish.interval_s", .type = Type::integer, .default_text = "60",
     .help = "how often the current periods of sites with new data are recomputed and republished (retained)",
     .field = field_of<&A::publish_interval_s>(), .min = 1, .max = 86400, .expected = "expected an integer in [1, 86400]"},
    {.key = "residents.min_hours", .type = Type::number, .default_text = "4",
     .help = "a device present this many hours of a local day is a resident that day: kept out of every visitor "
             "figure, counted as residents (docs/metrics.md); 0: no residents. A site's thresholds.resident_min_hours "
             "overrides it",
     .field = field_of<&A::resident_min_hours>(), .min = 0, .max = 24},
    {.key = "tenants", .type = Type::custom, .default_text = "{}",
     .help = "{tenant: {retention_days, sites: {site: {time_zone | utc_offset_min, thresholds}}}}, the keys below", .type_text = "object",
     .read = read_tenants},
    {.key = "serve.address", .type = Type::string, .default_text = "\"127.0.0.1\"",
     .help = "serve: the address the dashboard listens on (0.0.0.0 or :: for every interface)",
     .field = field_of<&A::serve, &S::address>(), .non_empty = true},
    {.key = "serve.port", .type = Type::integer, .default_text = "8080", .help = "serve: TCP port; 0: any free port (printed)",
     .field = field_of<&A::serve, &S::port>(), .min = 0, .max = 65535},
    {.key = "serve.tls.cert_file", .type = Type::string, .default_text = "\"\"",
     .help = "serve: certificate chain (PEM); set with serve.tls.key_file the dashboard speaks HTTPS only",
     .field = field_of<&A::serve, &S::tls_cert_file>(), .type_text = "path"},
    {.key = "serve.tls.key_file", .type = Type::string, .default_text = "\"\"",
     .help = "serve: private key of serve.tls.cert_file", .field = field_of<&A::serve, &S::tls_key_file>(), .type_text = "path"},
    {.key = "serve.max_connections", .type = Type::integer, .default_text = "64",
     .help = "serve: open connections at most (live pages hold one each); a connection beyond it gets 503 and is closed",
     .field = field_of<&A::serve, &S::max_connections>(), .min = 1, .max = 100'000},
    {.key = "serve.max_request_bytes", .type = Type::integer, .default_text = "16384",
     .help = "serve: request head and body at most; a larger request gets 413 and the connection is closed",
     .field = field_of<&A::serve, &S::max_request_bytes>(), .min = 1024, .max = 1'048'576},
    {.key = "serve.request_timeout_s", .type = Type::integer, .default_text = "30",
     .help = "serve: a request not received, or a response not taken, within this is dropped with its connection",
     .field = field_of<&A::serve, &S::request_timeout_s>(), .min = 1, .max = 3600},
    {.key = "serve.session_hours", .type = Type::integer, .default_text = "12",
     .help = "serve: a sign-in lasts this long", .field = field_of<&A::serve, &S::session_hours>(), .min = 1, .max = 720},
    {.key = "serve.max_sessions", .type = Type::integer, .default_text = "1024",
     .help = "serve: signed-in sessions kept at most; when full the one used least recently is closed",
     .field = field_of<&A::serve, &S::max_sessions>(), .min = 1, .max = 1'000'000},
    {.key = "serve.live_interval_s", .type = Type::integer, .default_text = "5",
     .help = "serve: how often an open page gets the current occupancy", .field = field_of<&A::serve, &S::live_interval_s>(),
     .min = 1, .max = 300},
    {.key = "serve.chromium", .type = Type::string, .default_text = "\"/usr/bin/chromium\"",
     .help = "serve: the browser that prints the report as PDF (headless); absent: the PDF download says so",
     .field = field_of<&A::serve, &S::chromium>(), .type_text = "path"},
    {.key = "serve.users", .type = Type::custom, .default_text = "{}",
     .help = "serve: {user: {tenant, password_hash}}; the hash from footfall-aggregator hash-password", .type_text = "object",
     .read = read_users},
    {.key = "log_level", .type = Type::choice, .default_text = "\"info\"",
     .help = "trace, debug, info, warn, error, critical or off", .field = field_of<&A::log_level>(),
     .choices = "trace|debug|info|warn|error|critical|off"},
};

constexpr std::string_view kHelpFooter[] = {
    "  tenants.{tenant}.retention_days | integer 0..36500 | 0 | visits, occupancy, sales and alerts of the tenant "
    "older than this many days are removed (PostgreSQL: whole month partitions dropped); 0: kept forever",
    "  tenants.{tenant}.sites.{site}.time_zone | string | \"\" | tz database name (\"Europe/Paris\", from "
    "/usr/share/zoneinfo): days, hours, weeks (from Monday) and months are local with summer time",
    "  tenants.{tenant}.sites.{site}.utc_offset_min | integer -720..840 | 0 | without time_zone: local time = UTC + "
    "this all year (a fixed offset, no summer time); not together with time_zone",
    "  tenants.{tenant}.sites.{site}.thresholds | object | {} | the site's thresholds (docs/metrics.md); sites not "
    "listed use the defaults",
    "An unknown key, a key written twice or a bad value stops the aggregator with one line naming the key "
    "(exit 2).",
};

const options::Table kTable{.file = "aggregator.json", .rows = kOptions, .help_footer = kHelpFooter};

std::string read_tenants(const json& v, void* reading) {
  AggregatorConfig& c = static_cast<Reading*>(reading)->config;
  const ThresholdCheck& check = *static_cast<Reading*>(reading)->check;
  if (!v.is_object()) return "tenants: expected an object {tenant: {sites: {site: {...}}}}";
  for (const auto& [tenant, body] : v.items()) {
    const std::string at = "tenants." + tenant;
    if (!valid_level(tenant)) return at + ": a tenant is 1..64 of [A-Za-z0-9_.-]";
    if (!body.is_object()) return at + ": expected an object {retention_days, sites: {...}}";
    for (const auto& [k, sites] : body.items()) {
      if (k == "retention_days") {
        if (!sites.is_number_integer() || sites.get<std::int64_t>() < 0 || sites.get<std::int64_t>() > 36500)
          return at + ".retention_days: expected an integer in [0, 36500]";
        c.retention_days[tenant] = sites.get<std::uint32_t>();
        continue;
      }
      if (k != "sites") return at + "." + k + ": unknown key";
      if (!sites.is_object()) return at + ".sites: expected an object {site: {time_zone, thresholds}}";
      for (const auto& [site, s] : sites.items()) {
        const std::string sat = at + ".sites." + site;
        if (!valid_level(site)) return sat + ": a site is 1..64 of [A-Za-z0-9_.-]";
        if (!s.is_object()) return sat + ": expected an object {time_zone | utc_offset_min, thresholds}";
        SiteSettings settings{tenant, site, {}, 0, json::object()};
        if (s.contains("time_zone") && s.contains("utc_offset_min"))
          return sat + ".utc_offset_min: give either time_zone or utc_offset_min, not both";
        for (const auto& [field, value] : s.items()) {
          if (field == "time_zone") {
            if (!value.is_string()) return sat + ".time_zone: expected a tz database name such as \"Europe/Paris\"";
            if (find_time_zone(value.get<std::string>()) == nullptr)
              return sat + ".time_zone: unknown time zone " + value.dump() + " (not in /usr/share/zoneinfo)";
            settings.time_zone = value.get<std::string>();
          } else if (field == "utc_offset_min") {
            if (!value.is_number_integer() || value.get<std::int64_t>() < -720 || value.get<std::int64_t>() > 840)
              return sat + ".utc_offset_min: expected an integer in [-720, 840]";
            settings.utc_offset_min = value.get<int>();
          } else if (field == "thresholds") {
            if (!value.is_object()) return sat + ".thresholds: expected an object";
            settings.thresholds = value;
          } else {
            return sat + "." + field + ": unknown key";
          }
        }
        // The site's local time is given once: beside the thresholds or inside them, never both ways.
        const json& th = settings.thresholds;
        if (!settings.time_zone.empty() && th.contains("utc_offset_min"))
          return sat + ".thresholds.utc_offset_min: the site gives a time_zone; give one of the two";
        if (!settings.time_zone.empty() && th.contains("time_zone") && th["time_zone"] != settings.time_zone)
          return sat + ".thresholds.time_zone: differs from the site's time_zone";
        if (s.contains("utc_offset_min") && th.contains("time_zone"))
          return sat + ".thresholds.time_zone: the site gives a utc_offset_min; give one of the two";
        if (check)
          if (auto e = check(settings.thresholds)) return sat + ".thresholds: " + *e;
        c.sites.push_back(std::move(settings));
      }
    }
  }
  return {};
}

std::string read_users(const json& v, void* reading) {
  ServeSettings& serve = static_cast<Reading*>(reading)->config.serve;
  if (!v.is_object()) return "serve.users: expected an object {user: {tenant, password_hash}}";
  for (const auto& [name, body] : v.items()) {
    const std::string at = "serve.users." + name;
    if (name.empty() || name.size() > 64 || name.find_first_of(" \t\r\n:") != std::string::npos)
      return at + ": a user name is 1..64 characters without spaces or ':'";
    if (!body.is_object()) return at + ": expected an object {tenant, password_hash}";
    DashboardUser user{name, {}, {}};
    for (const auto& [k, value] : body.items()) {
      if (k != "tenant" && k != "password_hash") return at + "." + k + ": unknown key";
      if (!value.is_string()) return at + "." + k + ": expected a string";
      (k == "tenant" ? user.tenant : user.password_hash) = value.get<std::string>();
    }
    if (!valid_level(user.tenant)) return at + ".tenant: required, 1..64 of [A-Za-z0-9_.-]";
    if (!user.password_hash.starts_with("pbkdf2-sha256$"))
      return at + ".password_hash: expected the output of footfall-aggregator hash-password (pbkdf2-sha256$...)";
    serve.users.push_back(std::move(user));
  }
  return {};
}

std::optional<std::string> cross_check(const AggregatorConfig& c) {
  const MqttIngestSettings& m = c.mqtt;
  const bool ssl = m.uri.starts_with("ssl://");
  if (!ssl && (!m.ca_file.empty() || !m.cert_file.empty() || !m.key_file.empty()))
    return "mqtt.tls: needs an ssl:// mqtt.uri";
  if (m.cert_file.empty() != m.key_file.empty()) return "mqtt.tls.key_file: goes together with mqtt.tls.cert_file";
  if (!m.password.empty() && m.username.empty()) return "mqtt.username: required with mqtt.password";
  if (c.serve.tls_cert_file.empty() != c.serve.tls_key_file.empty())
    return "serve.tls.key_file: goes together with serve.tls.cert_file";
  if (c.ingest_sessions > 1 && c.mqtt.share_group.empty())
    return "ingest.sessions: more than 1 needs mqtt.share_group (else every session gets every message)";
  if (c.ingest_sessions > 1 && c.store_backend != "postgresql")
    return "ingest.sessions: more than 1 needs store.backend \"postgresql\" (SQLite has one writer)";
  if (c.store_backend == "postgresql" && c.postgresql.conninfo.empty())
    return "store.postgresql.conninfo: required with store.backend \"postgresql\"";
  return std::nullopt;
}

}  // namespace

const SiteSettings* AggregatorConfig::find_site(std::string_view tenant, std::string_view site) const {
  const auto it = std::find_if(sites.begin(), sites.end(),
                               [&](const SiteSettings& s) { return s.tenant == tenant && s.site == site; });
  return it == sites.end() ? nullptr : &*it;
}

std::string AggregatorConfig::only_tenant() const {
  std::set<std::string> tenants;
  for (const auto& s : sites) tenants.insert(s.tenant);
  return tenants.size() == 1 ? *tenants.begin() : std::string();
}

std::filesystem::path AggregatorConfig::mqtt_persist_dir() const {
  if (!mqtt.persist_dir.empty()) return mqtt.persist_dir;
  return store_path.string() + ".mqtt";
}

std::string AggregatorConfig::store_label() const {
  if (store_backend != "postgresql") return store_path.string();
  // Only the keys that say where: a password given inline never reaches a log.
  std::string label = "postgresql:";
  PQconninfoOption* opts = PQconninfoParse(postgresql.conninfo.c_str(), nullptr);
  if (opts == nullptr) return label + " (unparsed connection string)";
  for (const PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    const std::string_view key = o->keyword;
    if (o->val != nullptr && (key == "host" || key == "hostaddr" || key == "port" || key == "dbname" || key == "user"))
      label += " " + std::string(key) + "=" + o->val;
  }
  PQconninfoFree(opts);
  return label;
}

ConfigResult parse_config(std::string_view json_text, std::string_view file_label, const ThresholdCheck& check) {
  Reading reading{.config = {}, .check = &check};
  if (auto e = options::read(kTable, json_text, file_label, reading); !e.empty()) return e;
  if (auto e = cross_check(reading.config)) return std::string(file_label) + ": " + *e;
  return std::move(reading.config);
}

ConfigResult load_config(const std::filesystem::path& path, const ThresholdCheck& check) {
  const FileText file = read_file(path);
  if (!file.ok()) return path.filename().string() + ": cannot read " + path.string();
  return parse_config(file.text, path.filename().string(), check);
}

std::string options_table() { return options::help_text(kTable); }

}  // namespace footfall::aggregator
