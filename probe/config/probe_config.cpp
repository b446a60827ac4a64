#include "probe/config/probe_config.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/file_text.h"
#include "common/wire/messages.h"

namespace footfall::probe::config {

namespace {

using nlohmann::json;
constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();

#define FOOTFALL_TARGET(member) [](ProbeConfig& c) -> OptionTarget { return &c.member; }

// The one table. Defaults are written as in probe.json; ProbeConfig's initializers agree (tested).
const std::array kOptions{
    ConfigOption{"probe_id", OptionType::string, "", "site-unique name of this probe (required; at most 64 bytes)",
                 0, 0, {}, FOOTFALL_TARGET(probe_id)},
    ConfigOption{"token", OptionType::string, "", "shared secret the gateway checks (required; at most 512 bytes)", 0,
                 0, {}, FOOTFALL_TARGET(token)},
    ConfigOption{"source.interface", OptionType::string, "\"\"",
                 "capture live from this interface (exactly one of source.interface, source.file)", 0, 0, {},
                 FOOTFALL_TARGET(source.interface)},
    ConfigOption{"source.file", OptionType::string, "\"\"",
                 "replay this pcap / pcapng file; resumes after a restart, drains and exits at its end", 0, 0, {},
                 FOOTFALL_TARGET(source.file)},
    ConfigOption{"source.monitor", OptionType::boolean, "true", "live: put the interface in monitor mode (rfmon)", 0, 0,
                 {}, FOOTFALL_TARGET(source.monitor)},
    ConfigOption{"source.snaplen", OptionType::integer, "512", "live: bytes kept of each packet", 64, 262144, {},
                 FOOTFALL_TARGET(source.snaplen)},
    ConfigOption{"source.buffer_kb", OptionType::integer, "4096", "live: kernel capture buffer, KiB", 64, 1 << 20, {},
                 FOOTFALL_TARGET(source.buffer_kb)},
    ConfigOption{"source.filter", OptionType::string, "\"type mgt\"",
                 "live: BPF filter on 802.11 link types (\"\" for none)", 0, 0, {}, FOOTFALL_TARGET(source.filter)},
    ConfigOption{"source.speed", OptionType::number, "0",
                 "file: 0 as fast as possible, 1 real time, 10 ten times faster", 0, 1000, {},
                 FOOTFALL_TARGET(source.speed)},
    ConfigOption{"source.clock", OptionType::choice, "\"capture\"",
                 "event times: capture = capture timestamps; radio = radiotap TSFT as µs since the Unix epoch "
                 "(lab replays faster than real time)",
                 0, 0, "capture|radio", FOOTFALL_TARGET(source.clock)},
    ConfigOption{"gateway.host", OptionType::string, "\"127.0.0.1\"", "gateway host name or address", 0, 0, {},
                 FOOTFALL_TARGET(gateway.host)},
    ConfigOption{"gateway.port", OptionType::integer, "7700", "gateway TCP port", 1, 65535, {},
                 FOOTFALL_TARGET(gateway.port)},
    ConfigOption{"gateway.tls.ca_file", OptionType::string, "\"\"",
                 "PEM CA the gateway certificate must chain to; set = TLS on, empty = plain TCP", 0, 0, {},
                 FOOTFALL_TARGET(gateway.tls.ca_file)},
    ConfigOption{"gateway.tls.cert_file", OptionType::string, "\"\"", "client certificate (PEM), optional", 0, 0, {},
                 FOOTFALL_TARGET(gateway.tls.cert_file)},
    ConfigOption{"gateway.tls.key_file", OptionType::string, "\"\"", "client private key (PEM), with cert_file", 0, 0,
                 {}, FOOTFALL_TARGET(gateway.tls.key_file)},
    ConfigOption{"gateway.tls.server_name", OptionType::string, "\"\"",
                 "name the gateway certificate must carry (and SNI); empty = gateway.host", 0, 0, {},
                 FOOTFALL_TARGET(gateway.tls.server_name)},
    ConfigOption{"spool.dir", OptionType::string, "\"/var/lib/footfall/spool\"",
                 "spool of unacked batches (and the replay checkpoint); created if missing", 0, 0, {},
                 FOOTFALL_TARGET(spool.dir)},
    ConfigOption{"spool.max_mb", OptionType::integer, "64",
                 "spool size cap, MiB (at least 2: one batch can be 1 MiB); when full the oldest unacked batches "
                 "are dropped and counted",
                 2, kNoMax, {},
                 FOOTFALL_TARGET(spool.max_mb)},
    ConfigOption{"spool.fsync", OptionType::choice, "\"group\"",
                 "always: fdatasync each batch; group: every 16 batches or 5 s; never: leave it to the kernel", 0, 0,
                 "always|group|never", FOOTFALL_TARGET(spool.fsync)},
    ConfigOption{"presence.signal_floor_dbm", OptionType::integer, "-90",
                 "frames heard weaker than this neither start nor extend a presence", -128, 0, {},
                 FOOTFALL_TARGET(presence.signal_floor_dbm)},
    ConfigOption{"presence.departure_silence_s", OptionType::integer, "300",
                 "a device not heard for this long has left", 6, 86400, {},
                 FOOTFALL_TARGET(presence.departure_silence_s)},
    ConfigOption{"presence.update_interval_s", OptionType::integer, "60",
                 "report every present device at each multiple of this (0: no updates)", 0, 86400, {},
                 FOOTFALL_TARGET(presence.update_interval_s)},
    ConfigOption{"presence.max_devices", OptionType::integer, "1000000",
                 "devices tracked at once; the least recently heard is evicted (a departure) when full", 1,
                 (1 << 24) - 1, {}, FOOTFALL_TARGET(presence.max_devices)},
    ConfigOption{"presence.link_addresses", OptionType::boolean, "true",
                 "link the random addresses of one phone into one device (docs/counting.md); false: one device "
                 "per address",
                 0, 0, {}, FOOTFALL_TARGET(presence.link_addresses)},
    ConfigOption{"presence.link_window_s", OptionType::integer, "300",
                 "a new random address links only to a device heard at most this long ago (a value above "
                 "presence.departure_silence_s is cut to it)",
                 1, 86400, {}, FOOTFALL_TARGET(presence.link_window_s)},
    ConfigOption{"batch.max_age_ms", OptionType::integer, "1000", "seal a batch this long after its first record", 1,
                 3'600'000, {}, FOOTFALL_TARGET(batch.max_age_ms)},
    ConfigOption{"batch.max_records", OptionType::integer, "8192", "seal a batch at this many records", 1, 1'000'000,
                 {}, FOOTFALL_TARGET(batch.max_records)},
    ConfigOption{"batch.send_sightings", OptionType::boolean, "false",
                 "also send every raw sighting (large; for calibration)", 0, 0, {},
                 FOOTFALL_TARGET(batch.send_sightings)},
    ConfigOption{"uplink.window", OptionType::integer, "16", "batches sent and not yet acked", 1, 1024, {},
                 FOOTFALL_TARGET(uplink.window)},
    ConfigOption{"uplink.backoff_initial_ms", OptionType::integer, "500", "first reconnect wait ceiling", 1, 3'600'000,
                 {}, FOOTFALL_TARGET(uplink.backoff_initial_ms)},
    ConfigOption{"uplink.backoff_max_ms", OptionType::integer, "30000",
                 "reconnect wait cap (full jitter below it); a refused token waits max/2..max", 1, 86'400'000, {},
                 FOOTFALL_TARGET(uplink.backoff_max_ms)},
    ConfigOption{"uplink.connect_timeout_ms", OptionType::integer, "5000", "TCP connect + TLS handshake + hello reply",
                 10, 600'000, {}, FOOTFALL_TARGET(uplink.connect_timeout_ms)},
    ConfigOption{"uplink.ack_timeout_ms", OptionType::integer, "30000",
                 "batches in flight and no ack for this long: reconnect and resend", 10, 3'600'000, {},
                 FOOTFALL_TARGET(uplink.ack_timeout_ms)},
    ConfigOption{"heartbeat_s", OptionType::integer, "10", "heartbeat interval", 1, 3600, {},
                 FOOTFALL_TARGET(heartbeat_s)},
    ConfigOption{"drain_timeout_s", OptionType::integer, "30",
                 "file: at the end, wait this long for the gateway to ack the spool", 0, 86400, {},
                 FOOTFALL_TARGET(drain_timeout_s)},
    ConfigOption{"log_level", OptionType::choice, "\"info\"", "stderr log level", 0, 0,
                 "trace|debug|info|warn|error|off", FOOTFALL_TARGET(log_level)},
};

#undef FOOTFALL_TARGET

const ConfigOption* find_option(std::string_view key) {
  for (const ConfigOption& o : kOptions)
    if (o.key == key) return &o;
  return nullptr;
}

bool is_section(std::string_view path) {
  for (const ConfigOption& o : kOptions)
    if (o.key.size() > path.size() && o.key.starts_with(path) && o.key[path.size()] == '.') return true;
  return false;
}

std::vector<std::string_view> split_choices(std::string_view choices) {
  std::vector<std::string_view> out;
  while (!choices.empty()) {
    const auto bar = choices.find('|');
    out.push_back(choices.substr(0, bar));
    if (bar == std::string_view::npos) break;
    choices.remove_prefix(bar + 1);
  }
  return out;
}

std::string range_text(const ConfigOption& o, std::string_view what) {
  if (o.min == 1 && o.max == kNoMax) return "expected a positive " + std::string(what);
  if (o.max == kNoMax) return "expected " + std::string(what) + " >= " + std::to_string(o.min);
  return "expected " + std::string(what) + " from " + std::to_string(o.min) + " to " + std::to_string(o.max);
}

// Checks one value against its row and stores it; returns the problem, empty when fine.
std::string apply(const ConfigOption& o, const json& v, ProbeConfig& config) {
  const OptionTarget target = o.target(config);
  switch (o.type) {
    case OptionType::string:
      if (!v.is_string()) return "expected a string";
      *std::get<std::string*>(target) = v.get<std::string>();
      return {};
    case OptionType::boolean:
      if (!v.is_boolean()) return "expected true or false";
      *std::get<bool*>(target) = v.get<bool>();
      return {};
    case OptionType::integer: {
      if (!v.is_number_integer()) return range_text(o, "integer");
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(kNoMax))
        return range_text(o, "integer");
      const auto n = v.get<std::int64_t>();
      if (n < o.min || n > o.max) return range_text(o, "integer");
      *std::get<std::int64_t*>(target) = n;
      return {};
    }
    case OptionType::number: {
      if (!v.is_number()) return range_text(o, "number");
      const auto d = v.get<double>();
      if (!(d >= static_cast<double>(o.min) && d <= static_cast<double>(o.max))) return range_text(o, "number");
      *std::get<double*>(target) = d;
      return {};
    }
    case OptionType::choice: {
      const auto choices = split_choices(o.choices);
      std::string expected = "expected one of";
      for (const auto c : choices) expected += " \"" + std::string(c) + "\"";
      if (!v.is_string()) return expected;
      const auto text = v.get<std::string>();
      for (std::size_t i = 0; i < choices.size(); ++i) {
        if (choices[i] != text) continue;
        if (auto* s = std::get_if<std::string*>(&target)) **s = text;
        if (auto* e = std::get_if<spool::FsyncMode*>(&target)) **e = static_cast<spool::FsyncMode>(i);
        return {};
      }
      return expected;
    }
  }
  return "unsupported option type";
}

std::string walk(const json& object, const std::string& prefix, ProbeConfig& config) {
  for (const auto& [key, value] : object.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (is_section(path)) {
      if (!value.is_object()) return path + ": expected an object";
      if (auto e = walk(value, path, config); !e.empty()) return e;
    } else if (const ConfigOption* o = find_option(path)) {
      if (auto e = apply(*o, value, config); !e.empty()) return path + ": " + e;
    } else {
      return path + ": unknown key (see footfall-probe run --help-config)";
    }
  }
  return {};
}

// Rules that tie keys together, after every key was read.
std::string cross_check(const ProbeConfig& c) {
  if (c.probe_id.empty()) return "probe_id: required";
  if (c.probe_id.size() > wire::kMaxProbeIdBytes) return "probe_id: at most 64 bytes";
  if (c.token.empty()) return "token: required";
  if (c.token.size() > wire::kMaxTokenBytes) return "token: at most 512 bytes";
  if (c.source.interface.empty() == c.source.file.empty())
    return c.source.file.empty() ? "source: one of source.interface or source.file is required"
                                 : "source.file: cannot be used together with source.interface";
  if (c.source.speed != 0 && c.source.file.empty()) return "source.speed: only with source.file";
  if (c.gateway.host.empty()) return "gateway.host: must not be empty";
  const auto& tls = c.gateway.tls;
  if (!tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty() || !tls.server_name.empty()) {
    if (tls.ca_file.empty()) return "gateway.tls.ca_file: required when gateway.tls is used";
    if (tls.cert_file.empty() != tls.key_file.empty())
      return tls.cert_file.empty() ? "gateway.tls.cert_file: required with gateway.tls.key_file"
                                   : "gateway.tls.key_file: required with gateway.tls.cert_file";
  }
  if (c.spool.dir.empty()) return "spool.dir: must not be empty";
  if (c.uplink.backoff_initial_ms > c.uplink.backoff_max_ms)
    return "uplink.backoff_initial_ms: must not exceed uplink.backoff_max_ms";
  return {};
}

}  // namespace

std::string_view to_string(OptionType t) {
  switch (t) {
    case OptionType::string: return "string";
    case OptionType::boolean: return "bool";
    case OptionType::integer: return "integer";
    case OptionType::number: return "number";
    case OptionType::choice: return "choice";
  }
  return "?";
}

std::span<const ConfigOption> probe_options() { return kOptions; }

presence::PresenceConfig presence_config(const ProbeConfig::Presence& p) {
  presence::PresenceConfig c;
  c.signal_floor_dbm = static_cast<std::int8_t>(std::clamp<std::int64_t>(p.signal_floor_dbm, -128, 127));
  c.departure_silence_ns = p.departure_silence_s * 1'000'000'000;
  c.update_interval_ns = p.update_interval_s * 1'000'000'000;
  c.max_devices = static_cast<std::uint32_t>(std::clamp<std::int64_t>(p.max_devices, 1, presence::DeviceTable::max_capacity));
  c.reorder_tolerance_ns = std::min<std::int64_t>(5'000'000'000, c.departure_silence_ns / 2);
  c.link.link_addresses = p.link_addresses;
  // A link must not revive a departure: a window beyond the silence is cut to it.
  c.link.window_ns = std::min(p.link_window_s * 1'000'000'000, c.departure_silence_ns);
  return c;
}

ConfigResult parse_probe_config(std::string_view json_text, std::string_view name) {
  const std::string prefix = std::string(name) + ": ";
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false, /*ignore_comments=*/true);
  if (doc.is_discarded()) return {std::nullopt, prefix + "not valid JSON"};
  if (!doc.is_object()) return {std::nullopt, prefix + "expected a JSON object at the top"};
  ProbeConfig config;
  if (auto e = walk(doc, "", config); !e.empty()) return {std::nullopt, prefix + e};
  if (auto e = cross_check(config); !e.empty()) return {std::nullopt, prefix + e};
  return {std::move(config), {}};
}

ConfigResult load_probe_config(const std::string& path) {
  const FileText file = read_file(path);
  if (!file.opened) return {std::nullopt, path + ": cannot open: " + std::strerror(file.error)};
  if (!file.ok()) return {std::nullopt, path + ": cannot read: " + std::strerror(file.error)};
  return parse_probe_config(file.text, path);
}

std::string probe_options_help() {
  std::string out = "probe.json options (key  type  default  help):\n";
  for (const ConfigOption& o : kOptions) {
    std::string type(to_string(o.type));
    if (o.type == OptionType::choice) type = std::string(o.choices);
    if (o.type == OptionType::integer || o.type == OptionType::number)
      type += o.max == kNoMax ? " >=" + std::to_string(o.min)
                              : " " + std::to_string(o.min) + ".." + std::to_string(o.max);
    std::string line = "  " + std::string(o.key);
    line.resize(std::max<std::size_t>(line.size() + 1, 30), ' ');
    line += type;
    line.resize(std::max<std::size_t>(line.size() + 1, 56), ' ');
    line += o.default_json.empty() ? "(required)" : std::string(o.default_json);
    line.resize(std::max<std::size_t>(line.size() + 1, 84), ' ');
    out += line + std::string(o.help) + "\n";
  }
  return out;
}

}  // namespace footfall::probe::config
