#include "probe/commands/calibrate_command.h"

#include <chrono>
#include <limits>
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
void print_second(std::FILE* out, std::int64_t second, std::uint64_t new_frames, const std::optional<int>& loudest,
                  const std::optional<std::uint16_t>& freq, const selftest::WalkTest& walk) {
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

// The signal floor probe.json holds now, to print beside the proposal; false after saying why on `err`.
bool read_current_floor(const std::string& config_path, std::optional<std::int64_t>& floor, std::FILE* err) {
  if (config_path.empty()) return true;
  const config::ConfigResult loaded = config::load_probe_config(config_path);
  if (!loaded.config) {
    std::fprintf(err, "footfall-probe: %s\n", loaded.error.c_str());
    return false;
  }
  floor = loaded.config->presence.signal_floor_dbm;
  return true;
}

// A capture file (--read) or a live interface; nullopt after saying why on `err`.
std::optional<capture::PcapSource> open_walk_source(const CalibrateOptions& options, std::FILE* err) {
  try {
    if (!options.read_path.empty()) return capture::PcapSource::open_file(options.read_path);
    capture::LiveOptions live;
    live.interface = options.interface;
    live.monitor = options.monitor;
    return capture::PcapSource::open_live(live);
  } catch (const capture::CaptureError& e) {
    std::fprintf(err, "footfall-probe: %s\n", e.what());
    return std::nullopt;
  }
}

// The lines of the walk, one a second: wall seconds when live (a line even when nothing is heard), capture seconds
// when reading a file (a line for each second in which the phone was heard).
class SecondLines {
 public:
  SecondLines(std::FILE* out, bool live, const selftest::WalkTest& walk) : out_(out), live_(live), walk_(walk) {}

  // The second `at` has begun: prints the ones before it.
  void reach(std::int64_t at) {
    if (at > second_) flush(at);
  }
  void reach_capture_time(std::int64_t ts_ns) {
    if (file_origin_ns_ == 0) file_origin_ns_ = ts_ns;
    reach((ts_ns - file_origin_ns_) / 1'000'000'000);
  }
  void heard(const Sighting& s) {
    ++new_frames_;
    if (s.has_rssi && s.rssi_dbm > loudest_.value_or(std::numeric_limits<int>::min())) {
      loudest_ = s.rssi_dbm;
      loudest_freq_ = s.freq_mhz;
    }
  }
  void finish() { flush(second_ + 1); }

 private:
  void flush(std::int64_t next) {
    if (live_ || new_frames_ > 0) print_second(out_, second_, new_frames_, loudest_, loudest_freq_, walk_);
    second_ = next;
    new_frames_ = 0;
    loudest_.reset();
    loudest_freq_.reset();
  }

  std::FILE* out_;
  bool live_;
  const selftest::WalkTest& walk_;
  std::int64_t second_ = 0;
  std::int64_t file_origin_ns_ = 0;
  std::uint64_t new_frames_ = 0;
  std::optional<int> loudest_;
  std::optional<std::uint16_t> loudest_freq_;
};

// Feeds the phone's frames to the walk test until the file ends, the deadline passes or a signal stops the source;
// returns the exit status (a read error fails).
int follow_walk(capture::PcapSource& source, selftest::WalkTest& walk, double duration_s, std::FILE* out,
                std::FILE* err) {
  const bool live = source.live();
  const auto started = Clock::now();
  const std::optional<Clock::time_point> deadline =
      live && duration_s > 0
          ? std::optional(started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(duration_s)))
          : std::nullopt;
  SecondLines lines(out, live, walk);
  capture::PacketView packet;
  parse::ParsedPacket parsed;
  int status = kExitOk;
  for (;;) {
    if (live) {
      const auto now = Clock::now();
      if (deadline && now >= *deadline) break;
      lines.reach(std::chrono::duration_cast<std::chrono::seconds>(now - started).count());
    }
    const capture::ReadStatus r = source.next(packet);
    if (r == capture::ReadStatus::timeout) continue;
    if (r == capture::ReadStatus::end || r == capture::ReadStatus::stopped) break;
    if (r == capture::ReadStatus::error) {
      std::fprintf(err, "footfall-probe: %s\n", source.error_message().c_str());
      status = kExitFailure;
      break;
    }
    if (!live) lines.reach_capture_time(packet.ts_ns);
    parse::parse_packet_into(parsed, source.link_type(), packet.bytes, packet.wire_length, /*want_ble=*/false);
    const std::optional<Sighting> s = pipeline::to_sighting(parsed, packet.ts_ns);
    if (!s || !walk.add(*s)) continue;
    lines.heard(*s);
  }
  lines.finish();
  return status;
}

void print_walk_summary(std::FILE* out, const MacAddress& phone, const selftest::WalkTest& walk) {
  const selftest::WalkStats s = walk.stats();
  const double span_s = static_cast<double>(s.last_ns - s.first_ns) / 1e9;
  std::fprintf(out, "\nwalk test of %s: %llu frame(s), %llu with a signal, over %.0f s, channels %s\n",
               phone.to_string().c_str(), static_cast<unsigned long long>(s.frames),
               static_cast<unsigned long long>(s.with_signal), span_s, channels_text(s.per_freq).c_str());
  if (s.with_signal > 0)
    std::fprintf(out, "signal: min %d  p10 %d  median %d  p90 %d  max %d dBm\n%s", s.min_dbm, s.p10_dbm, s.median_dbm,
                 s.p90_dbm, s.max_dbm, walk.histogram().c_str());
}

// The visitor threshold the walk suggests, with the line to put in probe.json; false when the walk heard too
// little to propose one.
bool print_proposal(std::FILE* out, const CalibrateOptions& options, const selftest::WalkTest& walk,
                    std::optional<std::int64_t> current_floor) {
  const selftest::ThresholdRule rule{options.percentile, options.margin_db, options.min_frames};
  const auto proposal = walk.propose(rule);
  if (!proposal) {
    std::fprintf(out,
                 "no proposal: %llu frame(s) with a signal, at least %llu needed. Walk again with the phone's WiFi "
                 "settings screen open (it then sends probe requests), and check the address with "
                 "footfall-probe frames.\n",
                 static_cast<unsigned long long>(walk.stats().with_signal),
                 static_cast<unsigned long long>(rule.min_frames));
    std::fflush(out);
    return false;
  }
  std::fprintf(out, "proposed visitor threshold: %d dBm (%s)\n", proposal->threshold_dbm, proposal->rule.c_str());
  if (!proposal->warning.empty()) std::fprintf(out, "warning: %s\n", proposal->warning.c_str());
  if (current_floor)
    std::fprintf(out, "now in %s: presence.signal_floor_dbm %lld\n", options.config_path.c_str(),
                 static_cast<long long>(*current_floor));
  std::fprintf(out, "probe.json: %s\n", selftest::config_line(proposal->threshold_dbm).c_str());
  std::fflush(out);
  return true;
}

}  // namespace

int run_calibrate(const CalibrateOptions& options, std::FILE* out, std::FILE* err) {
  const std::optional<MacAddress> phone = MacAddress::parse(options.mac);
  if (!phone) {
    std::fprintf(err, "footfall-probe: --mac: expected aa:bb:cc:dd:ee:ff, got '%s'\n", options.mac.c_str());
    return kExitUsage;
  }
  std::optional<std::int64_t> current_floor;
  if (!read_current_floor(options.config_path, current_floor, err)) return kExitUsage;
  std::optional<capture::PcapSource> source = open_walk_source(options, err);
  if (!source) return kExitUsage;
  const bool live = source->live();
  std::fprintf(err, "calibrate: %s %s (%s), following %s; walk the entrance line now%s\n",
               live ? "listening on" : "reading", source->name().c_str(), source->link_type_name().c_str(),
               phone->to_string().c_str(), live ? ", Ctrl-C when done" : "");
  std::fflush(err);

  const capture::StopOnSignals stop_on_signals(*source);
  selftest::WalkTest walk(*phone);
  const int status = follow_walk(*source, walk, options.duration_s, out, err);
  print_walk_summary(out, *phone, walk);
  if (!print_proposal(out, options, walk, current_floor)) return status == kExitOk ? kExitFailure : status;
  return status;
}

}  // namespace footfall::probe::commands
