#include "aggregator/config/aggregator_config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "aggregator/ingest/payload_parser.h"

namespace footfall::aggregator {
namespace {

using nlohmann::json;
using Apply = std::function<std::optional<std::string>(const json&, AggregatorConfig&)>;

struct Option {
  std::string_view key;
  std::string_view type;
  std::string_view default_value;
  std::string_view help;
  Apply apply;
};

Apply mqtt_text(std::string MqttIngestSettings::*field) {
  return [field](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
    if (!v.is_string()) return "expected a string";
    c.mqtt.*field = v.get<std::string>();
    return std::nullopt;
  };
}

template <class T, class Owner>
Apply integer(T Owner::*field, Owner AggregatorConfig::*owner, std::uint64_t lo, std::uint64_t hi) {
  return [=](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < lo || v.get<std::uint64_t>() > hi)
      return "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    (c.*owner).*field = static_cast<T>(v.get<std::uint64_t>());
    return std::nullopt;
  };
}

template <class T>
Apply integer(T AggregatorConfig::*field, std::uint64_t lo, std::uint64_t hi) {
  return [=](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < lo || v.get<std::uint64_t>() > hi)
      return "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    c.*field = static_cast<T>(v.get<std::uint64_t>());
    return std::nullopt;
  };
}

const std::vector<Option>& options() {
  static const std::vector<Option> table = {
      {"mqtt.uri", "string", "\"\"", "broker: tcp://host:1883 or ssl://host:8883 (needed by run)",
       [](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
         if (!v.is_string()) return "expected a string";
         const auto& uri = v.get_ref<const std::string&>();
         if (!uri.empty() && !uri.starts_with("tcp://") && !uri.starts_with("ssl://"))
           return "expected tcp://host:port or ssl://host:port";
         c.mqtt.uri = uri;
         return std::nullopt;
       }},
      {"mqtt.username", "string", "\"\"", "broker user; empty: anonymous", mqtt_text(&MqttIngestSettings::username)},
      {"mqtt.password", "string", "\"\"", "broker password (needs mqtt.username)",
       mqtt_text(&MqttIngestSettings::password)},
      {"mqtt.tls.ca_file", "path", "\"\"", "ssl://: CA certificate(s) to trust; empty: the system's trust store",
       mqtt_text(&MqttIngestSettings::ca_file)},
      {"mqtt.tls.cert_file", "path", "\"\"", "ssl://: client certificate (PEM), optional",
       mqtt_text(&MqttIngestSettings::cert_file)},
      {"mqtt.tls.key_file", "path", "\"\"", "ssl://: private key of mqtt.tls.cert_file",
       mqtt_text(&MqttIngestSettings::key_file)},
      {"mqtt.tls.verify_server", "boolean", "true", "check the broker's certificate chain and host name",
       [](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
         if (!v.is_boolean()) return "expected true or false";
         c.mqtt.verify_server = v.get<bool>();
         return std::nullopt;
       }},
      {"mqtt.client_id", "string", "\"footfall-aggregator\"",
       "MQTT client id of the persistent session (the broker queues for it while it is away): unique per instance",
       [](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
         if (!v.is_string() || v.get_ref<const std::string&>().empty() || v.get_ref<const std::string&>().size() > 256 ||
             v.get_ref<const std::string&>().find_first_of("#+/") != std::string::npos)
           return "expected 1..256 characters without #, + or /";
         c.mqtt.client_id = v.get<std::string>();
         return std::nullopt;
       }},
      {"mqtt.share_group", "string", "\"\"",
       "non-empty: subscribe as $share/{group}/footfall/... so the aggregators of one group split the feed",
       [](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
         if (!v.is_string()) return "expected a string";
         const auto& g = v.get_ref<const std::string&>();
         if (!g.empty() && !valid_level(g)) return "expected 1..64 of [A-Za-z0-9_.-]";
         c.mqtt.share_group = g;
         return std::nullopt;
       }},
      {"mqtt.persist_dir", "path", "\"{store.path}.mqtt\"",
       "where the MQTT client keeps received messages until they are stored",
       [](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
         if (!v.is_string()) return "expected a path";
         c.mqtt.persist_dir = v.get<std::string>();
         return std::nullopt;
       }},
      {"mqtt.keep_alive_s", "integer 5..3600", "30", "MQTT keep-alive",
       integer(&MqttIngestSettings::keep_alive_s, &AggregatorConfig::mqtt, 5, 3600)},
      {"mqtt.max_buffered_publishes", "integer 16..1000000", "1024",
       "figures and alerts kept while the broker is away; when full the oldest is dropped",
       integer(&MqttIngestSettings::max_buffered_publishes, &AggregatorConfig::mqtt, 16, 1'000'000)},
      {"store.path", "path", "\"/var/lib/footfall/aggregator.db\"", "SQLite database (WAL; -wal and -shm beside it)",
       [](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
         if (!v.is_string() || v.get_ref<const std::string&>().empty()) return "expected a non-empty path";
         c.store_path = v.get<std::string>();
         return std::nullopt;
       }},
      {"ingest.queue_capacity", "integer 1..100000", "64",
       "parsed batches waiting for the store writer; when full the MQTT client waits (back-pressure)",
       integer(&AggregatorConfig::queue_capacity, 1, 100'000)},
      {"publish.enabled", "boolean", "true", "publish figures and alerts on MQTT",
       [](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
         if (!v.is_boolean()) return "expected true or false";
         c.publish_enabled = v.get<bool>();
         return std::nullopt;
       }},
      {"publish.interval_s", "integer 1..86400", "60",
       "how often the current periods of sites with new data are recomputed and republished (retained)",
       integer(&AggregatorConfig::publish_interval_s, 1, 86400)},
      {"log_level", "string", "\"info\"", "trace, debug, info, warn, error, critical or off",
       [](const json& v, AggregatorConfig& c) -> std::optional<std::string> {
         static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
         if (!v.is_string() || !levels.contains(v.get<std::string>()))
           return "expected one of trace, debug, info, warn, error, critical, off";
         c.log_level = v.get<std::string>();
         return std::nullopt;
       }},
  };
  return table;
}

std::optional<std::string> parse_tenants(const json& v, AggregatorConfig& c, const ThresholdCheck& check) {
  if (!v.is_object()) return "tenants: expected an object {tenant: {sites: {site: {...}}}}";
  for (const auto& [tenant, body] : v.items()) {
    const std::string at = "tenants." + tenant;
    if (!valid_level(tenant)) return at + ": a tenant is 1..64 of [A-Za-z0-9_.-]";
    if (!body.is_object()) return at + ": expected an object {sites: {...}}";
    for (const auto& [k, sites] : body.items()) {
      if (k != "sites") return at + "." + k + ": unknown key";
      if (!sites.is_object()) return at + ".sites: expected an object {site: {utc_offset_min, thresholds}}";
      for (const auto& [site, s] : sites.items()) {
        const std::string sat = at + ".sites." + site;
        if (!valid_level(site)) return sat + ": a site is 1..64 of [A-Za-z0-9_.-]";
        if (!s.is_object()) return sat + ": expected an object {utc_offset_min, thresholds}";
        SiteSettings settings{tenant, site, 0, json::object()};
        for (const auto& [field, value] : s.items()) {
          if (field == "utc_offset_min") {
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
        if (check)
          if (auto e = check(settings.thresholds)) return sat + ".thresholds: " + *e;
        c.sites.push_back(std::move(settings));
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> walk(const json& obj, const std::string& prefix, AggregatorConfig& c,
                                const ThresholdCheck& check) {
  for (const auto& [k, v] : obj.items()) {
    const std::string key = prefix.empty() ? k : prefix + "." + k;
    if (key == "tenants") {
      if (auto e = parse_tenants(v, c, check)) return e;
      continue;
    }
    const auto& table = options();
    const auto exact = std::find_if(table.begin(), table.end(), [&](const Option& o) { return o.key == key; });
    if (exact != table.end()) {
      if (auto e = exact->apply(v, c)) return key + ": " + *e;
      continue;
    }
    const bool section =
        std::any_of(table.begin(), table.end(), [&](const Option& o) { return o.key.starts_with(key + "."); });
    if (!section) return key + ": unknown key";
    if (!v.is_object()) return key + ": expected an object";
    if (auto e = walk(v, key, c, check)) return e;
  }
  return std::nullopt;
}

std::optional<std::string> cross_check(const AggregatorConfig& c) {
  const MqttIngestSettings& m = c.mqtt;
  const bool ssl = m.uri.starts_with("ssl://");
  if (!ssl && (!m.ca_file.empty() || !m.cert_file.empty() || !m.key_file.empty()))
    return "mqtt.tls: needs an ssl:// mqtt.uri";
  if (m.cert_file.empty() != m.key_file.empty()) return "mqtt.tls.key_file: goes together with mqtt.tls.cert_file";
  if (!m.password.empty() && m.username.empty()) return "mqtt.username: required with mqtt.password";
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

ConfigResult parse_config(std::string_view json_text, std::string_view file_label, const ThresholdCheck& check) {
  const std::string label(file_label);
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return label + ": not valid JSON (byte " + std::to_string(e.byte) + ")";
  }
  if (!root.is_object()) return label + ": expected a JSON object at the top level";
  AggregatorConfig config;
  if (auto e = walk(root, "", config, check)) return label + ": " + *e;
  if (auto e = cross_check(config)) return label + ": " + *e;
  return config;
}

ConfigResult load_config(const std::filesystem::path& path, const ThresholdCheck& check) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return path.filename().string() + ": cannot read " + path.string();
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path.filename().string(), check);
}

std::string options_table() {
  std::ostringstream out;
  out << "aggregator.json options (key | type | default | meaning):\n";
  for (const Option& o : options())
    out << "  " << o.key << " | " << o.type << " | " << o.default_value << " | " << o.help << "\n";
  out << "  tenants.{tenant}.sites.{site}.utc_offset_min | integer -720..840 | 0 | local time = UTC + this; days, "
         "weeks (from Monday) and months start at local midnight\n";
  out << "  tenants.{tenant}.sites.{site}.thresholds | object | {} | the site's thresholds (docs/metrics.md); "
         "sites not listed use the defaults\n";
  out << "An unknown key or a bad value stops the aggregator with one line naming the key (exit 2).\n";
  return out.str();
}

}  // namespace footfall::aggregator
