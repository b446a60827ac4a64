#include "probe/commands/run_command.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "common/log/log_lines.h"
#include "common/wire/frame.h"
#include "probe/capture/pcap_source.h"
#include "probe/commands/frames_command.h"
#include "probe/config/probe_config.h"
#include "probe/pipeline/capture_stage.h"
#include "probe/pipeline/checkpoint.h"
#include "probe/pipeline/process_stats.h"
#include "probe/uplink/uplink.h"

#ifndef FOOTFALL_VERSION
#define FOOTFALL_VERSION "0.1.0"
#endif

namespace footfall::probe::commands {

namespace {

namespace asio = boost::asio;

spool::SpoolLimits spool_limits(const config::ProbeConfig& c) {
  spool::SpoolLimits limits;
  limits.max_total_bytes = static_cast<std::uint64_t>(c.spool.max_mb) << 20;
  // Several segments even in a small spool, so a full spool drops a fraction of it, not all of it.
  limits.segment_bytes = std::min<std::uint64_t>(1ull << 20, limits.max_total_bytes / 8);
  limits.full_policy = spool::FullPolicy::drop_oldest;
  // A record is one batch frame: at most what the gateway's decoder accepts, which the encoder never exceeds.
  limits.max_record_bytes =
      static_cast<std::uint32_t>(wire::kFrameHeaderBytes + wire::kDefaultMaxFrameBody + wire::kFrameTrailerBytes);
  return limits;
}

// The smallest spool that holds one largest record beside a segment and a record header.
std::uint64_t min_spool_mb() {
  const std::uint64_t bytes = spool::kSegmentHeaderBytes + spool::kRecordHeaderBytes + wire::kFrameHeaderBytes +
                              wire::kDefaultMaxFrameBody + wire::kFrameTrailerBytes;
  return (bytes + (1u << 20) - 1) >> 20;
}

capture::LiveOptions live_options(const config::ProbeConfig::Source& s) {
  capture::LiveOptions live;
  live.interface = s.interface;
  live.monitor = s.monitor;
  live.snaplen = static_cast<int>(s.snaplen);
  live.buffer_bytes = static_cast<int>(s.buffer_kb * 1024);
  live.filter = s.filter;
  return live;
}

uplink::UplinkConfig uplink_config(const config::ProbeConfig& c) {
  uplink::UplinkConfig u;
  u.probe_id = c.probe_id;
  u.token = c.token;
  u.software_version = FOOTFALL_VERSION;
  u.host = c.gateway.host;
  u.port = static_cast<std::uint16_t>(c.gateway.port);
  u.tls = c.gateway.tls;
  u.window = static_cast<std::uint32_t>(c.uplink.window);
  u.backoff = {std::chrono::milliseconds(c.uplink.backoff_initial_ms), std::chrono::milliseconds(c.uplink.backoff_max_ms)};
  u.connect_timeout = std::chrono::milliseconds(c.uplink.connect_timeout_ms);
  u.ack_timeout = std::chrono::milliseconds(c.uplink.ack_timeout_ms);
  u.heartbeat_interval = std::chrono::seconds(c.heartbeat_s);
  u.replaying_file = c.replaying_file();
  return u;
}

void log_summary(const pipeline::CaptureSnapshot& s, const uplink::UplinkCounters& u, const spool::SpoolDepth& d) {
  spdlog::info(
      "summary: packets_read={} skipped={} sightings={} malformed={} arrivals={} departures={} evictions={} "
      "batches_spooled={} batches_lost={} checkpoint={} no_radio_clock={}",
      s.packets_read, s.packets_skipped, s.sightings, s.malformed, s.presence.arrivals, s.presence.departures,
      s.presence.evictions, s.batches_spooled, s.batches_lost, s.checkpoint_index, s.no_radio_clock);
  spdlog::info(
      "summary: uplink connects={} connect_failures={} refusals={} disconnects={} ack_timeouts={} batches_sent={} "
      "batches_resent={} batches_acked={} bytes_sent={} heartbeats={}",
      u.connects, u.connect_failures, u.refusals, u.disconnects, u.ack_timeouts, u.batches_sent, u.batches_resent,
      u.batches_acked, u.bytes_sent, u.heartbeats_sent);
  spdlog::info("summary: spool unacked_batches={} unacked_bytes={} full_drop_batches={} torn={} corrupt={}",
               d.unacked_records, d.unacked_bytes, d.full_drop_records, d.torn_records, d.corrupt_records);
  if (s.capture.have_pcap_stats)
    spdlog::info("summary: pcap_received={} pcap_dropped={} pcap_if_dropped={}", s.capture.pcap_received,
                 s.capture.pcap_dropped, s.capture.pcap_if_dropped);
}

// The capture source probe.json names; nullopt after saying why on `err`.
std::optional<capture::PcapSource> open_source(const config::ProbeConfig& cfg, std::FILE* err) {
  try {
    if (cfg.replaying_file()) return capture::PcapSource::open_file(cfg.source.file);
    return capture::PcapSource::open_live(live_options(cfg.source));
  } catch (const capture::CaptureError& e) {
    std::fprintf(err, "footfall-probe: %s: %s\n", cfg.replaying_file() ? "source.file" : "source.interface", e.what());
    return std::nullopt;
  }
}

// Where a replayed file resumes: after its checkpoint, or after the newest batch spooled from it.
struct ReplayResume {
  std::optional<pipeline::ReplayCheckpoint> checkpoint;
  std::uint64_t skip_packets = 0;
  std::uint64_t source_id = 0;
};

ReplayResume resume_replay(const config::ProbeConfig& cfg, spool::Spool& spool) {
  ReplayResume resume;
  if (!cfg.replaying_file()) return resume;
  const auto identity = pipeline::identify_replay_file(cfg.source.file);
  if (!identity) return resume;
  resume.checkpoint.emplace(cfg.spool.dir, *identity);
  resume.source_id = pipeline::replay_source_id(*identity);
  std::string note;
  resume.skip_packets = resume.checkpoint->load(note);
  spdlog::info("replay {}: {}", cfg.source.file, note);
  // The newest batch in the spool (or acked) is usually past the checkpoint file, which lags until a sync.
  if (const auto newest = spool.newest_record(); newest && newest->position.source == resume.source_id &&
                                                   newest->position.index > resume.skip_packets) {
    resume.skip_packets = newest->position.index;
    spdlog::info("replay {}: resuming after packet {}, the position of batch {} (the newest in the spool or acked)",
                 cfg.source.file, resume.skip_packets, newest->seq);
  }
  return resume;
}

// What a heartbeat tells the gateway: capture and parse losses, the spool's depth and the process's load.
wire::Heartbeat heartbeat_of(const pipeline::CaptureSnapshot& s, const spool::SpoolDepth& d,
                             pipeline::ProcessSampler& sampler, std::chrono::steady_clock::duration uptime) {
  wire::Heartbeat hb;
  hb.capture_received = s.capture.have_pcap_stats ? s.capture.pcap_received : s.packets_read;
  hb.capture_dropped = s.capture.pcap_dropped;
  hb.capture_if_dropped = s.capture.pcap_if_dropped;
  hb.parse_drops = s.malformed;
  hb.cpu_permille = sampler.cpu_permille();
  hb.rss_bytes = pipeline::ProcessSampler::rss_bytes();
  hb.spool_records = d.unacked_records;
  hb.spool_bytes = d.unacked_bytes;
  hb.spool_full_drop_records = d.full_drop_records;
  hb.spool_full_drop_bytes = d.full_drop_bytes;
  hb.uptime_ns =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(uptime).count());
  return hb;
}

pipeline::CaptureStageOptions capture_stage_options(const config::ProbeConfig& cfg, ReplayResume& resume) {
  pipeline::CaptureStageOptions o;
  o.presence = config::presence_config(cfg.presence);
  o.batch.max_records = static_cast<std::size_t>(cfg.batch.max_records);
  o.batch.max_age_ns = cfg.batch.max_age_ms * 1'000'000;
  o.send_sightings = cfg.batch.send_sightings;
  o.speed = cfg.source.speed;
  o.radio_clock = cfg.source.clock == "radio";
  o.skip_packets = resume.skip_packets;
  o.checkpoint = resume.checkpoint ? &*resume.checkpoint : nullptr;
  o.source_id = resume.source_id;
  o.fsync = cfg.spool.fsync;
  return o;
}

void log_start(const config::ProbeConfig& cfg, const capture::PcapSource& source) {
  if (source.live())
    spdlog::info("probe '{}' listening on {} (link type {}, filter '{}'), gateway {}:{}", cfg.probe_id, source.name(),
                 source.link_type_name(), source.filter(), cfg.gateway.host, cfg.gateway.port);
  else
    spdlog::info("probe '{}' replaying {} at {}, gateway {}:{}", cfg.probe_id, source.name(),
                 cfg.source.speed == 0 ? std::string("full speed") : std::to_string(cfg.source.speed) + "x",
                 cfg.gateway.host, cfg.gateway.port);
}

// How a run ends, on the io thread: SIGINT / SIGTERM stop the capture; the capture's end finishes the run, or, at
// the end of a file, starts the drain: wait (bounded) until the gateway has acked the whole spool.
class RunEnding {
 public:
  RunEnding(asio::io_context& io, uplink::Uplink& link, spool::SharedSpool& shared, pipeline::CaptureStage& stage,
            std::int64_t drain_timeout_s)
      : link_(link), shared_(shared), stage_(stage), drain_timeout_s_(drain_timeout_s), signals_(io, SIGINT, SIGTERM),
        drain_timer_(io) {}

  void watch() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signal_number) {
      if (ec) return;
      spdlog::info("signal {}: sealing the open batch into the spool and stopping", signal_number);
      stage_.stop();
      if (draining_) finish(kExitOk);  // the capture thread is done already: nothing more to wait for
    });
    link_.on_acked([this] {
      if (draining_ && spool_empty()) {
        spdlog::info("drain: the gateway acked the whole spool");
        finish(kExitOk);
      }
    });
  }

  void on_capture_outcome(pipeline::CaptureOutcome outcome) {
    if (finished_) return;
    if (outcome == pipeline::CaptureOutcome::read_error) {
      spdlog::error("capture stopped: read error: {}", stage_.error());
      return finish(kExitFailure);
    }
    if (outcome == pipeline::CaptureOutcome::stopped) return finish(kExitOk);
    // End of file: everything is spooled; wait (bounded) until the gateway holds all of it.
    if (spool_empty()) return finish(kExitOk);
    drain();
  }

  [[nodiscard]] int exit_status() const { return exit_status_; }

 private:
  void drain() {
    draining_ = true;
    spdlog::info("end of file: waiting up to {} s for the gateway to ack the spool", drain_timeout_s_);
    drain_timer_.expires_after(std::chrono::seconds(drain_timeout_s_));
    drain_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      const auto left = shared_.with([](spool::Spool& s) { return s.depth().unacked_records; });
      spdlog::error("drain timed out: {} batches stay in the spool for the next run", left);
      finish(kExitFailure);
    });
  }

  void finish(int status) {
    if (finished_) return;
    finished_ = true;
    exit_status_ = status;
    link_.stop();
    signals_.cancel();
    drain_timer_.cancel();
  }

  bool spool_empty() { return shared_.with([](spool::Spool& s) { return s.depth().unacked_records == 0; }); }

  uplink::Uplink& link_;
  spool::SharedSpool& shared_;
  pipeline::CaptureStage& stage_;
  std::int64_t drain_timeout_s_;
  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  int exit_status_ = kExitOk;
  bool finished_ = false;
  bool draining_ = false;
};

}  // namespace

int run_probe(const RunOptions& options, std::FILE* out, std::FILE* err) {
  if (options.help_config) {
    const std::string table = config::probe_options_help();
    std::fputs(table.c_str(), out);
    return kExitOk;
  }
  const config::ConfigResult loaded = config::load_probe_config(options.config_path);
  if (!loaded.config) {
    std::fprintf(err, "footfall-probe: %s\n", loaded.error.c_str());
    return kExitUsage;
  }
  const config::ProbeConfig& cfg = *loaded.config;
  // Log lines go to the command's error stream (stderr from main; a file in tests).
  log::use_log_lines("footfall-probe", options.log_format, err, cfg.log_level);
  // The error stream may not outlive this call: whatever the exit path, later log lines go to stderr.
  struct RestoreLogging {
    log::LogFormat format;
    std::string level;
    ~RestoreLogging() { log::use_log_lines("footfall-probe", format, stderr, level); }
  } const restore_logging{options.log_format, cfg.log_level};

  if (static_cast<std::uint64_t>(cfg.spool.max_mb) < min_spool_mb()) {
    std::fprintf(err, "footfall-probe: spool.max_mb: %llu MiB cannot hold one batch of up to %u KiB (the frame limit) "
                      "beside the spool's headers: at least %llu\n",
                 static_cast<unsigned long long>(cfg.spool.max_mb), wire::kDefaultMaxFrameBody >> 10,
                 static_cast<unsigned long long>(min_spool_mb()));
    return kExitUsage;
  }
  spool::OpenResult opened = spool::Spool::open(cfg.spool.dir, spool_limits(cfg), {cfg.spool.fsync, 16, 5'000'000'000});
  if (!opened.spool) {
    std::fprintf(err, "footfall-probe: spool.dir: %s\n", opened.error.message().c_str());
    return kExitFailure;
  }
  spool::Spool& spool = *opened.spool;

  std::optional<capture::PcapSource> source = open_source(cfg, err);
  if (!source) return kExitUsage;
  if (!source->warnings().empty()) spdlog::warn("capture: {}", source->warnings());
  ReplayResume resume = resume_replay(cfg, spool);

  asio::io_context io;
  spool::SharedSpool shared(spool);
  pipeline::ProcessSampler sampler;
  const auto started = std::chrono::steady_clock::now();
  std::optional<pipeline::CaptureStage> stage;
  auto heartbeat = [&] {
    const pipeline::CaptureSnapshot snapshot = stage->snapshot();
    return heartbeat_of(snapshot, shared.with([](spool::Spool& sp) { return sp.depth(); }), sampler,
                        std::chrono::steady_clock::now() - started);
  };
  std::optional<uplink::Uplink> link;
  try {
    link.emplace(io, uplink_config(cfg), shared, heartbeat);
  } catch (const std::exception& e) {
    std::fprintf(err, "footfall-probe: %s\n", e.what());
    return kExitUsage;
  }
  stage.emplace(*source, shared, capture_stage_options(cfg, resume), [&link] { link->notify_spooled(); });

  RunEnding ending(io, *link, shared, *stage, cfg.drain_timeout_s);
  ending.watch();
  log_start(cfg, *source);
  link->start();

  // io.run() must not return while the capture thread may still post its outcome.
  auto capture_running = asio::make_work_guard(io);
  std::thread capture_thread([&] {
    const pipeline::CaptureOutcome outcome = stage->run();
    asio::post(io, [&, outcome] {
      capture_running.reset();
      ending.on_capture_outcome(outcome);
    });
  });

  io.run();
  capture_thread.join();
  log_summary(stage->snapshot(), link->counters(), shared.with([](spool::Spool& s) { return s.depth(); }));
  spdlog::default_logger()->flush();
  return ending.exit_status();
}

}  // namespace footfall::probe::commands
