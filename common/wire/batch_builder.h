#pragma once
// Collects records into the next batch and says when to seal it: by record count, by worst-case body
// size, or by age. The caller passes the clock on every call; nothing here reads the time.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/wire/messages.h"

namespace footfall::wire {

struct BatchLimits {
  std::size_t max_records = 8192;               // events + sightings
  std::size_t max_body_bytes = 512u << 10;      // worst-case uncompressed body; stays far below the caps
  std::int64_t max_age_ns = 1'000'000'000;      // from the first record of the batch
  // Sighting times are floored to a multiple of this. 1 ms is plenty for presence and for the gateway's
  // same-frame window, and takes about 1.3 B off each sighting on the wire (time is most of what a
  // sighting costs); 1 keeps capture stamps exact.
  std::int64_t time_quantum_ns = 1'000'000;
};

enum class SealReason : std::uint8_t { not_due = 0, count = 1, bytes = 2, age = 3 };
std::string_view to_string(SealReason r);

class BatchBuilder {
 public:
  BatchBuilder(BatchLimits limits, std::uint64_t next_seq);

  void add(const Sighting& s, std::int64_t now_ns);
  void add(const PresenceEvent& e, std::int64_t now_ns);

  [[nodiscard]] SealReason due(std::int64_t now_ns) const;
  // Whether `records` more records of any kind fit without crossing the count or body-size limit.
  [[nodiscard]] bool has_room(std::size_t records) const;
  // Seals and returns the batch when it is due (counted by reason), else nullopt.
  std::optional<Batch> seal_if_due(std::int64_t now_ns);
  // Seals whatever is held (e.g. at shutdown); nullopt when empty: no seq is spent on nothing.
  std::optional<Batch> seal_now();

  [[nodiscard]] bool empty() const { return records_ == 0; }
  [[nodiscard]] std::size_t records() const { return records_; }
  [[nodiscard]] std::size_t body_bytes_bound() const { return bytes_bound_; }
  [[nodiscard]] std::uint64_t next_seq() const { return next_seq_; }
  [[nodiscard]] std::uint64_t sealed(SealReason r) const { return sealed_[static_cast<std::size_t>(r)]; }

 private:
  void opened(std::int64_t now_ns);
  Batch take();

  BatchLimits limits_;
  std::uint64_t next_seq_;
  Batch current_;
  std::size_t records_ = 0;
  std::size_t bytes_bound_ = 0;
  std::int64_t opened_ns_ = 0;
  std::array<std::uint64_t, 4> sealed_{};
};

}  // namespace footfall::wire
