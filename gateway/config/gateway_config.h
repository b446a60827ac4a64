#pragma once
// gateway.json: one table of options (key, type, default, help). Every key is checked; an unknown key or a
// value of the wrong type or range is an error that names the key path.
#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

namespace footfall::gateway {

struct ProbeAccount {
  std::string id;     // the probe_id a probe sends in its Hello
  std::string token;  // shared secret it must send with it
  std::string zone;   // where in the site it hangs (for the merge stage)
};

struct ServerTls {
  std::string cert_file;       // PEM chain; TLS is on when set
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // when set, probes must present a certificate signed by this CA
  [[nodiscard]] bool enabled() const { return !cert_file.empty(); }
};

enum class JournalFsync : std::uint8_t {
  always,  // fdatasync (group commit across connections) before any batch is acked
  never,   // ack once written: survives a gateway crash, not a power loss (benchmarks, tests)
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

  [[nodiscard]] const ProbeAccount* find_probe(std::string_view id) const;
};

// Bytes of journal record overhead on top of a frame: the record header and the metadata written with it.
inline constexpr std::uint64_t kJournalRecordOverhead = 256;

// A parsed config, or one line naming the file and key ("gateway.json: journal.max_mb: expected ...").
using ConfigResult = std::variant<GatewayConfig, std::string>;

ConfigResult parse_config(std::string_view json_text, std::string_view file_label);
ConfigResult load_config(const std::filesystem::path& path);

// The options table printed by --help-config.
std::string options_table();

}  // namespace footfall::gateway
