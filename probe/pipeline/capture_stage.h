#pragma once
// The capture half of `footfall-probe run`, on its own thread:
//   source -> parse_packet -> Sighting -> PresenceTracker -> BatchBuilder -> encode -> Spool.append -> doorbell
// It never waits on the network: the uplink reads the spool on the io thread, and when it lags the batches wait
// on disk (the spool's own full-policy, drop_oldest, bounds that). The doorbell to the uplink is a bounded queue
// of one notice that coalesces when full (see Uplink::notify_spooled).
//
// Time. Replaying a file, presence and batch age run on capture time only, so a replay gives the events of the
// live run whatever its pace. Live, the read timeout doubles as a timer: the tracker is also advanced with the
// wall clock, so devices depart during radio silence, and batches seal by wall-clock age.
//
// Resume. Each spooled batch carries the index of the last packet all of whose records are in it or in older
// batches. Batches never split one packet's own records (its sighting, an eviction, its arrival): they are
// added to one batch with room made for them first. Events that fell due before a frame (updates, departures)
// may be split from it, since a restarted tracker knows nothing of those devices and never makes them again.
// So a restart that resumes after the newest batch in the spool (or acked) makes nothing twice.
//
// Stop (signal): the open batch is sealed into the spool and the spool synced. Presence is NOT flushed: a stop is
// not a departure; the devices present arrive afresh after a restart. End of file: everyone departs (cause
// shutdown) into a last batch.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/repeated_log.h"
#include "common/wire/batch_builder.h"
#include "common/wire/codec.h"
#include "probe/capture/pcap_source.h"
#include "probe/parse/drop_reason.h"
#include "probe/pipeline/checkpoint.h"
#include "probe/presence/presence_tracker.h"
#include "probe/spool/shared_spool.h"

namespace footfall::probe::pipeline {

struct CaptureStageOptions {
  presence::PresenceConfig presence;
  wire::BatchLimits batch;
  bool send_sightings = false;
  double speed = 0;                        // file replay: 0 as fast as possible, 1 real time
  std::uint64_t skip_packets = 0;          // file replay: resume after this packet index
  const ReplayCheckpoint* checkpoint = nullptr;  // file replay: saved when spooled events are durable
  std::uint64_t source_id = 0;             // file replay: stored with each batch's packet index (0: live)
  spool::FsyncMode fsync = spool::FsyncMode::group;
  std::int64_t live_tick_ns = 250'000'000; // live: how often time advances without frames
  // Event time from the radiotap TSFT (µs since the Unix epoch) instead of the capture timestamp; time then
  // advances only with frames, never with the wall clock.
  bool radio_clock = false;
};

enum class CaptureOutcome : std::uint8_t { end_of_file, stopped, read_error };
const char* to_string(CaptureOutcome o);

struct CaptureSnapshot {
  std::uint64_t packets_read = 0;     // every packet, skipped ones included
  std::uint64_t packets_skipped = 0;  // before the checkpoint of a resumed replay
  std::uint64_t sightings = 0;
  parse::DropCounters drops;
  std::uint64_t malformed = 0;        // the malformed drop reasons summed (heartbeat parse_drops)
  presence::PresenceCounters presence;
  std::uint64_t batches_spooled = 0;
  std::uint64_t records_spooled = 0;
  std::uint64_t batches_lost = 0;     // could not be encoded or appended (logged, counted)
  std::uint64_t checkpoint_index = 0; // last packet index saved in the checkpoint
  std::uint64_t no_radio_clock = 0;   // radio_clock: packets without a TSFT (not used, counted)
  capture::CaptureStats capture;
};

class CaptureStage {
 public:
  using SpooledCallback = std::function<void()>;

  CaptureStage(capture::PcapSource& source, spool::SharedSpool& spool, CaptureStageOptions options,
               SpooledCallback on_spooled);

  // Runs on the capture thread until the end of the file, stop() or a read error.
  CaptureOutcome run();
  // Any thread (not a signal handler: it locks).
  void stop() noexcept;

  [[nodiscard]] CaptureSnapshot snapshot() const;
  [[nodiscard]] std::string error() const;

 private:
  class Sink;
  void on_event(const PresenceEvent& e);
  void seal_if_due(std::int64_t now_ns);
  void seal_now();
  void spool_batch(wire::Batch& batch);
  void after_spool_write();
  bool pace(std::int64_t ts_ns);
  void tick(std::int64_t wall_ns);
  void publish();

  capture::PcapSource& source_;
  spool::SharedSpool& spool_;
  CaptureStageOptions options_;
  SpooledCallback on_spooled_;

  presence::PresenceTracker tracker_;
  wire::BatchBuilder builder_;
  wire::Encoder encoder_;
  std::vector<std::uint8_t> frame_;
  std::int64_t now_ns_ = 0;             // the builder's clock: capture time (file) or wall time (live)
  std::uint64_t completed_index_ = 0;   // every event of packets up to here has been handed to the builder
  std::uint64_t pending_checkpoint_ = 0;
  bool checkpoint_pending_ = false;
  bool in_packet_ = false;  // adding one packet's own records: they stay together in one batch
  std::uint64_t syncs_seen_ = 0;

  bool pacing_started_ = false;
  std::int64_t pace_first_ts_ = 0;
  std::chrono::steady_clock::time_point pace_start_{};

  CaptureSnapshot stats_;  // capture thread's own copy
  // A full spool disk loses every batch: one line per 10 s with the count (stats_ counts each one).
  RepeatedLog lost_log_{spdlog::level::err};
  RepeatedLog checkpoint_log_{spdlog::level::warn};
  mutable std::mutex published_mutex_;
  CaptureSnapshot published_;
  std::string error_;

  std::atomic<bool> stop_{false};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
};

}  // namespace footfall::probe::pipeline
