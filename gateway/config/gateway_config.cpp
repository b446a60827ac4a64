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

std::string options_table() {
  std::ostringstream out;
  out << "gateway.json options (key | type | default | meaning):\n";
  for (const Option& o : options())
    out << "  " << o.key << " | " << o.type << " | " << o.default_value << " | " << o.help << "\n";
  out << "An unknown key or a bad value stops the gateway with one line naming the key (exit 2).\n";
  return out.str();
}

}  // namespace footfall::gateway
