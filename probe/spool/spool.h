#pragma once
// Bounded on-disk spool of sealed batches, between the batch builder and the uplink: the probe's policy over
// the common segment log. A batch leaves only when the gateway acks it; when the spool is full the oldest
// segment is dropped and counted (or, under reject_newest, the new batch is refused and counted). Each batch
// carries its capture position, so a restarted replay resumes right after the newest batch that survived.
// Each spool has an identity, made with it and kept in it: the gateway counts batch seqs per spool, so a new spool
// (a replaced card, a wiped folder) that numbers from 1 again is never taken for the batches of an earlier one.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/segment_log/segment_log.h"

namespace footfall::probe::spool {

using segment_log::FsyncMode;
using segment_log::FsyncPolicy;

enum class FullPolicy : std::uint8_t {
  drop_oldest,    // keep the newest data: the oldest unacked segment goes, counted
  reject_newest,  // keep what is there: append answers spool_full, counted
};
std::string_view to_string(FullPolicy p);

struct SpoolLimits {
  std::uint64_t max_total_bytes = 64ull << 20;  // every segment file, headers included
  std::uint64_t segment_bytes = 1ull << 20;     // roll to a new file past this; drop granularity
  std::uint32_t max_record_bytes = 2u << 20;    // a record larger than this is refused
  FullPolicy full_policy = FullPolicy::drop_oldest;
};

enum class SpoolErrc : std::uint8_t {
  ok = 0,
  invalid_limits,
  cannot_create_dir,
  io_error,
  disk_full,
  record_too_large,
  seq_not_increasing,
  spool_full,
};
std::string_view to_string(SpoolErrc e);

struct SpoolError {
  SpoolErrc code = SpoolErrc::ok;
  int sys_errno = 0;
  std::string path;

  explicit operator bool() const { return code != SpoolErrc::ok; }
  [[nodiscard]] std::string message() const;
};

struct SpoolDepth {
  std::uint64_t unacked_records = 0;
  std::uint64_t unacked_bytes = 0;  // payload bytes waiting for an ack
  std::uint64_t disk_bytes = 0;     // every segment file
  std::uint64_t segments = 0;
  std::uint64_t full_drop_records = 0;  // unacked records lost to drop_oldest
  std::uint64_t full_drop_bytes = 0;
  std::uint64_t full_rejects = 0;       // appends refused under reject_newest
  std::uint64_t torn_records = 0;       // incomplete or CRC-bad tails cut off on open
  std::uint64_t torn_bytes = 0;
  std::uint64_t corrupt_records = 0;    // bad spans skipped inside a segment (on open or on read)
  std::uint64_t corrupt_bytes = 0;
  std::uint64_t syncs = 0;
};

class Spool;
struct OpenResult {
  std::unique_ptr<Spool> spool;  // null on error
  SpoolError error;
};

// The identity file in the spool's folder: 16 hex digits and a newline, written once through atomic_file.
inline constexpr std::string_view kIdentityFile = "identity";
std::string format_identity(std::uint64_t identity);                 // the 16 hex digits
std::optional<std::uint64_t> parse_identity(std::string_view text);  // the file's text; nullopt: not exactly that form

// Where in its source a record's data came from: the probe stores the capture position with every batch, so a
// restarted replay resumes right after the newest batch that survived (in the spool, or acked by the gateway).
struct SourcePosition {
  std::uint64_t source = 0;  // which source (e.g. a hash of the replayed file's identity); 0: none
  std::uint64_t index = 0;   // everything of the source up to here is in this record or older ones
  bool operator==(const SourcePosition&) const = default;
};

// The newest record the spool knows of (on disk, or acked and remembered in the watermark file).
struct NewestRecord {
  std::uint64_t seq = 0;
  SourcePosition position;
};

struct ReadResult {
  SpoolError error;
  std::optional<std::uint64_t> seq;  // nullopt: nothing unacked after the given seq
};

class Spool {
 public:
  static OpenResult open(const std::filesystem::path& dir, SpoolLimits limits, FsyncPolicy fsync,
                         std::int64_t now_ns = 0);
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Adds one record. seq must be above every seq the spool has seen (last_seq()).
  SpoolError append(std::uint64_t seq, std::span<const std::uint8_t> payload, std::int64_t now_ns,
                    SourcePosition position = {});
  // Group commit on a timer, for when no append comes along to trigger it.
  SpoolError sync_if_due(std::int64_t now_ns);
  SpoolError sync();

  // Marks one record acked; false when it is not (or no longer) in the spool unacked.
  bool ack(std::uint64_t seq) { return log_->ack(seq); }
  // Marks every record with seq <= through acked (a cumulative ack).
  void ack_through(std::uint64_t through) { log_->ack_through(through); }

  // The oldest unacked record with seq > after_seq, payload read from disk and CRC-checked again.
  ReadResult read_next_unacked(std::uint64_t after_seq, std::vector<std::uint8_t>& payload);

  [[nodiscard]] SpoolDepth depth() const;
  // Highest seq ever appended or acked here; the batch builder resumes above it after a restart.
  [[nodiscard]] std::uint64_t last_seq() const { return log_->last_seq(); }
  // Every seq <= this is acked or gone; persisted so a restart does not resend them.
  [[nodiscard]] std::uint64_t acked_watermark() const { return log_->acked_watermark(); }
  // The record with the highest seq that is in the spool or was acked (nullopt: none since the spool was made).
  // Its position survives kill -9 and power loss together with the record (or the ack) it belongs to.
  [[nodiscard]] std::optional<NewestRecord> newest_record() const;

  // The spool's identity (wire::Hello::spool_id): random and non-zero for a spool made by this version; 0 for a
  // spool made before identities, which keeps numbering in the one sequence space the gateway has for it.
  [[nodiscard]] std::uint64_t identity() const { return identity_; }
  // Why open() made a new identity for a spool that had records (its file unreadable), else empty.
  [[nodiscard]] const std::string& identity_note() const { return identity_note_; }
  // A new random identity, written durably: the gateway's sequence space for the old one is not this spool's
  // (it holds seqs this spool never made). Batches then resent go to a new space: stored twice at worst, not lost.
  SpoolError renew_identity();

 private:
  Spool(std::unique_ptr<segment_log::Log> log, FullPolicy full_policy, std::filesystem::path dir)
      : log_(std::move(log)), full_policy_(full_policy), dir_(std::move(dir)) {}
  SpoolError load_identity();
  SpoolError write_identity(std::uint64_t identity);

  std::unique_ptr<segment_log::Log> log_;
  FullPolicy full_policy_;
  std::filesystem::path dir_;
  std::uint64_t identity_ = 0;
  std::string identity_note_;
  std::uint64_t full_drop_records_ = 0;
  std::uint64_t full_drop_bytes_ = 0;
  std::uint64_t full_rejects_ = 0;
};

// On-disk layout constants, shared with the tests that corrupt files on purpose.
using segment_log::kRecordHeaderBytes;
using segment_log::kRecordHeaderBytesV1;
using segment_log::kRecordMagic;
using segment_log::kRecordMagicV1;
using segment_log::kSegmentFormat;
using segment_log::kSegmentHeaderBytes;

}  // namespace footfall::probe::spool
