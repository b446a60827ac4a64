#pragma once
// gateway.json: one table of options (key, type, default, help, what a reload does), read by the shared engine
// (common/options/). Every key is checked; an unknown key, a key written twice or a value of the wrong type or
// range is an error that names the key path.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/options/option_table.h"

namespace footfall::gateway {

struct ProbeAccount {
  std::string id;     // the probe_id a probe sends in its Hello
  std::string token;  // shared secret it must send with it
  std::string zone;   // where in the site it hangs (for the merge stage)
  bool operator==(const ProbeAccount&) const = default;
};

struct ServerTls {
  std::string cert_file;       // PEM chain; TLS is on when set
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // when set, probes must present a certificate signed by this CA
  // With client_ca_file: the certificate's subject CN must be the probe id of the Hello (provision makes them so).
  bool client_cert_names_probe = true;
  [[nodiscard]] bool enabled() const { return !cert_file.empty(); }
  bool operator==(const ServerTls&) const = default;
};

enum class JournalFsync : std::uint8_t {
  always,  // fdatasync (group commit across connections) before any batch is acked
  never,   // ack once written: survives a gateway crash, not a power loss (benchmarks, tests)
};

// Publishing to MQTT (gateway/publish/); off while mqtt.uri is empty (receive only: the journal keeps
// everything and, once full, pushes back to the probes' spools).
struct MqttSettings {
  std::string uri;        // tcp://host:1883 or ssl://host:8883; empty: publishing off
  std::string username;   // empty: anonymous
  std::string password;
  std::string ca_file;    // ssl://: CA to trust (empty: the system's trust store)
  std::string cert_file;  // ssl://: optional client certificate
  std::string key_file;
  bool verify_server = true;
  std::string client_id;  // empty: footfall-gw-{tenant}-{site}
  std::uint32_t window = 16;
  [[nodiscard]] bool enabled() const { return !uri.empty(); }
};

struct GatewayConfig {
  std::string tenant;
  std::string site;
  std::string listen_address = "127.0.0.1";
  std::uint16_t listen_port = 7700;  // 0: any free port (logged)
  ServerTls tls;
  std::vector<ProbeAccount> probes;
  std::filesystem::path journal_dir = "/var/lib/footfall/journal";
  std::uint64_t journal_max_mb = 1024;
  JournalFsync journal_fsync = JournalFsync::always;
  std::uint32_t max_connections = 1024;
  std::uint32_t max_frame_bytes = 1u << 20;
  std::uint64_t max_decompressed_bytes = 16u << 20;
  std::uint32_t hello_timeout_s = 10;
  std::uint32_t idle_timeout_s = 60;
  std::uint32_t clock_tolerance_ms = 2000;
  std::uint32_t clock_window = 16;
  std::uint32_t health_interval_s = 60;
  std::string log_level = "info";

  MqttSettings mqtt;
  std::uint32_t publish_interval_ms = 5000;   // visits and presence micro-batches
  std::uint32_t publish_max_events = 500;
  std::uint32_t probes_interval_ms = 30000;   // probe and gateway health
  std::filesystem::path outbox_dir = "/var/lib/footfall/outbox";
  std::uint64_t outbox_max_mb = 256;
  std::filesystem::path key_dir = "/var/lib/footfall/keys";
  std::int64_t key_rotation_s = 86400;        // one day: docs/privacy.md
  bool create_keys = false;                   // single-site tenant: the gateway makes its own epoch keys
  std::filesystem::path opt_out_file;         // empty: nobody opted out
  std::uint32_t visit_grace_s = 0;
  std::uint32_t max_probe_lag_s = 3600;
  std::uint32_t update_interval_s = 60;       // must match the probes' presence.update_interval_s
  std::uint32_t merge_max_devices = 1'000'000;
  std::uint32_t dedup_window_ms = 1000;
  std::uint32_t strongest_zone_hysteresis_db = 3;   // margin another zone needs to become the strongest
  std::uint32_t strongest_zone_hold_intervals = 1;  // update intervals in a row it must win
  std::uint32_t dedup_capacity = 1u << 16;

  [[nodiscard]] const ProbeAccount* find_probe(std::string_view id) const;
};

// Bytes of journal record overhead on top of a frame: the record header and the metadata written with it.
inline constexpr std::uint64_t kJournalRecordOverhead = 256;

// A parsed config, or one line naming the file and key ("gateway.json: journal.max_mb: expected ...").
using ConfigResult = std::variant<GatewayConfig, std::string>;

ConfigResult parse_config(std::string_view json_text, std::string_view file_label);
ConfigResult load_config(const std::filesystem::path& path);

// Tokens of the packaged example config start with this: a gateway does not serve with them.
inline constexpr std::string_view kPlaceholderTokenPrefix = "replace-with-";

// "" or one line naming the first probe whose token is still the example's placeholder.
[[nodiscard]] std::string placeholder_token_problem(const GatewayConfig& config);

// "1d", "24h", "90m", "3600s" (or a bare number of seconds): seconds, or nullopt.
std::optional<std::int64_t> parse_duration_s(std::string_view text);

// The options table printed by --help-config.
std::string options_table();

// What a reload (SIGHUP) does with a key whose value changed. `applies`: the running gateway takes the new
// value (probes and their tokens, the TLS files, session limits, log level); `needs_restart`: the running
// gateway keeps its value, and says so, until it restarts (listen address, journal, MQTT, merge, privacy...).
using options::OnReload;
// The reload column of the options table for a key; nullopt for a key not in the table.
[[nodiscard]] std::optional<OnReload> on_reload(std::string_view key);

struct ConfigChange {
  std::string key;  // as in the options table ("probes" for the whole probe list)
  OnReload effect;
};
// The keys whose effective values differ between the running config and a newly loaded one.
[[nodiscard]] std::vector<ConfigChange> config_changes(const GatewayConfig& running, const GatewayConfig& next);
// The config a reload runs with: `running`, with the values of every `applies` key taken from `next`.
[[nodiscard]] GatewayConfig reloaded_config(const GatewayConfig& running, const GatewayConfig& next);

}  // namespace footfall::gateway
