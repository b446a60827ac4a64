#include "gateway/config/gateway_config.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace footfall::gateway {

namespace {

using nlohmann::json;
using Apply = std::function<std::optional<std::string>(const json&, GatewayConfig&)>;

struct Option {
  std::string_view key;
  std::string_view type;
  std::string_view default_value;
  std::string_view help;
  Apply apply;
};

Apply text(std::string GatewayConfig::*field, bool non_empty = false) {
  return [field, non_empty](const json& v, GatewayConfig& c) -> std::optional<std::string> {
    if (!v.is_string() || (non_empty && v.get_ref<const std::string&>().empty()))
      return non_empty ? "expected a non-empty string" : "expected a string";
    c.*field = v.get<std::string>();
    return std::nullopt;
  };
}

Apply tls_text(std::string ServerTls::*field) {
  return [field](const json& v, GatewayConfig& c) -> std::optional<std::string> {
    if (!v.is_string()) return "expected a string (a file path, or \"\")";
    c.tls.*field = v.get<std::string>();
    return std::nullopt;
  };
}

Apply mqtt_text(std::string MqttSettings::*field) {
  return [field](const json& v, GatewayConfig& c) -> std::optional<std::string> {
    if (!v.is_string()) return "expected a string";
    c.mqtt.*field = v.get<std::string>();
    return std::nullopt;
  };
}

Apply path(std::filesystem::path GatewayConfig::*field, bool non_empty) {
  return [field, non_empty](const json& v, GatewayConfig& c) -> std::optional<std::string> {
    if (!v.is_string() || (non_empty && v.get_ref<const std::string&>().empty()))
      return non_empty ? "expected a non-empty path" : "expected a path (or \"\")";
    c.*field = v.get<std::string>();
    return std::nullopt;
  };
}

template <typename T>
Apply integer(T GatewayConfig::*field, std::uint64_t lo, std::uint64_t hi) {
  return [field, lo, hi](const json& v, GatewayConfig& c) -> std::optional<std::string> {
    const bool fits = v.is_number_unsigned() && v.get<std::uint64_t>() >= lo && v.get<std::uint64_t>() <= hi;
    if (!fits) {
      if (lo == 1) return "expected a positive integer (at most " + std::to_string(hi) + ")";
      return "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    }
    c.*field = static_cast<T>(v.get<std::uint64_t>());
    return std::nullopt;
  };
}

const std::vector<Option>& options() {
  static const std::vector<Option> table = {
      {"tenant", "string", "\"\"", "customer the site belongs to (carried to publishing)", text(&GatewayConfig::tenant)},
      {"site", "string", "\"\"", "site name (carried to publishing)", text(&GatewayConfig::site)},
      {"listen.address", "string", "\"127.0.0.1\"", "address to accept probe connections on",
       text(&GatewayConfig::listen_address, true)},
      {"listen.port", "integer 0..65535", "7700", "TCP port; 0 picks a free one (logged)",
       integer(&GatewayConfig::listen_port, 0, 65535)},
      {"listen.tls.cert_file", "path", "\"\"", "PEM certificate chain; TLS is on when set", tls_text(&ServerTls::cert_file)},
      {"listen.tls.key_file", "path", "\"\"", "PEM private key of the certificate", tls_text(&ServerTls::key_file)},
      {"listen.tls.client_ca_file", "path", "\"\"",
       "when set, every probe must present a client certificate signed by this CA",
       tls_text(&ServerTls::client_ca_file)},
      {"listen.tls.client_cert_names_probe", "boolean", "true",
       "with client_ca_file: the client certificate's subject CN must be the probe id (false: any certificate of the CA)",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         if (!v.is_boolean()) return "expected true or false";
         c.tls.client_cert_names_probe = v.get<bool>();
         return std::nullopt;
       }},
      {"probes", "array of {id, token, zone}", "[]",
       "probes allowed to connect: id and token must match their Hello; zone is where the probe hangs", nullptr},
      {"journal.dir", "path", "\"/var/lib/footfall/journal\"",
       "durable store of accepted batches (also health.json)",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         if (!v.is_string() || v.get_ref<const std::string&>().empty()) return "expected a non-empty path";
         c.journal_dir = v.get<std::string>();
         return std::nullopt;
       }},
      {"journal.max_mb", "positive integer", "1024",
       "journal size bound; when full, batches wait in the probes' spools (not acked, nothing dropped)",
       integer(&GatewayConfig::journal_max_mb, 1, 1u << 24)},
      {"journal.fsync", "\"always\" | \"never\"", "\"always\"",
       "always: fdatasync (group commit) before acking; never: ack once written (survives a crash, not power loss)",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         if (v == "always") c.journal_fsync = JournalFsync::always;
         else if (v == "never") c.journal_fsync = JournalFsync::never;
         else return "expected \"always\" or \"never\"";
         return std::nullopt;
       }},
      {"limits.max_connections", "positive integer", "1024", "connections beyond this are closed at once (counted)",
       integer(&GatewayConfig::max_connections, 1, 1u << 20)},
      {"limits.max_frame_bytes", "integer 1024..67108864", "1048576",
       "largest frame body accepted; a larger header closes the connection",
       integer(&GatewayConfig::max_frame_bytes, 1024, 64u << 20)},
      {"limits.max_decompressed_bytes", "integer 1024..1073741824", "16777216",
       "largest decompressed batch body; a zstd frame stating more is refused before decompressing",
       integer(&GatewayConfig::max_decompressed_bytes, 1024, 1u << 30)},
      {"limits.hello_timeout_s", "positive integer", "10", "time from connect (TLS handshake included) to the Hello",
       integer(&GatewayConfig::hello_timeout_s, 1, 86400)},
      {"limits.idle_timeout_s", "positive integer", "60", "a session with no frame for this long is closed",
       integer(&GatewayConfig::idle_timeout_s, 1, 86400)},
      {"clock.tolerance_ms", "integer 0..3600000", "2000",
       "probe clock offsets within this are not corrected (avoids jitter)",
       integer(&GatewayConfig::clock_tolerance_ms, 0, 3'600'000)},
      {"clock.window", "integer 1..1024", "16", "offset = minimum over this many recent Hello/Heartbeat samples",
       integer(&GatewayConfig::clock_window, 1, 1024)},
      {"health.interval_s", "positive integer", "60", "how often probe health is logged and written to health.json",
       integer(&GatewayConfig::health_interval_s, 1, 86400)},
      {"mqtt.uri", "string", "\"\"",
       "broker, tcp://127.0.0.1:1883 or ssl://host:8883; empty: publishing off (receive only, the journal fills)",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         if (!v.is_string()) return "expected a string";
         const auto& uri = v.get_ref<const std::string&>();
         if (!uri.empty() && !uri.starts_with("tcp://") && !uri.starts_with("ssl://"))
           return "expected tcp://host:port or ssl://host:port";
         c.mqtt.uri = uri;
         return std::nullopt;
       }},
      {"mqtt.username", "string", "\"\"", "broker user; empty: anonymous", mqtt_text(&MqttSettings::username)},
      {"mqtt.password", "string", "\"\"", "broker password (needs mqtt.username)", mqtt_text(&MqttSettings::password)},
      {"mqtt.tls.ca_file", "path", "\"\"", "ssl://: CA certificate(s) to trust; empty: the system's trust store",
       mqtt_text(&MqttSettings::ca_file)},
      {"mqtt.tls.cert_file", "path", "\"\"", "ssl://: client certificate (PEM), optional",
       mqtt_text(&MqttSettings::cert_file)},
      {"mqtt.tls.key_file", "path", "\"\"", "ssl://: private key of mqtt.tls.cert_file", mqtt_text(&MqttSettings::key_file)},
      {"mqtt.tls.verify_server", "boolean", "true", "check the broker's certificate chain and host name",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         if (!v.is_boolean()) return "expected true or false";
         c.mqtt.verify_server = v.get<bool>();
         return std::nullopt;
       }},
      {"mqtt.client_id", "string", "\"footfall-gw-{tenant}-{site}\"",
       "MQTT client id (persistent session: unique per gateway)", mqtt_text(&MqttSettings::client_id)},
      {"mqtt.window", "integer 1..1024", "16", "batches sent and not yet acknowledged by the broker",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         if (!v.is_number_unsigned() || v.get<std::uint64_t>() < 1 || v.get<std::uint64_t>() > 1024)
           return "expected an integer in [1, 1024]";
         c.mqtt.window = v.get<std::uint32_t>();
         return std::nullopt;
       }},
      {"publish.interval_ms", "integer 10..3600000", "5000",
       "visits and presence micro-batches are sealed this long after their first item (or when full)",
       integer(&GatewayConfig::publish_interval_ms, 10, 3'600'000)},
      {"publish.max_events", "integer 1..10000", "500", "items per micro-batch at most (and 1 MiB)",
       integer(&GatewayConfig::publish_max_events, 1, 10'000)},
      {"publish.probes_interval_ms", "integer 100..3600000", "30000",
       "how often probe and gateway health (counters, drops by reason) go to .../probes",
       integer(&GatewayConfig::probes_interval_ms, 100, 3'600'000)},
      {"outbox.dir", "path", "\"/var/lib/footfall/outbox\"",
       "durable buffer of sealed batches until the broker's PUBACK", path(&GatewayConfig::outbox_dir, true)},
      {"outbox.max_mb", "integer 8..1048576", "256",
       "outbox bound; when full, the journal stops being consumed and then the probes are not acked",
       integer(&GatewayConfig::outbox_max_mb, 8, 1u << 20)},
      {"privacy.key_dir", "path", "\"/var/lib/footfall/keys\"",
       "epoch keys (epoch-<N>.key, 32 bytes, mode 0600); see docs/privacy.md", path(&GatewayConfig::key_dir, true)},
      {"privacy.rotation", "duration 1h..366d", "\"1d\"",
       "key period: how long a device keeps one pseudonym (docs/privacy.md argues the default)",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         const auto s = v.is_string() ? parse_duration_s(v.get<std::string>()) : std::nullopt;
         if (!s || *s < 3600 || *s > 366 * 86400) return "expected a duration from \"1h\" to \"366d\" (e.g. \"1d\", \"24h\")";
         c.key_rotation_s = *s;
         return std::nullopt;
       }},
      {"privacy.create_keys", "boolean", "false",
       "make a missing epoch key here (a single-site tenant); false: keys are installed by the operator",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         if (!v.is_boolean()) return "expected true or false";
         c.create_keys = v.get<bool>();
         return std::nullopt;
       }},
      {"privacy.opt_out_file", "path", "\"\"",
       "addresses whose events are dropped before the merge (counted); reloaded when the file changes",
       path(&GatewayConfig::opt_out_file, false)},
      {"merge.visit_grace_s", "integer 0..86400", "0",
       "a device heard again this soon after leaving every probe continues its visit",
       integer(&GatewayConfig::visit_grace_s, 0, 86400)},
      {"merge.max_probe_lag_s", "integer 0..604800", "3600",
       "how far a probe that is behind (draining its spool, replaying slower) may hold the site clock back, so "
       "that visits wait for its events; 0: never wait",
       integer(&GatewayConfig::max_probe_lag_s, 0, 604800)},
      {"merge.update_interval_s", "integer 1..86400", "60", "the probes' presence.update_interval_s",
       integer(&GatewayConfig::update_interval_s, 1, 86400)},
      {"merge.max_devices", "positive integer", "1000000",
       "devices present or leaving at once; beyond, the least recently heard visit is cut (counted)",
       integer(&GatewayConfig::merge_max_devices, 1, 1u << 26)},
      {"merge.dedup_window_ms", "integer 1..60000", "1000",
       "a raw frame heard by two probes within this is counted once", integer(&GatewayConfig::dedup_window_ms, 1, 60000)},
      {"merge.strongest_zone_hysteresis_db", "integer 0..60", "3",
       "another zone becomes a visit's strongest only when its loudest probe beats the current one by this",
       integer(&GatewayConfig::strongest_zone_hysteresis_db, 0, 60)},
      {"merge.strongest_zone_hold_intervals", "integer 1..1440", "1",
       "... in this many update intervals in a row (damps noise flips of strongest_zone)",
       integer(&GatewayConfig::strongest_zone_hold_intervals, 1, 1440)},
      {"merge.dedup_capacity", "integer 2..16777216", "65536", "raw frames remembered for that dedup",
       integer(&GatewayConfig::dedup_capacity, 2, 1u << 24)},
      {"log_level", "string", "\"info\"", "trace, debug, info, warn, error, critical or off",
       [](const json& v, GatewayConfig& c) -> std::optional<std::string> {
         static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
         if (!v.is_string() || !levels.contains(v.get<std::string>()))
           return "expected one of trace, debug, info, warn, error, critical, off";
         c.log_level = v.get<std::string>();
         return std::nullopt;
       }},
  };
  return table;
}

// What a reload does with each key of the options table: one rule per key (a test checks none is missing; a key
// without a rule would be neither applied nor reported).
struct ReloadRule {
  std::string_view key;
  OnReload effect;
  std::function<bool(const GatewayConfig&, const GatewayConfig&)> same;
  std::function<void(const GatewayConfig& from, GatewayConfig& to)> take;  // applies: copy the new value
};

template <typename T>
ReloadRule restart(std::string_view key, T GatewayConfig::*field) {
  return {key, OnReload::needs_restart,
          [field](const GatewayConfig& a, const GatewayConfig& b) { return a.*field == b.*field; }, nullptr};
}

template <typename T>
ReloadRule restart_mqtt(std::string_view key, T MqttSettings::*field) {
  return {key, OnReload::needs_restart,
          [field](const GatewayConfig& a, const GatewayConfig& b) { return a.mqtt.*field == b.mqtt.*field; }, nullptr};
}

template <typename T>
ReloadRule applies(std::string_view key, T GatewayConfig::*field) {
  return {key, OnReload::applies,
          [field](const GatewayConfig& a, const GatewayConfig& b) { return a.*field == b.*field; },
          [field](const GatewayConfig& from, GatewayConfig& to) { to.*field = from.*field; }};
}

template <typename T>
ReloadRule applies_tls(std::string_view key, T ServerTls::*field) {
  return {key, OnReload::applies,
          [field](const GatewayConfig& a, const GatewayConfig& b) { return a.tls.*field == b.tls.*field; },
          [field](const GatewayConfig& from, GatewayConfig& to) { to.tls.*field = from.tls.*field; }};
}

const std::vector<ReloadRule>& reload_rules() {
  static const std::vector<ReloadRule> rules = {
      restart("tenant", &GatewayConfig::tenant),
      restart("site", &GatewayConfig::site),
      restart("listen.address", &GatewayConfig::listen_address),
      restart("listen.port", &GatewayConfig::listen_port),
      // New connections get the new TLS context; sessions up keep theirs.
      applies_tls("listen.tls.cert_file", &ServerTls::cert_file),
      applies_tls("listen.tls.key_file", &ServerTls::key_file),
      applies_tls("listen.tls.client_ca_file", &ServerTls::client_ca_file),
      applies_tls("listen.tls.client_cert_names_probe", &ServerTls::client_cert_names_probe),  // from the next Hello
      applies("probes", &GatewayConfig::probes),
      restart("journal.dir", &GatewayConfig::journal_dir),
      restart("journal.max_mb", &GatewayConfig::journal_max_mb),
      restart("journal.fsync", &GatewayConfig::journal_fsync),
      applies("limits.max_connections", &GatewayConfig::max_connections),
      restart("limits.max_frame_bytes", &GatewayConfig::max_frame_bytes),  // the journal's record bound too
      applies("limits.max_decompressed_bytes", &GatewayConfig::max_decompressed_bytes),  // new sessions
      applies("limits.hello_timeout_s", &GatewayConfig::hello_timeout_s),                // new connections
      applies("limits.idle_timeout_s", &GatewayConfig::idle_timeout_s),                  // from the next frame on
      restart("clock.tolerance_ms", &GatewayConfig::clock_tolerance_ms),
      restart("clock.window", &GatewayConfig::clock_window),
      applies("health.interval_s", &GatewayConfig::health_interval_s),  // from the next health write on
      restart_mqtt("mqtt.uri", &MqttSettings::uri),
      restart_mqtt("mqtt.username", &MqttSettings::username),
      restart_mqtt("mqtt.password", &MqttSettings::password),
      restart_mqtt("mqtt.tls.ca_file", &MqttSettings::ca_file),
      restart_mqtt("mqtt.tls.cert_file", &MqttSettings::cert_file),
      restart_mqtt("mqtt.tls.key_file", &MqttSettings::key_file),
      restart_mqtt("mqtt.tls.verify_server", &MqttSettings::verify_server),
      restart_mqtt("mqtt.client_id", &MqttSettings::client_id),
      restart_mqtt("mqtt.window", &MqttSettings::window),
      restart("publish.interval_ms", &GatewayConfig::publish_interval_ms),
      restart("publish.max_events", &GatewayConfig::publish_max_events),
      restart("publish.probes_interval_ms", &GatewayConfig::probes_interval_ms),
      restart("outbox.dir", &GatewayConfig::outbox_dir),
      restart("outbox.max_mb", &GatewayConfig::outbox_max_mb),
      restart("privacy.key_dir", &GatewayConfig::key_dir),
      restart("privacy.rotation", &GatewayConfig::key_rotation_s),
      restart("privacy.create_keys", &GatewayConfig::create_keys),
      restart("privacy.opt_out_file", &GatewayConfig::opt_out_file),  // its content is reloaded when it changes
      restart("merge.visit_grace_s", &GatewayConfig::visit_grace_s),
      restart("merge.max_probe_lag_s", &GatewayConfig::max_probe_lag_s),
      restart("merge.update_interval_s", &GatewayConfig::update_interval_s),
      restart("merge.max_devices", &GatewayConfig::merge_max_devices),
      restart("merge.dedup_window_ms", &GatewayConfig::dedup_window_ms),
      restart("merge.strongest_zone_hysteresis_db", &GatewayConfig::strongest_zone_hysteresis_db),
      restart("merge.strongest_zone_hold_intervals", &GatewayConfig::strongest_zone_hold_intervals),
      restart("merge.dedup_capacity", &GatewayConfig::dedup_capacity),
      applies("log_level", &GatewayConfig::log_level),
  };
  return rules;
}

std::optional<std::string> parse_probes(const json& v, GatewayConfig& c) {
  if (!v.is_array()) return "probes: expected an array of {id, token, zone}";
  std::set<std::string> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string at = "probes[" + std::to_string(i) + "]";
    const json& p = v[i];
    if (!p.is_object()) return at + ": expected an object {id, token, zone}";
    ProbeAccount account;
    for (const auto& [k, item] : p.items()) {
      std::string* field = k == "id" ? &account.id : k == "token" ? &account.token : k == "zone" ? &account.zone : nullptr;
      if (field == nullptr) return at + "." + k + ": unknown key";
      if (!item.is_string()) return at + "." + k + ": expected a string";
      *field = item.get<std::string>();
    }
    if (account.id.empty() || account.id.size() > 64) return at + ".id: expected a string of 1..64 bytes";
    if (account.token.empty() || account.token.size() > 512) return at + ".token: expected a string of 1..512 bytes";
    if (!seen.insert(account.id).second) return at + ".id: duplicate probe id \"" + account.id + "\"";
    c.probes.push_back(std::move(account));
  }
  return std::nullopt;
}

std::optional<std::string> walk(const json& obj, const std::string& prefix, GatewayConfig& c) {
  for (const auto& [k, v] : obj.items()) {
    const std::string key = prefix.empty() ? k : prefix + "." + k;
    if (key == "probes") {
      if (auto e = parse_probes(v, c)) return e;
      continue;
    }
    const auto& table = options();
    const auto exact = std::find_if(table.begin(), table.end(), [&](const Option& o) { return o.key == key; });
    if (exact != table.end()) {
      if (auto e = exact->apply(v, c)) return key + ": " + *e;
      continue;
    }
    const bool section = std::any_of(table.begin(), table.end(),
                                     [&](const Option& o) { return o.key.starts_with(key + "."); });
    if (!section) return key + ": unknown key";
    if (!v.is_object()) return key + ": expected an object";
    if (auto e = walk(v, key, c)) return e;
  }
  return std::nullopt;
}

std::optional<std::string> cross_check(const GatewayConfig& c) {
  if (c.tls.enabled() && c.tls.key_file.empty()) return "listen.tls.key_file: required when listen.tls.cert_file is set";
  if (!c.tls.enabled() && !c.tls.key_file.empty()) return "listen.tls.cert_file: required when listen.tls.key_file is set";
  if (!c.tls.enabled() && !c.tls.client_ca_file.empty())
    return "listen.tls.client_ca_file: needs listen.tls.cert_file (client certificates need TLS)";
  const MqttSettings& m = c.mqtt;
  const bool mqtt_keys = !m.username.empty() || !m.password.empty() || !m.ca_file.empty() || !m.cert_file.empty() ||
                         !m.key_file.empty() || !m.client_id.empty();
  if (!m.enabled() && mqtt_keys) return "mqtt.uri: required when other mqtt keys are set";
  if (m.enabled()) {
    auto topic_level = [](const std::string& s) {
      return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
               ch == '-' || ch == '.';
      });
    };
    if (!topic_level(c.tenant)) return "tenant: 1..64 of [A-Za-z0-9_.-] when publishing (it is a topic level)";
    if (!topic_level(c.site)) return "site: 1..64 of [A-Za-z0-9_.-] when publishing (it is a topic level)";
    const bool ssl = m.uri.starts_with("ssl://");
    if (!ssl && (!m.ca_file.empty() || !m.cert_file.empty() || !m.key_file.empty()))
      return "mqtt.tls: needs an ssl:// mqtt.uri";
    if (m.cert_file.empty() != m.key_file.empty()) return "mqtt.tls.key_file: goes together with mqtt.tls.cert_file";
    if (!m.password.empty() && m.username.empty()) return "mqtt.username: required with mqtt.password";
    if (!m.client_id.empty() && (m.client_id.size() > 256 || m.client_id.find_first_of("#+/") != std::string::npos))
      return "mqtt.client_id: 1..256 characters without #, + or /";
  }
  if (c.publish_max_events == 0) return "publish.max_events: must be positive";
  // The journal must hold a few of the largest records, or one big batch could never be stored.
  const std::uint64_t largest_record = c.max_frame_bytes + kJournalRecordOverhead;
  if (c.journal_max_mb * (1ull << 20) < 4 * largest_record)
    return "journal.max_mb: must hold at least 4 frames of limits.max_frame_bytes (" +
           std::to_string((4 * largest_record + (1u << 20) - 1) >> 20) + " MB)";
  return std::nullopt;
}

}  // namespace

const ProbeAccount* GatewayConfig::find_probe(std::string_view id) const {
  const auto it = std::find_if(probes.begin(), probes.end(), [&](const ProbeAccount& p) { return p.id == id; });
  return it == probes.end() ? nullptr : &*it;
}

ConfigResult parse_config(std::string_view json_text, std::string_view file_label) {
  const std::string label(file_label);
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return label + ": not valid JSON (byte " + std::to_string(e.byte) + ")";
  }
  if (!root.is_object()) return label + ": expected a JSON object at the top level";
  GatewayConfig config;
  if (auto e = walk(root, "", config)) return label + ": " + *e;
  if (auto e = cross_check(config)) return label + ": " + *e;
  return config;
}

ConfigResult load_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return path.filename().string() + ": cannot read " + path.string();
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path.filename().string());
}

std::optional<std::int64_t> parse_duration_s(std::string_view text) {
  std::int64_t value = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (value > 1'000'000'000) return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  const std::string_view unit = text.substr(i);
  if (unit.empty() || unit == "s") return value;
  if (unit == "m") return value * 60;
  if (unit == "h") return value * 3600;
  if (unit == "d") return value * 86400;
  return std::nullopt;
}

std::string options_table() {
  std::ostringstream out;
  out << "gateway.json options (key | type | default | meaning):\n";
  for (const Option& o : options())
    out << "  " << o.key << " | " << o.type << " | " << o.default_value << " | " << o.help
        << (on_reload(o.key) == OnReload::applies ? " [reload]" : "") << "\n";
  out << "An unknown key or a bad value stops the gateway with one line naming the key (exit 2).\n";
  out << "[reload]: a running gateway takes the new value on SIGHUP (systemctl reload footfall-gateway); any other\n"
         "key changed in the file is logged as needing a restart and keeps its running value until then.\n";
  return out.str();
}

std::optional<OnReload> on_reload(std::string_view key) {
  const auto& rules = reload_rules();
  const auto it = std::find_if(rules.begin(), rules.end(), [&](const ReloadRule& r) { return r.key == key; });
  if (it == rules.end()) return std::nullopt;
  return it->effect;
}

std::vector<ConfigChange> config_changes(const GatewayConfig& running, const GatewayConfig& next) {
  std::vector<ConfigChange> changes;
  for (const ReloadRule& r : reload_rules())
    if (!r.same(running, next)) changes.push_back({std::string(r.key), r.effect});
  return changes;
}

GatewayConfig reloaded_config(const GatewayConfig& running, const GatewayConfig& next) {
  GatewayConfig out = running;
  for (const ReloadRule& r : reload_rules())
    if (r.effect == OnReload::applies) r.take(next, out);
  return out;
}

}  // namespace footfall::gateway
