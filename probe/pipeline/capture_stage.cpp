#include "probe/pipeline/capture_stage.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "common/clock.h"
#include "probe/parse/packet.h"
#include "probe/pipeline/sighting.h"

namespace footfall::probe::pipeline {

namespace {

constexpr std::uint64_t kPublishEveryPackets = 1024;
constexpr int kSpoolSeqRetries = 4;
// One packet's own records at most: its sighting, the departure of a device evicted for it, its arrival; one
// spare.
constexpr std::size_t kPacketRecords = 4;

}  // namespace

const char* to_string(CaptureOutcome o) {
  switch (o) {
    case CaptureOutcome::end_of_file: return "end_of_file";
    case CaptureOutcome::stopped: return "stopped";
    case CaptureOutcome::read_error: return "read_error";
  }
  return "?";
}

class CaptureStage::Sink final : public presence::PresenceSink {
 public:
  explicit Sink(CaptureStage& stage) : stage_(stage) {}
  void on_presence(const PresenceEvent& event, presence::DepartureCause) override { stage_.on_event(event); }

 private:
  CaptureStage& stage_;
};

CaptureStage::CaptureStage(capture::PcapSource& source, spool::SharedSpool& spool, CaptureStageOptions options,
                           SpooledCallback on_spooled)
    : source_(source),
      spool_(spool),
      options_(options),
      on_spooled_(std::move(on_spooled)),
      tracker_(options.presence),
      builder_(options.batch, 1) {}

void CaptureStage::stop() noexcept {
  {
    const std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  source_.request_stop();
}

CaptureSnapshot CaptureStage::snapshot() const {
  const std::lock_guard lock(published_mutex_);
  return published_;
}

std::string CaptureStage::error() const {
  const std::lock_guard lock(published_mutex_);
  return error_;
}

void CaptureStage::publish() {
  stats_.presence = tracker_.counters();
  stats_.malformed = 0;
  for (std::size_t i = 0; i < parse::kDropReasonCount; ++i)
    if (parse::is_malformed(static_cast<parse::DropReason>(i))) stats_.malformed += stats_.drops.by_reason[i];
  const std::lock_guard lock(published_mutex_);
  published_ = stats_;
}

void CaptureStage::on_event(const PresenceEvent& e) {
  builder_.add(e, now_ns_);
  // A packet's own records are sealed after the packet (room was made before it).
  if (in_packet_ && builder_.has_room(1)) return;
  // Count and size limits are checked per record so a burst of departures never overfills a batch.
  const wire::SealReason why = builder_.due(now_ns_);
  if (why == wire::SealReason::count || why == wire::SealReason::bytes) seal_if_due(now_ns_);
}

void CaptureStage::seal_if_due(std::int64_t now_ns) {
  if (auto batch = builder_.seal_if_due(now_ns)) spool_batch(*batch);
}

void CaptureStage::seal_now() {
  if (auto batch = builder_.seal_now()) spool_batch(*batch);
}

void CaptureStage::spool_batch(wire::Batch& batch) {
  const std::size_t records = batch.body.events.size() + batch.body.sightings.size();
  // The spool owns sequence numbers: one above everything it holds or the gateway acked (ack_through raises it),
  // so a probe whose spool was wiped never reuses a seq the gateway already has. Encoding happens outside the
  // lock; if the uplink raised the floor meanwhile, encode again.
  spool::SpoolError error;
  bool appended = false;
  for (int attempt = 0; attempt < kSpoolSeqRetries && !appended; ++attempt) {
    batch.seq = spool_.with([](spool::Spool& s) { return s.last_seq() + 1; });
    frame_.clear();
    if (auto bad = encoder_.encode(batch, frame_)) {
      lost_log_("capture: batch of {} records lost: cannot encode: {}", records, wire::to_string(*bad));
      ++stats_.batches_lost;
      return;
    }
    const spool::SourcePosition position =
        options_.source_id != 0 ? spool::SourcePosition{options_.source_id, completed_index_} : spool::SourcePosition{};
    error = spool_.with([&](spool::Spool& s) { return s.append(batch.seq, frame_, clock::wall_ns(), position); });
    if (!error) appended = true;
    if (error.code != spool::SpoolErrc::seq_not_increasing) break;
  }
  if (!appended) {
    lost_log_("capture: batch of {} records lost: spool: {}", records, error.message());
    ++stats_.batches_lost;
    return;
  }
  ++stats_.batches_spooled;
  stats_.records_spooled += records;
  pending_checkpoint_ = completed_index_;
  checkpoint_pending_ = true;
  after_spool_write();
  if (on_spooled_) on_spooled_();
}

// The checkpoint may only name packets whose events are as durable as the fsync policy promises.
void CaptureStage::after_spool_write() {
  if (!options_.checkpoint || !checkpoint_pending_) return;
  const std::uint64_t syncs = spool_.with([](spool::Spool& s) { return s.depth().syncs; });
  if (options_.fsync != spool::FsyncMode::never && syncs == syncs_seen_) return;
  syncs_seen_ = syncs;
  std::string why;
  if (!options_.checkpoint->save(pending_checkpoint_, why)) {
    checkpoint_log_("capture: checkpoint not saved: {}", why);
    return;
  }
  checkpoint_pending_ = false;
  stats_.checkpoint_index = pending_checkpoint_;
}

bool CaptureStage::pace(std::int64_t ts_ns) {
  if (!pacing_started_) {
    pacing_started_ = true;
    pace_first_ts_ = ts_ns;
    pace_start_ = std::chrono::steady_clock::now();
    return !stop_;
  }
  const double offset_ns = static_cast<double>(ts_ns - pace_first_ts_) / options_.speed;
  const auto due = pace_start_ + std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(offset_ns, 0.0)));
  std::unique_lock lock(stop_mutex_);
  stop_cv_.wait_until(lock, due, [this] { return stop_.load(); });
  return !stop_;
}

void CaptureStage::tick(std::int64_t wall) {
  Sink sink(*this);
  now_ns_ = wall;
  // On the radio clock, site time is whatever the frames say: the wall clock must not end presences.
  if (!options_.radio_clock) tracker_.advance(wall, sink);
  seal_if_due(wall);
  (void)spool_.with([&](spool::Spool& s) { return s.sync_if_due(wall); });
  after_spool_write();
  stats_.capture = source_.stats();
  publish();
}

CaptureOutcome CaptureStage::run() {
  Sink sink(*this);
  const bool live = source_.live();
  const int link_type = source_.link_type();
  std::int64_t last_tick = clock::wall_ns();
  CaptureOutcome outcome = CaptureOutcome::end_of_file;
  capture::PacketView packet;

  for (;;) {
    if (stop_) {
      outcome = CaptureOutcome::stopped;
      break;
    }
    if (live) {
      const std::int64_t wall = clock::wall_ns();
      if (wall - last_tick >= options_.live_tick_ns) {
        last_tick = wall;
        tick(wall);
      }
    }
    const capture::ReadStatus status = source_.next(packet);
    if (status == capture::ReadStatus::timeout) continue;
    if (status == capture::ReadStatus::stopped) {
      outcome = CaptureOutcome::stopped;
      break;
    }
    if (status == capture::ReadStatus::end) {
      outcome = live ? CaptureOutcome::read_error : CaptureOutcome::end_of_file;
      break;
    }
    if (status == capture::ReadStatus::error) {
      const std::lock_guard lock(published_mutex_);
      error_ = source_.error_message();
      outcome = CaptureOutcome::read_error;
      break;
    }
    const std::uint64_t index = ++stats_.packets_read;
    if (index <= options_.skip_packets) {
      ++stats_.packets_skipped;
      completed_index_ = index;
      continue;
    }
    if (!live && options_.speed > 0 && !pace(packet.ts_ns)) {
      --stats_.packets_read;  // not processed: a resume must see it again
      outcome = CaptureOutcome::stopped;
      break;
    }
    now_ns_ = live ? clock::wall_ns() : packet.ts_ns;
    const parse::ParsedPacket parsed = parse::parse_packet(link_type, packet.bytes, packet.wire_length, false);
    if (parsed.what == parse::ParsedPacket::What::dropped) {
      stats_.drops.count(parsed.reason);
    } else if (options_.radio_clock && !parsed.radio.tsft_us) {
      ++stats_.no_radio_clock;
    } else if (const auto sighting = to_sighting(
                   parsed, options_.radio_clock ? static_cast<std::int64_t>(*parsed.radio.tsft_us) * 1000 : packet.ts_ns)) {
      ++stats_.sightings;
      // What fell due before this frame first (batches sealed among it name the previous packet), then this
      // packet's own records, in one batch.
      tracker_.advance(sighting->ts_ns, sink);
      if (!builder_.has_room(kPacketRecords)) seal_now();
      in_packet_ = true;
      if (options_.send_sightings) builder_.add(*sighting, now_ns_);
      tracker_.on_sighting(*sighting, sink);
      in_packet_ = false;
    }
    completed_index_ = index;
    seal_if_due(now_ns_);
    if (index % kPublishEveryPackets == 0) {
      if (!live) {
        (void)spool_.with([](spool::Spool& s) { return s.sync_if_due(clock::wall_ns()); });
        after_spool_write();
      }
      publish();
    }
  }

  // A stop is not a departure: only the end of a replayed file ends every presence.
  if (outcome == CaptureOutcome::end_of_file) tracker_.flush(sink);
  seal_now();
  const spool::SpoolError synced = spool_.with([](spool::Spool& s) { return s.sync(); });
  if (synced) spdlog::error("capture: spool sync failed: {}", synced.message());
  // Everything handed to the builder is now spooled and synced: the checkpoint can name the last packet read.
  if (options_.checkpoint && !synced && completed_index_ != stats_.checkpoint_index) {
    std::string why;
    if (options_.checkpoint->save(completed_index_, why)) {
      checkpoint_pending_ = false;
      stats_.checkpoint_index = completed_index_;
    } else {
      checkpoint_log_("capture: checkpoint not saved: {}", why);
    }
  }
  // What the limits held back is written before the run's summary line.
  lost_log_.flush();
  checkpoint_log_.flush();
  stats_.capture = source_.stats();
  publish();
  return outcome;
}

}  // namespace footfall::probe::pipeline
