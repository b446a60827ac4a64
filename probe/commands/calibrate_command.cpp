#include "probe/commands/calibrate_command.h"

#include <chrono>
#include <optional>

#include "common/mac_address.h"
#include "probe/capture/pcap_source.h"
#include "probe/commands/frames_command.h"
#include "probe/config/probe_config.h"
#include "probe/parse/packet.h"
#include "probe/pipeline/sighting.h"
#include "probe/selftest/checks.h"
#include "probe/selftest/walk_test.h"

namespace footfall::probe::commands {

namespace {

using Clock = std::chrono::steady_clock;

std::string channels_text(const std::map<std::uint16_t, std::uint64_t>& per_freq) {
  std::string out;
  for (const auto& [freq, n] : per_freq) {
    if (!out.empty()) out += ",";
    out += freq == 0 ? std::string("?") : std::to_string(selftest::channel_of(freq));
  }
  return out.empty() ? "-" : out;
}

// A 30-character meter from -100 to -20 dBm: where the last second's strongest frame sits.
std::string meter(std::optional<int> dbm) {
  std::string bar(30, '.');
  if (!dbm) return "|" + bar + "|";
  const int filled = std::clamp((*dbm + 100) * 30 / 80, 0, 30);
  for (int i = 0; i < filled; ++i) bar[static_cast<std::size_t>(i)] = '#';
  return "|" + bar + "|";
}

// One line a second: what this second brought, and the running figures of the whole walk.
void print_second(std::FILE* out, std::int64_t second, std::uint64_t new_frames, std::optional<int> loudest,
                  std::optional<std::uint16_t> freq, const selftest::WalkTest& walk) {
  const selftest::WalkStats s = walk.stats();
  std::fprintf(out, "%+5llds %s %3llu new", static_cast<long long>(second), meter(loudest).c_str(),
               static_cast<unsigned long long>(new_frames));
  if (loudest) std::fprintf(out, ", loudest %4d dBm", *loudest);
  else std::fprintf(out, ", %s", new_frames > 0 ? "no signal value" : "nothing heard ");
  if (freq && *freq != 0) std::fprintf(out, " ch %d", selftest::channel_of(*freq));
  std::fprintf(out, " | n=%llu", static_cast<unsigned long long>(s.with_signal));
  if (s.with_signal > 0)
    std::fprintf(out, " min %d med %d p90 %d max %d dBm", s.min_dbm, s.median_dbm, s.p90_dbm, s.max_dbm);
  std::fprintf(out, " channels %s\n", channels_text(s.per_freq).c_str());
  std::fflush(out);
}

}  // namespace

int run_calibrate(const CalibrateOptions& options, std::FILE* out, std::FILE* err) {
  const std::optional<MacAddress> phone = MacAddress::parse(options.mac);
  if (!phone) {
    std::fprintf(err, "footfall-probe: --mac: expected aa:bb:cc:dd:ee:ff, got '%s'\n", options.mac.c_str());
    return kExitUsage;
  }
  std::optional<std::int64_t> current_floor;
  if (!options.config_path.empty()) {
    const config::ConfigResult loaded = config::load_probe_config(options.config_path);
    if (!loaded.config) {
      std::fprintf(err, "footfall-probe: %s\n", loaded.error.c_str());
      return kExitUsage;
    }
    current_floor = loaded.config->presence.signal_floor_dbm;
  }

  std::optional<capture::PcapSource> source;
  try {
    if (!options.read_path.empty()) {
      source.emplace(capture::PcapSource::open_file(options.read_path));
    } else {
      capture::LiveOptions live;
      live.interface = options.interface;
      live.monitor = options.monitor;
      source.emplace(capture::PcapSource::open_live(live));
    }
  } catch (const capture::CaptureError& e) {
    std::fprintf(err, "footfall-probe: %s\n", e.what());
    return kExitUsage;
  }
  const bool live = source->live();
  std::fprintf(err, "calibrate: %s %s (%s), following %s; walk the entrance line now%s\n",
               live ? "listening on" : "reading", source->name().c_str(), source->link_type_name().c_str(),
               phone->to_string().c_str(), live ? ", Ctrl-C when done" : "");
  std::fflush(err);

  const capture::StopOnSignals stop_on_signals(*source);
  selftest::WalkTest walk(*phone);
  const auto started = Clock::now();
  const std::optional<Clock::time_point> deadline =
      live && options.duration_s > 0
          ? std::optional(started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(options.duration_s)))
          : std::nullopt;

  // Seconds: wall seconds when live (a line even when nothing is heard), capture seconds when reading a file
  // (a line for each second in which the phone was heard).
  std::int64_t second = 0;
  std::int64_t file_origin_ns = 0;
  std::uint64_t new_frames = 0;
  std::optional<int> loudest;
  std::optional<std::uint16_t> loudest_freq;
  auto flush_second = [&](std::int64_t next) {
    if (live || new_frames > 0) print_second(out, second, new_frames, loudest, loudest_freq, walk);
    second = next;
    new_frames = 0;
    loudest.reset();
    loudest_freq.reset();
  };

  capture::PacketView packet;
  parse::ParsedPacket parsed;
  int status = kExitOk;
  for (;;) {
    if (live) {
      const auto now = Clock::now();
      if (deadline && now >= *deadline) break;
      const auto at = std::chrono::duration_cast<std::chrono::seconds>(now - started).count();
      if (at > second) flush_second(at);
    }
    const capture::ReadStatus r = source->next(packet);
    if (r == capture::ReadStatus::timeout) continue;
    if (r == capture::ReadStatus::end || r == capture::ReadStatus::stopped) break;
    if (r == capture::ReadStatus::error) {
      std::fprintf(err, "footfall-probe: %s\n", source->error_message().c_str());
      status = kExitFailure;
      break;
    }
    if (!live) {
      if (file_origin_ns == 0) file_origin_ns = packet.ts_ns;
      const std::int64_t at = (packet.ts_ns - file_origin_ns) / 1'000'000'000;
      if (at > second) flush_second(at);
    }
    parse::parse_packet_into(parsed, source->link_type(), packet.bytes, packet.wire_length, /*want_ble=*/false);
    const std::optional<Sighting> s = pipeline::to_sighting(parsed, packet.ts_ns);
    if (!s || !walk.add(*s)) continue;
    ++new_frames;
    if (s->has_rssi && (!loudest || s->rssi_dbm > *loudest)) {
      loudest = s->rssi_dbm;
      loudest_freq = s->freq_mhz;
    }
  }
  flush_second(second + 1);

  const selftest::WalkStats s = walk.stats();
  const double span_s = static_cast<double>(s.last_ns - s.first_ns) / 1e9;
  std::fprintf(out, "\nwalk test of %s: %llu frame(s), %llu with a signal, over %.0f s, channels %s\n",
               phone->to_string().c_str(), static_cast<unsigned long long>(s.frames),
               static_cast<unsigned long long>(s.with_signal), span_s, channels_text(s.per_freq).c_str());
  if (s.with_signal > 0)
    std::fprintf(out, "signal: min %d  p10 %d  median %d  p90 %d  max %d dBm\n%s", s.min_dbm, s.p10_dbm, s.median_dbm,
                 s.p90_dbm, s.max_dbm, walk.histogram().c_str());
  const selftest::ThresholdRule rule{options.percentile, options.margin_db, options.min_frames};
  const auto proposal = walk.propose(rule);
  if (!proposal) {
    std::fprintf(out,
                 "no proposal: %llu frame(s) with a signal, at least %llu needed. Walk again with the phone's WiFi "
                 "settings screen open (it then sends probe requests), and check the address with "
                 "footfall-probe frames.\n",
                 static_cast<unsigned long long>(s.with_signal), static_cast<unsigned long long>(rule.min_frames));
    std::fflush(out);
    return status == kExitOk ? kExitFailure : status;
  }
  std::fprintf(out, "proposed visitor threshold: %d dBm (%s)\n", proposal->threshold_dbm, proposal->rule.c_str());
  if (!proposal->warning.empty()) std::fprintf(out, "warning: %s\n", proposal->warning.c_str());
  if (current_floor)
    std::fprintf(out, "now in %s: presence.signal_floor_dbm %lld\n", options.config_path.c_str(),
                 static_cast<long long>(*current_floor));
  std::fprintf(out, "probe.json: %s\n", selftest::config_line(proposal->threshold_dbm).c_str());
  std::fflush(out);
  return status;
}

}  // namespace footfall::probe::commands
