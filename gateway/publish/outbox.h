#pragma once
// The publisher's durable buffer: every sealed micro-batch (topic + JSON payload) is appended here before
// it is handed to MQTT, and leaves only when the broker's PUBACK arrives. The common segment log underneath;
// when full, append answers OutboxErrc::full and nothing already stored is dropped.
// Not thread-safe: the Publisher serializes access.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/segment_log/segment_log.h"

namespace footfall::gateway::publish {

struct OutboxItem {
  std::uint64_t seq = 0;
  std::string topic;
  std::string payload;
};

struct OutboxLimits {
  std::uint64_t max_total_bytes = 256ull << 20;
  std::uint64_t segment_bytes = 4ull << 20;
  std::uint32_t max_record_bytes = 4u << 20;
};

enum class OutboxErrc : std::uint8_t {
  ok = 0,
  full,              // no room (the bound, or the disk): retry once the broker has acked some
  record_too_large,  // can never fit
  io_error,          // a disk error: what is stored stays; retry later
};
std::string_view to_string(OutboxErrc e);

struct OutboxError {
  OutboxErrc code = OutboxErrc::ok;
  std::string detail;  // the log's own words: the step, the path, the system error

  explicit operator bool() const { return code != OutboxErrc::ok; }
  [[nodiscard]] std::string message() const;
};

class Outbox;
struct OutboxOpen {
  std::unique_ptr<Outbox> outbox;  // null on error
  std::string error;
};

class Outbox {
 public:
  // Creates the folder on first use and stamps it with an epoch (seconds) that makes batch ids unique
  // even if the folder is ever wiped and the sequence starts again at 1.
  static OutboxOpen open(const std::filesystem::path& dir, OutboxLimits limits, segment_log::FsyncPolicy fsync,
                         std::int64_t now_ms);

  [[nodiscard]] std::uint64_t epoch() const { return epoch_; }
  // Seq for the next append; a failed append leaves it unchanged.
  [[nodiscard]] std::uint64_t next_seq() const { return log_->last_seq() + 1; }
  OutboxError append(std::uint64_t seq, std::string_view topic, std::string_view payload, std::int64_t now_ms);
  // The oldest unacked item after after_seq; false when there is none (or on error, set in `error`).
  bool read_next(std::uint64_t after_seq, OutboxItem& out, OutboxError& error);
  bool ack(std::uint64_t seq) { return log_->ack(seq); }
  OutboxError sync_if_due(std::int64_t now_ms);
  OutboxError sync();
  // Never counts a drop for room: full is refused (append), so only damage on disk (torn, corrupt) loses a batch.
  [[nodiscard]] segment_log::Depth depth() const { return log_->depth(); }
  // Records that passed the CRC but are not outbox records (a foreign file in the folder): retired, counted.
  [[nodiscard]] std::uint64_t foreign_records() const { return foreign_records_; }
  [[nodiscard]] const OutboxLimits& limits() const { return limits_; }

 private:
  Outbox(std::unique_ptr<segment_log::Log> log, OutboxLimits limits, std::uint64_t epoch)
      : log_(std::move(log)), limits_(limits), epoch_(epoch) {}

  std::unique_ptr<segment_log::Log> log_;
  OutboxLimits limits_;
  std::uint64_t epoch_ = 0;
  std::uint64_t foreign_records_ = 0;
  std::vector<std::uint8_t> record_;
};

}  // namespace footfall::gateway::publish
