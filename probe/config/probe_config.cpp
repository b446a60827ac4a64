#include "probe/config/probe_config.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/file_text.h"
#include "common/wire/messages.h"

namespace footfall::probe::config {

namespace {

using options::field;
using options::Option;
using options::Type;
using P = ProbeConfig;

// The one table. Defaults are written as in probe.json; ProbeConfig's initializers agree (tested).
const std::array kOptions{
    Option{.key = "probe_id", .type = Type::string, .default_text = "",
           .help = "site-unique name of this probe (required; at most 64 bytes)", .field = field<&P::probe_id>()},
    Option{.key = "token", .type = Type::string, .default_text = "",
           .help = "shared secret the gateway checks (required; at most 512 bytes)", .field = field<&P::token>()},
    Option{.key = "source.interface", .type = Type::string, .default_text = "\"\"",
           .help = "capture live from this interface (exactly one of source.interface, source.file)",
           .field = field<&P::source, &P::Source::interface>()},
    Option{.key = "source.file", .type = Type::string, .default_text = "\"\"",
           .help = "replay this pcap / pcapng file; resumes after a restart, drains and exits at its end",
           .field = field<&P::source, &P::Source::file>()},
    Option{.key = "source.monitor", .type = Type::boolean, .default_text = "true",
           .help = "live: put the interface in monitor mode (rfmon)", .field = field<&P::source, &P::Source::monitor>()},
    Option{.key = "source.snaplen", .type = Type::integer, .default_text = "512",
           .help = "live: bytes kept of each packet", .field = field<&P::source, &P::Source::snaplen>(), .min = 64,
           .max = 262144},
    Option{.key = "source.buffer_kb", .type = Type::integer, .default_text = "4096",
           .help = "live: kernel capture buffer, KiB", .field = field<&P::source, &P::Source::buffer_kb>(), .min = 64,
           .max = 1 << 20},
    Option{.key = "source.filter", .type = Type::string, .default_text = "\"type mgt\"",
           .help = "live: BPF filter on 802.11 link types (\"\" for none)",
           .field = field<&P::source, &P::Source::filter>()},
    Option{.key = "source.speed", .type = Type::number, .default_text = "0",
           .help = "file: 0 as fast as possible, 1 real time, 10 ten times faster",
           .field = field<&P::source, &P::Source::speed>(), .min = 0, .max = 1000},
    Option{.key = "source.clock", .type = Type::choice, .default_text = "\"capture\"",
           .help = "event times: capture = capture timestamps; radio = radiotap TSFT as µs since the Unix epoch "
                   "(lab replays faster than real time)",
           .field = field<&P::source, &P::Source::clock>(), .choices = "capture|radio"},
    Option{.key = "gateway.host", .type = Type::string, .default_text = "\"127.0.0.1\"",
           .help = "gateway host name or address", .field = field<&P::gateway, &P::Gateway::host>()},
    Option{.key = "gateway.port", .type = Type::integer, .default_text = "7700", .help = "gateway TCP port",
           .field = field<&P::gateway, &P::Gateway::port>(), .min = 1, .max = 65535},
    Option{.key = "gateway.tls.ca_file", .type = Type::string, .default_text = "\"\"",
           .help = "PEM CA the gateway certificate must chain to; set = TLS on, empty = plain TCP",
           .field = field<&P::gateway, &P::Gateway::tls, &uplink::TlsConfig::ca_file>()},
    Option{.key = "gateway.tls.cert_file", .type = Type::string, .default_text = "\"\"",
           .help = "client certificate (PEM), optional",
           .field = field<&P::gateway, &P::Gateway::tls, &uplink::TlsConfig::cert_file>()},
    Option{.key = "gateway.tls.key_file", .type = Type::string, .default_text = "\"\"",
           .help = "client private key (PEM), with cert_file",
           .field = field<&P::gateway, &P::Gateway::tls, &uplink::TlsConfig::key_file>()},
    Option{.key = "gateway.tls.server_name", .type = Type::string, .default_text = "\"\"",
           .help = "name the gateway certificate must carry (and SNI); empty = gateway.host",
           .field = field<&P::gateway, &P::Gateway::tls, &uplink::TlsConfig::server_name>()},
    Option{.key = "spool.dir", .type = Type::string, .default_text = "\"/var/lib/footfall/spool\"",
           .help = "spool of unacked batches (and the replay checkpoint); created if missing",
           .field = field<&P::spool, &P::Spool::dir>()},
    Option{.key = "spool.max_mb", .type = Type::integer, .default_text = "64",
           .help = "spool size cap, MiB (at least 2: one batch can be 1 MiB); when full the oldest unacked batches "
                   "are dropped and counted",
           .field = field<&P::spool, &P::Spool::max_mb>(), .min = 2, .max = options::kNoMax},
    Option{.key = "spool.fsync", .type = Type::choice, .default_text = "\"group\"",
           .help = "always: fdatasync each batch; group: every 16 batches or 5 s; never: leave it to the kernel",
           .field = field<&P::spool, &P::Spool::fsync>(), .choices = "always|group|never"},
    Option{.key = "presence.signal_floor_dbm", .type = Type::integer, .default_text = "-90",
           .help = "frames heard weaker than this neither start nor extend a presence",
           .field = field<&P::presence, &P::Presence::signal_floor_dbm>(), .min = -128, .max = 0},
    Option{.key = "presence.departure_silence_s", .type = Type::integer, .default_text = "300",
           .help = "a device not heard for this long has left",
           .field = field<&P::presence, &P::Presence::departure_silence_s>(), .min = 6, .max = 86400},
    Option{.key = "presence.update_interval_s", .type = Type::integer, .default_text = "60",
           .help = "report every present device at each multiple of this (0: no updates)",
           .field = field<&P::presence, &P::Presence::update_interval_s>(), .min = 0, .max = 86400},
    Option{.key = "presence.max_devices", .type = Type::integer, .default_text = "1000000",
           .help = "devices tracked at once; the least recently heard is evicted (a departure) when full",
           .field = field<&P::presence, &P::Presence::max_devices>(), .min = 1, .max = (1 << 24) - 1},
    Option{.key = "presence.link_addresses", .type = Type::boolean, .default_text = "true",
           .help = "link the random addresses of one phone into one device (docs/counting.md); false: one device per "
                   "address",
           .field = field<&P::presence, &P::Presence::link_addresses>()},
    Option{.key = "presence.link_window_s", .type = Type::integer, .default_text = "300",
           .help = "a new random address links only to a device heard at most this long ago (a value above "
                   "presence.departure_silence_s is cut to it)",
           .field = field<&P::presence, &P::Presence::link_window_s>(), .min = 1, .max = 86400},
    Option{.key = "batch.max_age_ms", .type = Type::integer, .default_text = "1000",
           .help = "seal a batch this long after its first record", .field = field<&P::batch, &P::Batch::max_age_ms>(),
           .min = 1, .max = 3'600'000},
    Option{.key = "batch.max_records", .type = Type::integer, .default_text = "8192",
           .help = "seal a batch at this many records", .field = field<&P::batch, &P::Batch::max_records>(), .min = 1,
           .max = 1'000'000},
    Option{.key = "batch.send_sightings", .type = Type::boolean, .default_text = "false",
           .help = "also send every raw sighting (large; for calibration)",
           .field = field<&P::batch, &P::Batch::send_sightings>()},
    Option{.key = "uplink.window", .type = Type::integer, .default_text = "16",
           .help = "batches sent and not yet acked", .field = field<&P::uplink, &P::Uplink::window>(), .min = 1,
           .max = 1024},
    Option{.key = "uplink.backoff_initial_ms", .type = Type::integer, .default_text = "500",
           .help = "first reconnect wait ceiling", .field = field<&P::uplink, &P::Uplink::backoff_initial_ms>(),
           .min = 1, .max = 3'600'000},
    Option{.key = "uplink.backoff_max_ms", .type = Type::integer, .default_text = "30000",
           .help = "reconnect wait cap (full jitter below it); a refused token waits max/2..max",
           .field = field<&P::uplink, &P::Uplink::backoff_max_ms>(), .min = 1, .max = 86'400'000},
    Option{.key = "uplink.connect_timeout_ms", .type = Type::integer, .default_text = "5000",
           .help = "TCP connect + TLS handshake + hello reply",
           .field = field<&P::uplink, &P::Uplink::connect_timeout_ms>(), .min = 10, .max = 600'000},
    Option{.key = "uplink.ack_timeout_ms", .type = Type::integer, .default_text = "30000",
           .help = "batches in flight and no ack for this long: reconnect and resend",
           .field = field<&P::uplink, &P::Uplink::ack_timeout_ms>(), .min = 10, .max = 3'600'000},
    Option{.key = "heartbeat_s", .type = Type::integer, .default_text = "10", .help = "heartbeat interval",
           .field = field<&P::heartbeat_s>(), .min = 1, .max = 3600},
    Option{.key = "drain_timeout_s", .type = Type::integer, .default_text = "30",
           .help = "file: at the end, wait this long for the gateway to ack the spool",
           .field = field<&P::drain_timeout_s>(), .min = 0, .max = 86400},
    Option{.key = "log_level", .type = Type::choice, .default_text = "\"info\"", .help = "stderr log level",
           .field = field<&P::log_level>(), .choices = "trace|debug|info|warn|error|off"},
};

constexpr std::string_view kHelpFooter[] = {
    "An unknown key, a key written twice or a bad value stops footfall-probe run with one line naming the key "
    "(exit 2).",
};

const options::Table kTable{
    .file = "probe.json",
    .rows = kOptions,
    .phrasing = options::Phrasing::words,
    .unknown_key = "unknown key (see footfall-probe run --help-config)",
    .top_not_object = "expected a JSON object at the top",
    .json_error_byte = false,
    .comments = true,
    .help_footer = kHelpFooter,
};

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

std::span<const options::Option> probe_options() { return kOptions; }

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
  ProbeConfig config;
  if (auto e = options::read(kTable, json_text, name, config); !e.empty()) return {std::nullopt, std::move(e)};
  if (auto e = cross_check(config); !e.empty()) return {std::nullopt, std::string(name) + ": " + e};
  return {std::move(config), {}};
}

ConfigResult load_probe_config(const std::string& path) {
  const FileText file = read_file(path);
  if (!file.opened) return {std::nullopt, path + ": cannot open: " + std::strerror(file.error)};
  if (!file.ok()) return {std::nullopt, path + ": cannot read: " + std::strerror(file.error)};
  return parse_probe_config(file.text, path);
}

std::string probe_options_help() { return options::help_text(kTable); }

}  // namespace footfall::probe::config
