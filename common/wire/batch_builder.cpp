#include "common/wire/batch_builder.h"

#include <algorithm>
#include <utility>

#include "common/wire/batch_body.h"

namespace footfall::wire {

namespace {
constexpr std::size_t kBodyFixedBytes = 8 + 5 * 10;  // base time, table and record counts, time unit
}

std::string_view to_string(SealReason r) {
  switch (r) {
    case SealReason::not_due: return "not_due";
    case SealReason::count: return "count";
    case SealReason::bytes: return "bytes";
    case SealReason::age: return "age";
  }
  return "unknown";
}

BatchBuilder::BatchBuilder(BatchLimits limits, std::uint64_t next_seq) : limits_(limits), next_seq_(next_seq) {
  bytes_bound_ = kBodyFixedBytes;
}

void BatchBuilder::opened(std::int64_t now_ns) {
  if (records_ == 0) opened_ns_ = now_ns;
  ++records_;
}

void BatchBuilder::add(const Sighting& s, std::int64_t now_ns) {
  opened(now_ns);
  current_.body.sightings.push_back(s);
  if (limits_.time_quantum_ns > 1) {
    auto& ts = current_.body.sightings.back().ts_ns;
    const std::int64_t rem = ts % limits_.time_quantum_ns;
    ts -= rem < 0 ? rem + limits_.time_quantum_ns : rem;  // floor, also before 1970
  }
  bytes_bound_ += kMaxSightingBodyBytes;
}

void BatchBuilder::add(const PresenceEvent& e, std::int64_t now_ns) {
  opened(now_ns);
  current_.body.events.push_back(e);
  bytes_bound_ += kMaxEventBodyBytes;
}

SealReason BatchBuilder::due(std::int64_t now_ns) const {
  if (records_ == 0) return SealReason::not_due;
  if (records_ >= limits_.max_records) return SealReason::count;
  // Seal while the largest possible next record still fits, so the bound is never crossed.
  if (bytes_bound_ + std::max(kMaxSightingBodyBytes, kMaxEventBodyBytes) > limits_.max_body_bytes)
    return SealReason::bytes;
  if (now_ns - opened_ns_ >= limits_.max_age_ns) return SealReason::age;
  return SealReason::not_due;
}

bool BatchBuilder::has_room(std::size_t records) const {
  return records_ + records <= limits_.max_records &&
         bytes_bound_ + records * std::max(kMaxSightingBodyBytes, kMaxEventBodyBytes) <= limits_.max_body_bytes;
}

Batch BatchBuilder::take() {
  Batch b = std::exchange(current_, Batch{});
  b.seq = next_seq_++;
  sort_for_wire(b.body.sightings);  // the order the compact by-device layout reproduces exactly
  records_ = 0;
  bytes_bound_ = kBodyFixedBytes;
  return b;
}

std::optional<Batch> BatchBuilder::seal_if_due(std::int64_t now_ns) {
  const SealReason why = due(now_ns);
  if (why == SealReason::not_due) return std::nullopt;
  ++sealed_[static_cast<std::size_t>(why)];
  return take();
}

std::optional<Batch> BatchBuilder::seal_now() {
  if (records_ == 0) return std::nullopt;
  return take();
}

}  // namespace footfall::wire
