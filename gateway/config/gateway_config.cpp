#include "gateway/config/gateway_config.h"

#include <algorithm>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/file_text.h"

namespace footfall::gateway {

namespace {

using nlohmann::json;
using options::field;
using options::Option;
using options::Type;
using G = GatewayConfig;
constexpr auto kApplies = options::OnReload::applies;

std::string read_probes(const json& v, void* config);
}  // namespace

std::string placeholder_token_problem(const GatewayConfig& config) {
  for (std::size_t i = 0; i < config.probes.size(); ++i) {
    if (config.probes[i].token.starts_with(kPlaceholderTokenPrefix))
      return "probes[" + std::to_string(i) + "].token: still the example's placeholder \"" + config.probes[i].token +
             "\": give each probe its own (footfall-gateway provision --rotate-token, docs/provisioning.md)";
  }
  return {};
}

namespace {

std::string read_rotation(const json& v, void* config);

std::string_view check_mqtt_uri(const std::string& uri) {
  if (!uri.empty() && !uri.starts_with("tcp://") && !uri.starts_with("ssl://"))
    return "expected tcp://host:port or ssl://host:port";
  return {};
}

// The one table. The reload column says what SIGHUP does with a changed key; the rest needs a restart.
const Option kOptions[] = {
    {.key = "tenant", .type = Type::string, .default_text = "\"\"",
     .help = "customer the site belongs to (carried to publishing)", .field = field<&G::tenant>()},
    {.key = "site", .type = Type::string, .default_text = "\"\"", .help = "site name (carried to publishing)",
     .field = field<&G::site>()},
    {.key = "listen.address", .type = Type::string, .default_text = "\"127.0.0.1\"",
     .help = "address to accept probe connections on", .field = field<&G::listen_address>(), .non_empty = true},
    {.key = "listen.port", .type = Type::integer, .default_text = "7700",
     .help = "TCP port; 0 picks a free one (logged)", .field = field<&G::listen_port>(), .min = 0, .max = 65535},
    // New connections get the new TLS context; sessions up keep theirs.
    {.key = "listen.tls.cert_file", .type = Type::path, .default_text = "\"\"",
     .help = "PEM certificate chain; TLS is on when set", .field = field<&G::tls, &ServerTls::cert_file>(),
     .reload = kApplies, .expected = "expected a string (a file path, or \"\")"},
    {.key = "listen.tls.key_file", .type = Type::path, .default_text = "\"\"",
     .help = "PEM private key of the certificate", .field = field<&G::tls, &ServerTls::key_file>(),
     .reload = kApplies, .expected = "expected a string (a file path, or \"\")"},
    {.key = "listen.tls.client_ca_file", .type = Type::path, .default_text = "\"\"",
     .help = "when set, every probe must present a client certificate signed by this CA",
     .field = field<&G::tls, &ServerTls::client_ca_file>(), .reload = kApplies,
     .expected = "expected a string (a file path, or \"\")"},
    {.key = "listen.tls.client_cert_names_probe", .type = Type::boolean, .default_text = "true",
     .help = "with client_ca_file: the client certificate's subject CN must be the probe id (false: any "
             "certificate of the CA)",
     .field = field<&G::tls, &ServerTls::client_cert_names_probe>(), .reload = kApplies},  // from the next Hello
    {.key = "probes", .type = Type::custom, .default_text = "[]",
     .help = "probes allowed to connect: id and token must match their Hello; zone is where the probe hangs",
     .field = field<&G::probes>(), .reload = kApplies, .type_text = "array of {id, token, zone}",
     .read = read_probes},
    {.key = "journal.dir", .type = Type::path, .default_text = "\"/var/lib/footfall/journal\"",
     .help = "durable store of accepted batches (also health.json)", .field = field<&G::journal_dir>(),
     .non_empty = true},
    {.key = "journal.max_mb", .type = Type::integer, .default_text = "1024",
     .help = "journal size bound; when full, batches wait in the probes' spools (not acked, nothing dropped)",
     .field = field<&G::journal_max_mb>(), .min = 1, .max = 1 << 24},
    {.key = "journal.fsync", .type = Type::choice, .default_text = "\"always\"",
     .help = "always: fdatasync (group commit) before acking; never: ack once written (survives a crash, not "
             "power loss)",
     .field = field<&G::journal_fsync>(), .choices = "always|never", .expected = "expected \"always\" or \"never\""},
    {.key = "limits.max_connections", .type = Type::integer, .default_text = "1024",
     .help = "connections beyond this are closed at once (counted)", .field = field<&G::max_connections>(),
     .min = 1, .max = 1 << 20, .reload = kApplies},
    // The journal's record bound too.
    {.key = "limits.max_frame_bytes", .type = Type::integer, .default_text = "1048576",
     .help = "largest frame body accepted; a larger header closes the connection",
     .field = field<&G::max_frame_bytes>(), .min = 1024, .max = 64 << 20},
    {.key = "limits.max_decompressed_bytes", .type = Type::integer, .default_text = "16777216",
     .help = "largest decompressed batch body; a zstd frame stating more is refused before decompressing",
     .field = field<&G::max_decompressed_bytes>(), .min = 1024, .max = 1 << 30, .reload = kApplies},  // new sessions
    {.key = "limits.hello_timeout_s", .type = Type::integer, .default_text = "10",
     .help = "time from connect (TLS handshake included) to the Hello", .field = field<&G::hello_timeout_s>(),
     .min = 1, .max = 86400, .reload = kApplies},  // new connections
    {.key = "limits.idle_timeout_s", .type = Type::integer, .default_text = "60",
     .help = "a session with no frame for this long is closed", .field = field<&G::idle_timeout_s>(), .min = 1,
     .max = 86400, .reload = kApplies},  // from the next frame on
    {.key = "clock.tolerance_ms", .type = Type::integer, .default_text = "2000",
     .help = "probe clock offsets within this are not corrected (avoids jitter)",
     .field = field<&G::clock_tolerance_ms>(), .min = 0, .max = 3'600'000},
    {.key = "clock.window", .type = Type::integer, .default_text = "16",
     .help = "offset = minimum over this many recent Hello/Heartbeat samples", .field = field<&G::clock_window>(),
     .min = 1, .max = 1024},
    {.key = "health.interval_s", .type = Type::integer, .default_text = "60",
     .help = "how often probe health is logged and written to health.json", .field = field<&G::health_interval_s>(),
     .min = 1, .max = 86400, .reload = kApplies},  // from the next health write on
    {.key = "mqtt.uri", .type = Type::string, .default_text = "\"\"",
     .help = "broker, tcp://127.0.0.1:1883 or ssl://host:8883; empty: publishing off (receive only, the journal "
             "fills)",
     .field = field<&G::mqtt, &MqttSettings::uri>(), .check = check_mqtt_uri},
    {.key = "mqtt.username", .type = Type::string, .default_text = "\"\"", .help = "broker user; empty: anonymous",
     .field = field<&G::mqtt, &MqttSettings::username>()},
    {.key = "mqtt.password", .type = Type::string, .default_text = "\"\"",
     .help = "broker password (needs mqtt.username)", .field = field<&G::mqtt, &MqttSettings::password>()},
    {.key = "mqtt.tls.ca_file", .type = Type::string, .default_text = "\"\"",
     .help = "ssl://: CA certificate(s) to trust; empty: the system's trust store",
     .field = field<&G::mqtt, &MqttSettings::ca_file>(), .type_text = "path"},
    {.key = "mqtt.tls.cert_file", .type = Type::string, .default_text = "\"\"",
     .help = "ssl://: client certificate (PEM), optional", .field = field<&G::mqtt, &MqttSettings::cert_file>(),
     .type_text = "path"},
    {.key = "mqtt.tls.key_file", .type = Type::string, .default_text = "\"\"",
     .help = "ssl://: private key of mqtt.tls.cert_file", .field = field<&G::mqtt, &MqttSettings::key_file>(),
     .type_text = "path"},
    {.key = "mqtt.tls.verify_server", .type = Type::boolean, .default_text = "true",
     .help = "check the broker's certificate chain and host name",
     .field = field<&G::mqtt, &MqttSettings::verify_server>()},
    {.key = "mqtt.client_id", .type = Type::string, .default_text = "\"footfall-gw-{tenant}-{site}\"",
     .help = "MQTT client id (persistent session: unique per gateway)",
     .field = field<&G::mqtt, &MqttSettings::client_id>()},
    {.key = "mqtt.window", .type = Type::integer, .default_text = "16",
     .help = "batches sent and not yet acknowledged by the broker", .field = field<&G::mqtt, &MqttSettings::window>(),
     .min = 1, .max = 1024, .expected = "expected an integer in [1, 1024]"},
    {.key = "publish.interval_ms", .type = Type::integer, .default_text = "5000",
     .help = "visits and presence micro-batches are sealed this long after their first item (or when full)",
     .field = field<&G::publish_interval_ms>(), .min = 10, .max = 3'600'000},
    {.key = "publish.max_events", .type = Type::integer, .default_text = "500",
     .help = "items per micro-batch at most (and 1 MiB)", .field = field<&G::publish_max_events>(), .min = 1,
     .max = 10'000},
    {.key = "publish.probes_interval_ms", .type = Type::integer, .default_text = "30000",
     .help = "how often probe and gateway health (counters, drops by reason) go to .../probes",
     .field = field<&G::probes_interval_ms>(), .min = 100, .max = 3'600'000},
    {.key = "outbox.dir", .type = Type::path, .default_text = "\"/var/lib/footfall/outbox\"",
     .help = "durable buffer of sealed batches until the broker's PUBACK", .field = field<&G::outbox_dir>(),
     .non_empty = true},
    {.key = "outbox.max_mb", .type = Type::integer, .default_text = "256",
     .help = "outbox bound; when full, the journal stops being consumed and then the probes are not acked",
     .field = field<&G::outbox_max_mb>(), .min = 8, .max = 1 << 20},
    {.key = "privacy.key_dir", .type = Type::path, .default_text = "\"/var/lib/footfall/keys\"",
     .help = "epoch keys (epoch-<N>.key, 32 bytes, mode 0600); see docs/privacy.md", .field = field<&G::key_dir>(),
     .non_empty = true},
    {.key = "privacy.rotation", .type = Type::custom, .default_text = "\"1d\"",
     .help = "key period: how long a device keeps one pseudonym (docs/privacy.md argues the default)",
     .field = field<&G::key_rotation_s>(), .type_text = "duration 1h..366d", .read = read_rotation},
    {.key = "privacy.create_keys", .type = Type::boolean, .default_text = "false",
     .help = "make a missing epoch key here (a single-site tenant); false: keys are installed by the operator",
     .field = field<&G::create_keys>()},
    // Its content is reloaded when it changes.
    {.key = "privacy.opt_out_file", .type = Type::path, .default_text = "\"\"",
     .help = "addresses whose events are dropped before the merge (counted); reloaded when the file changes",
     .field = field<&G::opt_out_file>()},
    {.key = "merge.visit_grace_s", .type = Type::integer, .default_text = "0",
     .help = "a device heard again this soon after leaving every probe continues its visit",
     .field = field<&G::visit_grace_s>(), .min = 0, .max = 86400},
    {.key = "merge.max_probe_lag_s", .type = Type::integer, .default_text = "3600",
     .help = "how far a probe that is behind (draining its spool, replaying slower) may hold the site clock back, "
             "so that visits wait for its events; 0: never wait",
     .field = field<&G::max_probe_lag_s>(), .min = 0, .max = 604800},
    {.key = "merge.update_interval_s", .type = Type::integer, .default_text = "60",
     .help = "the probes' presence.update_interval_s", .field = field<&G::update_interval_s>(), .min = 1,
     .max = 86400},
    {.key = "merge.max_devices", .type = Type::integer, .default_text = "1000000",
     .help = "devices present or leaving at once; beyond, the least recently heard visit is cut (counted)",
     .field = field<&G::merge_max_devices>(), .min = 1, .max = 1 << 26},
    {.key = "merge.dedup_window_ms", .type = Type::integer, .default_text = "1000",
     .help = "a raw frame heard by two probes within this is counted once", .field = field<&G::dedup_window_ms>(),
     .min = 1, .max = 60000},
    {.key = "merge.strongest_zone_hysteresis_db", .type = Type::integer, .default_text = "3",
     .help = "another zone becomes a visit's strongest only when its loudest probe beats the current one by this",
     .field = field<&G::strongest_zone_hysteresis_db>(), .min = 0, .max = 60},
    {.key = "merge.strongest_zone_hold_intervals", .type = Type::integer, .default_text = "1",
     .help = "... in this many update intervals in a row (damps noise flips of strongest_zone)",
     .field = field<&G::strongest_zone_hold_intervals>(), .min = 1, .max = 1440},
    {.key = "merge.dedup_capacity", .type = Type::integer, .default_text = "65536",
     .help = "raw frames remembered for that dedup", .field = field<&G::dedup_capacity>(), .min = 2, .max = 1 << 24},
    {.key = "log_level", .type = Type::choice, .default_text = "\"info\"",
     .help = "trace, debug, info, warn, error, critical or off", .field = field<&G::log_level>(),
     .choices = "trace|debug|info|warn|error|critical|off", .reload = kApplies},
};

constexpr std::string_view kHelpFooter[] = {
    "An unknown key, a key written twice or a bad value stops the gateway with one line naming the key (exit 2).",
    "[reload]: a running gateway takes the new value on SIGHUP (systemctl reload footfall-gateway); any other",
    "key changed in the file is logged as needing a restart and keeps its running value until then.",
};

const options::Table kTable{.file = "gateway.json", .rows = kOptions, .help_footer = kHelpFooter};

std::string read_probes(const json& v, void* config) {
  auto& c = *static_cast<GatewayConfig*>(config);
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
  return {};
}

std::string read_rotation(const json& v, void* config) {
  const auto s = v.is_string() ? parse_duration_s(v.get<std::string>()) : std::nullopt;
  if (!s || *s < 3600 || *s > 366 * 86400)
    return "privacy.rotation: expected a duration from \"1h\" to \"366d\" (e.g. \"1d\", \"24h\")";
  static_cast<GatewayConfig*>(config)->key_rotation_s = *s;
  return {};
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
  GatewayConfig config;
  if (auto e = options::read(kTable, json_text, file_label, config); !e.empty()) return e;
  if (auto e = cross_check(config)) return std::string(file_label) + ": " + *e;
  return config;
}

ConfigResult load_config(const std::filesystem::path& path) {
  const FileText file = read_file(path);
  if (!file.ok()) return path.filename().string() + ": cannot read " + path.string();
  return parse_config(file.text, path.filename().string());
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

std::string options_table() { return options::help_text(kTable); }

std::optional<OnReload> on_reload(std::string_view key) {
  const Option* o = options::find_option(kTable, key);
  if (o == nullptr) return std::nullopt;
  return o->reload;
}

std::vector<ConfigChange> config_changes(const GatewayConfig& running, const GatewayConfig& next) {
  std::vector<ConfigChange> changes;
  for (const Option* o : options::changed(kTable, running, next)) changes.push_back({std::string(o->key), o->reload});
  return changes;
}

GatewayConfig reloaded_config(const GatewayConfig& running, const GatewayConfig& next) {
  GatewayConfig out = running;
  options::take_reloadable(kTable, next, out);
  return out;
}

}  // namespace footfall::gateway
