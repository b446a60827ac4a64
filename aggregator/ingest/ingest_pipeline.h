#pragma once
// Messages -> parse -> bounded queue -> store writer thread. submit() is called by the MQTT callback (or
// the file reader); it parses on the caller's thread (a malformed payload is counted by reason and
// dropped, never fatal) and queues the batch for the one writer thread, which stores it in one
// transaction. With wait_durable, submit() returns only once the batch is committed: the MQTT client
// drops its own persisted copy of a message when the callback returns, so nothing acknowledged to the
// broker can be lost by a crash in between.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "aggregator/ingest/batch_queue.h"
#include "common/repeated_log.h"
#include "aggregator/ingest/ingest_batch.h"
#include "aggregator/store/site_store.h"

namespace footfall::aggregator {

struct IngestCounters {
  std::uint64_t messages = 0;                         // submitted
  std::uint64_t status_messages = 0;                  // .../status: not stored
  std::map<std::string, std::uint64_t> malformed;     // by parse reason
  std::uint64_t batches_stored = 0;
  std::uint64_t batches_duplicate = 0;                // batch_id seen before: skipped
  std::uint64_t visits_stored = 0;
  std::uint64_t visits_duplicate = 0;                 // visit_id seen before (another batch): skipped
  std::uint64_t sales_stored = 0;
  std::uint64_t sales_duplicate = 0;
  std::uint64_t occupancy_samples = 0;
  std::uint64_t probe_updates = 0;
  std::uint64_t store_errors = 0;                     // failed attempts (retried)
  std::uint64_t abandoned = 0;                        // batches given up at shutdown while the store failed
  BatchQueue<int>::Stats queue;
};

enum class SubmitOutcome : std::uint8_t { stored, queued, malformed, ignored, refused };

class IngestPipeline {
 public:
  using Clock = std::function<TimeMs()>;
  // writers: threads storing batches at once (1 for SQLite; the PostgreSQL store lends each its connection).
  IngestPipeline(SiteStore& store, std::size_t queue_capacity, Clock clock, std::size_t writers = 1);
  ~IngestPipeline();
  IngestPipeline(const IngestPipeline&) = delete;
  IngestPipeline& operator=(const IngestPipeline&) = delete;

  // Any thread. stored (wait_durable) or queued on success; refused once stop() began.
  SubmitOutcome submit(std::string_view topic, std::string_view payload, bool wait_durable);

  // Drains the queue and joins the writer. While the store keeps failing, the writer retries every
  // second until abandon() is called.
  void stop();
  void abandon() { abandon_ = true; }
  // Waits until everything queued so far is stored (ingest-file).
  void drain();

  [[nodiscard]] IngestCounters counters() const;
  // A batch is waiting for the store to work again.
  [[nodiscard]] bool retrying() const { return retrying_; }
  // Sites that got new visits, sales or occupancy since the last call.
  std::set<SiteKey> take_dirty_sites();
  // The newest occupancy sample of each site stored since the last call (an older one of the same site is
  // superseded, so this holds one sample per site).
  std::map<SiteKey, OccupancySample> take_occupancy();
  // Counters that moved since the last call, as one log line ("" when nothing moved).
  std::string progress_line();

 private:
  struct Item {
    IngestBatch batch;
    TimeMs received_at = 0;
    std::shared_ptr<std::promise<bool>> done;  // set when durable (true) or abandoned (false)
  };
  void write_loop();

  SiteStore& store_;
  Clock clock_;
  BatchQueue<Item> queue_;
  std::vector<std::thread> writers_;
  std::atomic<bool> abandon_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> retrying_{false};

  mutable std::mutex mutex_;  // counters_, dirty_, occupancy_, in_flight_
  std::condition_variable idle_;
  IngestCounters counters_;
  std::uint64_t in_flight_ = 0;
  std::set<SiteKey> dirty_;
  std::map<SiteKey, OccupancySample> occupancy_;  // newest per site, under mutex_
  std::string last_progress_;
  // A broken or hostile sender: the first malformed payload of each reason, then a count every 10 s.
  std::map<std::string, std::unique_ptr<RepeatedLog>, std::less<>> malformed_logs_;  // under mutex_
  RepeatedLog store_failed_log_{spdlog::level::err};
  RepeatedLog store_refused_log_{spdlog::level::warn};
};

}  // namespace footfall::aggregator
