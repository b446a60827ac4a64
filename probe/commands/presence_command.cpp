#include "probe/commands/presence_command.h"

#include <array>
#include <exception>
#include <optional>

#include "probe/capture/pcap_source.h"
#include "probe/commands/frames_command.h"
#include "probe/config/probe_config.h"
#include "probe/parse/packet.h"
#include "probe/pipeline/presence_json.h"
#include "probe/pipeline/sighting.h"

namespace footfall::probe::commands {

namespace {

class JsonLines final : public presence::PresenceSink {
 public:
  explicit JsonLines(std::FILE* out) : out_(out) {}
  void on_presence(const PresenceEvent& event, presence::DepartureCause cause) override {
    const std::size_t n = pipeline::write_presence_json(line_, event, cause);
    if (std::fwrite(line_.data(), 1, n, out_) != n) failed_ = true;
  }
  [[nodiscard]] bool failed() const { return failed_ || std::ferror(out_) != 0; }

 private:
  std::FILE* out_;
  std::array<char, pipeline::kMaxPresenceJsonLine> line_{};
  bool failed_ = false;
};

void print_summary(const presence::PresenceCounters& c, std::uint64_t packets, const parse::DropCounters& drops,
                   std::FILE* err) {
  std::fprintf(err,
               "summary: packets_read=%llu sightings_in=%llu ignored_kind=%llu below_floor=%llu late=%llu heard=%llu "
               "arrivals=%llu updates=%llu departures=%llu evictions=%llu flushed=%llu peak_devices=%llu\n",
               static_cast<unsigned long long>(packets), static_cast<unsigned long long>(c.sightings_in),
               static_cast<unsigned long long>(c.ignored_kind), static_cast<unsigned long long>(c.below_floor),
               static_cast<unsigned long long>(c.late), static_cast<unsigned long long>(c.heard),
               static_cast<unsigned long long>(c.arrivals), static_cast<unsigned long long>(c.updates),
               static_cast<unsigned long long>(c.departures), static_cast<unsigned long long>(c.evictions),
               static_cast<unsigned long long>(c.flushed), static_cast<unsigned long long>(c.peak_devices));
  std::fprintf(err,
               "summary: new_addresses=%llu linked_sequence=%llu linked_signal=%llu refused_signal=%llu "
               "overlap_splits=%llu returns=%llu candidates_capped=%llu refused_timing=%llu "
               "crowd_starts=%llu crowd_relinks=%llu\n",
               static_cast<unsigned long long>(c.link.new_addresses),
               static_cast<unsigned long long>(c.link.linked_sequence),
               static_cast<unsigned long long>(c.link.linked_signal),
               static_cast<unsigned long long>(c.link.refused_signal),
               static_cast<unsigned long long>(c.link.overlap_splits), static_cast<unsigned long long>(c.link.returns),
               static_cast<unsigned long long>(c.link.candidates_capped),
               static_cast<unsigned long long>(c.link.refused_timing),
               static_cast<unsigned long long>(c.link.crowd_starts),
               static_cast<unsigned long long>(c.link.crowd_relinks));
  std::fprintf(err, "summary: parse_drops");
  for (std::size_t i = 0; i < parse::kDropReasonCount; ++i) {
    if (drops.by_reason[i] == 0) continue;
    const std::string_view name = parse::to_string(static_cast<parse::DropReason>(i));
    std::fprintf(err, " %.*s=%llu", static_cast<int>(name.size()), name.data(),
                 static_cast<unsigned long long>(drops.by_reason[i]));
  }
  std::fputc('\n', err);
}

}  // namespace

int run_presence(const PresenceOptions& options, std::FILE* out, std::FILE* err) {
  config::ProbeConfig::Presence settings;
  // With a probe config, the probe's own settings apply (presence.link_addresses among them), so the command
  // shows what that probe computes.
  if (!options.config_path.empty()) {
    const config::ConfigResult loaded = config::load_probe_config(options.config_path);
    if (!loaded.config) {
      std::fprintf(err, "footfall-probe: %s\n", loaded.error.c_str());
      return kExitUsage;
    }
    settings = loaded.config->presence;
  }
  if (options.floor_dbm) settings.signal_floor_dbm = *options.floor_dbm;
  if (options.silence_s) settings.departure_silence_s = *options.silence_s;
  if (options.update_s) settings.update_interval_s = *options.update_s;
  if (options.no_link) settings.link_addresses = false;
  presence::PresenceConfig presence_config = config::presence_config(settings);
  presence_config.link.all_randomized = options.all_randomized;

  std::optional<presence::PresenceTracker> tracker;
  try {
    tracker.emplace(presence_config);
  } catch (const std::exception& e) {
    std::fprintf(err, "footfall-probe: presence: %s\n", e.what());
    return kExitUsage;
  }

  std::optional<capture::PcapSource> source;
  try {
    source.emplace(capture::PcapSource::open_file(options.read_path));
  } catch (const capture::CaptureError& e) {
    std::fprintf(err, "footfall-probe: %s\n", e.what());
    return kExitUsage;
  }

  JsonLines lines(out);
  parse::DropCounters drops;
  std::uint64_t packets = 0;
  int status = kExitOk;
  const int link_type = source->link_type();
  capture::PacketView packet;
  for (;;) {
    const capture::ReadStatus r = source->next(packet);
    if (r == capture::ReadStatus::timeout) continue;
    if (r == capture::ReadStatus::end || r == capture::ReadStatus::stopped) break;
    if (r == capture::ReadStatus::error) {
      std::fprintf(err, "footfall-probe: error reading capture '%s': %s\n", source->name().c_str(),
                   source->error_message().c_str());
      status = kExitFailure;
      break;
    }
    ++packets;
    const parse::ParsedPacket parsed = parse::parse_packet(link_type, packet.bytes, packet.wire_length, false);
    if (parsed.what == parse::ParsedPacket::What::dropped) {
      drops.count(parsed.reason);
      continue;
    }
    if (const auto sighting = pipeline::to_sighting(parsed, packet.ts_ns)) tracker->on_sighting(*sighting, lines);
  }
  // The end of the file ends every presence: its dwell is a lower bound (cause shutdown).
  tracker->flush(lines);
  std::fflush(out);
  if (lines.failed()) {
    std::fprintf(err, "footfall-probe: cannot write output\n");
    status = kExitFailure;
  }
  print_summary(tracker->counters(), packets, drops, err);
  return status;
}

}  // namespace footfall::probe::commands
