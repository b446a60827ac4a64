#pragma once
// aggregator.json: one table of options (key, type, default, help), read by the shared engine (common/options/).
// Every key is checked; an unknown key, a key written twice or a bad value is an error naming the key path
// ("aggregator.json: tenants.acme.sites.mall-7.utc_offset_min: expected an integer in [-720, 840]").
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace footfall::aggregator {

struct MqttIngestSettings {
  std::string uri;  // tcp://host:1883 or ssl://host:8883; empty: no MQTT (run refuses)
  std::string username;
  std::string password;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  bool verify_server = true;
  std::string client_id = "footfall-aggregator";  // persistent session: unique per aggregator instance
  std::string share_group;                        // non-empty: $share/{group}/... (several aggregators split the feed)
  std::filesystem::path persist_dir;              // the MQTT client's own persistence; empty: {store.path}.mqtt
  std::uint32_t keep_alive_s = 30;
  std::uint32_t max_buffered_publishes = 1024;    // figures/alerts waiting while disconnected; oldest dropped
};

struct SiteSettings {
  std::string tenant;
  std::string site;
  std::string time_zone;                                  // tz database name; empty: the fixed utc_offset_min
  int utc_offset_min = 0;                                 // local time = UTC + this (days, weeks, months)
  nlohmann::json thresholds = nlohmann::json::object();   // given to SiteThresholds::from_json
};

struct PostgresSettings {
  std::string conninfo;        // libpq connection string (or URI); required with store.backend "postgresql"
  std::uint32_t pool_size = 4;  // connections this instance opens at most (plus one for the publish leases)
};

// One account of the dashboard (serve): it sees the sites of its tenant only.
struct DashboardUser {
  std::string name;
  std::string tenant;
  std::string password_hash;  // from footfall-aggregator hash-password (PBKDF2-HMAC-SHA256)
};

// The dashboard server (footfall-aggregator serve, docs/operators.md).
struct ServeSettings {
  std::string address = "127.0.0.1";
  std::uint32_t port = 8080;              // 0: any free port (printed at start)
  std::string tls_cert_file;              // both set: HTTPS only
  std::string tls_key_file;
  std::uint32_t max_connections = 64;     // beyond this a new connection gets 503 and is closed
  std::uint32_t max_request_bytes = 16384;  // headers and body; beyond this: 413 and the connection closed
  std::uint32_t request_timeout_s = 30;
  std::uint32_t session_hours = 12;
  std::uint32_t max_sessions = 1024;      // when full the session used least recently is closed
  std::uint32_t live_interval_s = 5;
  std::string chromium = "/usr/bin/chromium";  // for the PDF download; absent: the PDF link says so
  std::vector<DashboardUser> users;

  [[nodiscard]] bool tls() const { return !tls_cert_file.empty(); }
};

struct AggregatorConfig {
  MqttIngestSettings mqtt;
  std::string store_backend = "sqlite";  // "sqlite" (one file, one instance) or "postgresql" (shared)
  std::filesystem::path store_path = "/var/lib/footfall/aggregator.db";
  PostgresSettings postgresql;
  std::uint32_t batch_ids_days = 30;  // processed batch ids kept this long (then visit and sale ids dedupe)
  std::map<std::string, std::uint32_t, std::less<>> retention_days;  // per tenant; absent or 0: kept forever
  std::uint32_t queue_capacity = 64;
  std::uint32_t ingest_sessions = 1;  // MQTT sessions of this instance in its share group, one store writer each
  bool publish_enabled = true;
  std::uint32_t publish_interval_s = 60;
  std::vector<SiteSettings> sites;
  double resident_min_hours = 4;  // every site's resident_min_hours unless its thresholds give one
  std::string log_level = "info";
  ServeSettings serve;

  [[nodiscard]] const SiteSettings* find_site(std::string_view tenant, std::string_view site) const;
  // The one tenant configured, or "" when there are none or several.
  [[nodiscard]] std::string only_tenant() const;
  [[nodiscard]] std::filesystem::path mqtt_persist_dir() const;
  // "postgresql: host=... dbname=..." without a password, or the SQLite path: for logs and messages.
  [[nodiscard]] std::string store_label() const;
};

// Checks one site's thresholds (SiteThresholds::from_json); returns the problem, or nullopt.
using ThresholdCheck = std::function<std::optional<std::string>(const nlohmann::json&)>;

using ConfigResult = std::variant<AggregatorConfig, std::string>;

ConfigResult parse_config(std::string_view json_text, std::string_view file_label, const ThresholdCheck& check = {});
ConfigResult load_config(const std::filesystem::path& path, const ThresholdCheck& check = {});

// The options table printed by --help-config.
std::string options_table();

}  // namespace footfall::aggregator
