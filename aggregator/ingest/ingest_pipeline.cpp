#include "aggregator/ingest/ingest_pipeline.h"

#include <algorithm>
#include <sstream>
#include <variant>

#include <spdlog/spdlog.h>

#include "aggregator/ingest/payload_parser.h"

namespace footfall::aggregator {

IngestPipeline::IngestPipeline(SiteStore& store, std::size_t queue_capacity, Clock clock, std::size_t writers)
    : store_(store), clock_(std::move(clock)), queue_(queue_capacity) {
  for (std::size_t i = 0; i < std::max<std::size_t>(1, writers); ++i) writers_.emplace_back([this] { write_loop(); });
}

IngestPipeline::~IngestPipeline() {
  abandon_ = true;
  stop();
}

SubmitOutcome IngestPipeline::submit(std::string_view topic, std::string_view payload, bool wait_durable) {
  {
    std::lock_guard lock(mutex_);
    ++counters_.messages;
  }
  if (stopping_) return SubmitOutcome::refused;
  const auto where = parse_topic(topic);
  if (where && where->kind == FeedKind::status) {
    std::lock_guard lock(mutex_);
    ++counters_.status_messages;
    return SubmitOutcome::ignored;
  }
  ParseResult parsed = where ? parse_payload(*where, payload)
                             : ParseResult(ParseError{"bad_topic", std::string(topic) + ": not a footfall/v1 data topic"});
  if (auto* bad = std::get_if<ParseError>(&parsed)) {
    std::uint64_t n = 0;
    RepeatedLog* log = nullptr;
    {
      std::lock_guard lock(mutex_);
      n = ++counters_.malformed[bad->reason];
      auto& slot = malformed_logs_[bad->reason];
      if (!slot) slot = std::make_unique<RepeatedLog>(spdlog::level::warn);
      log = slot.get();
    }
    (*log)("ingest: malformed payload on {} ({} #{}): {}", topic, bad->reason, n, bad->detail);
    return SubmitOutcome::malformed;
  }
  Item item{std::move(std::get<IngestBatch>(parsed)), clock_(), std::make_shared<std::promise<bool>>()};
  auto done = item.done->get_future();
  {
    std::lock_guard lock(mutex_);
    ++in_flight_;
  }
  if (!queue_.push(std::move(item))) {
    std::lock_guard lock(mutex_);
    --in_flight_;
    idle_.notify_all();
    return SubmitOutcome::refused;
  }
  if (!wait_durable) return SubmitOutcome::queued;
  return done.get() ? SubmitOutcome::stored : SubmitOutcome::refused;
}

void IngestPipeline::write_loop() {
  while (auto item = queue_.pop()) {
    bool stored = false;
    bool refused = false;
    BatchOutcome out;
    while (!stored && !refused) {
      try {
        out = store_.store_batch(item->batch, item->received_at);
        stored = true;
      } catch (const StoreRefused& e) {
        // The store can never take it: counted and refused whole like a malformed payload (the message is
        // acknowledged), instead of blocking the feed behind it forever.
        refused = true;
        std::uint64_t n = 0;
        {
          std::lock_guard lock(mutex_);
          n = ++counters_.malformed["store_refused"];
        }
        store_refused_log_("store: batch {} of {}/{} refused by the store (store_refused #{}): {}", item->batch.batch_id,
                           item->batch.tenant, item->batch.site, n, e.what());
      } catch (const std::exception& e) {
        {
          std::lock_guard lock(mutex_);
          ++counters_.store_errors;
        }
        retrying_ = true;
        store_failed_log_("store: batch {} not stored, retrying in 1 s: {}", item->batch.batch_id, e.what());
        if (abandon_) break;
        std::unique_lock lock(mutex_);
        idle_.wait_for(lock, std::chrono::seconds(1), [&] { return abandon_.load(); });
        if (abandon_) break;
      }
    }
    retrying_ = false;
    {
      std::lock_guard lock(mutex_);
      if (refused) {
        // counted above, as malformed.store_refused
      } else if (!stored) {
        ++counters_.abandoned;
      } else if (out.duplicate_batch) {
        ++counters_.batches_duplicate;
      } else {
        ++counters_.batches_stored;
        counters_.visits_stored += static_cast<std::uint64_t>(out.visits_new);
        counters_.visits_duplicate += static_cast<std::uint64_t>(out.visits_duplicate);
        counters_.sales_stored += static_cast<std::uint64_t>(out.sales_new);
        counters_.sales_duplicate += static_cast<std::uint64_t>(out.sales_duplicate);
        counters_.occupancy_samples += static_cast<std::uint64_t>(out.occupancy_new);
        counters_.probe_updates += static_cast<std::uint64_t>(out.probes_updated);
        if (out.visits_new + out.sales_new + out.occupancy_new > 0)
          dirty_.insert(SiteKey{item->batch.tenant, item->batch.site});
        if (out.occupancy_new > 0 && item->batch.occupancy) {
          const SiteKey key{item->batch.tenant, item->batch.site};
          const auto it = occupancy_.find(key);
          if (it == occupancy_.end() || it->second.at <= item->batch.occupancy->at)
            occupancy_.insert_or_assign(key, *item->batch.occupancy);
        }
      }
      --in_flight_;
      idle_.notify_all();
    }
    item->done->set_value(stored || refused);
  }
}

void IngestPipeline::stop() {
  stopping_ = true;
  queue_.close();
  for (std::thread& w : writers_)
    if (w.joinable()) w.join();
}

void IngestPipeline::drain() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return in_flight_ == 0; });
}

IngestCounters IngestPipeline::counters() const {
  std::lock_guard lock(mutex_);
  IngestCounters c = counters_;
  const auto q = queue_.stats();
  c.queue = {q.capacity, q.depth, q.high_water, q.pushed, q.full_waits};
  return c;
}

std::set<SiteKey> IngestPipeline::take_dirty_sites() {
  std::lock_guard lock(mutex_);
  return std::exchange(dirty_, {});
}

std::map<SiteKey, OccupancySample> IngestPipeline::take_occupancy() {
  std::lock_guard lock(mutex_);
  return std::exchange(occupancy_, {});
}

std::string IngestPipeline::progress_line() {
  const IngestCounters c = counters();
  std::ostringstream line;
  line << "messages=" << c.messages << " batches_stored=" << c.batches_stored
       << " batches_duplicate=" << c.batches_duplicate << " visits_stored=" << c.visits_stored
       << " visits_duplicate=" << c.visits_duplicate << " sales_stored=" << c.sales_stored
       << " occupancy_samples=" << c.occupancy_samples << " probe_updates=" << c.probe_updates
       << " store_errors=" << c.store_errors << " queue_full_waits=" << c.queue.full_waits
       << " queue_high_water=" << c.queue.high_water;
  for (const auto& [reason, n] : c.malformed) line << " malformed." << reason << "=" << n;
  std::string text = line.str();
  if (text == last_progress_) return {};
  last_progress_ = text;
  return text;
}

}  // namespace footfall::aggregator
