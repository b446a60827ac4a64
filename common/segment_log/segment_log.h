#pragma once
// A bounded on-disk log of records in append-only segment files. A record leaves only when its owner acks it;
// every record has a CRC, and a torn or corrupt tail is cut off on open, so the log survives kill -9 and power
// loss. Each record carries a strictly increasing seq and an opaque 16-byte tag its owner gives meaning to.
// Full is an answer, never a silent loss: append answers Errc::full and the owner decides (refuse the newest,
// or drop_oldest_segment() and try again). The probe's spool, the gateway's journal and its outbox use it.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"

namespace footfall::segment_log {

enum class FsyncMode : std::uint8_t {
  always,  // fdatasync after every record: nothing is lost, flash wears fastest
  group,   // group commit: after every_records records or every_ns, whichever first
  never,   // leave it to the kernel (or to the owner's sync()): survives kill -9, not power loss
};

struct FsyncPolicy {
  FsyncMode mode = FsyncMode::group;
  std::uint32_t every_records = 16;
  std::int64_t every_ns = 5'000'000'000;  // oldest unsynced record waits at most this (caller's clock)
};

struct Limits {
  std::uint64_t max_total_bytes = 64ull << 20;  // every segment file, headers included
  std::uint64_t segment_bytes = 1ull << 20;     // roll to a new file past this; drop granularity
  std::uint32_t max_record_bytes = 2u << 20;    // a record larger than this is refused
};

enum class Errc : std::uint8_t {
  ok = 0,
  invalid_limits,
  cannot_create_dir,
  io_error,
  disk_full,
  record_too_large,
  seq_not_increasing,
  full,  // the record does not fit under max_total_bytes: nothing was written
};
std::string_view to_string(Errc e);

struct Error {
  Errc code = Errc::ok;
  int sys_errno = 0;
  std::string path;

  explicit operator bool() const { return code != Errc::ok; }
  [[nodiscard]] std::string message() const;
};

struct Depth {
  std::uint64_t unacked_records = 0;
  std::uint64_t unacked_bytes = 0;  // payload bytes waiting for an ack
  std::uint64_t disk_bytes = 0;     // every segment file
  std::uint64_t segments = 0;
  std::uint64_t torn_records = 0;       // incomplete or CRC-bad tails cut off on open
  std::uint64_t torn_bytes = 0;
  std::uint64_t corrupt_records = 0;    // bad spans skipped inside a segment (on open or on read)
  std::uint64_t corrupt_bytes = 0;
  std::uint64_t syncs = 0;
};

// Sixteen bytes stored with a record and covered by its CRC; the log gives them no meaning.
struct Tag {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  bool operator==(const Tag&) const = default;
};

struct TaggedSeq {
  std::uint64_t seq = 0;
  Tag tag;
};

// Unacked records a drop_oldest_segment() took with it.
struct Dropped {
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;  // payload bytes
};

class Log;
struct OpenResult {
  std::unique_ptr<Log> log;  // null on error
  Error error;
};

struct ReadResult {
  Error error;
  std::optional<std::uint64_t> seq;  // nullopt: nothing unacked after the given seq
};

class Log {
 public:
  static OpenResult open(const std::filesystem::path& dir, Limits limits, FsyncPolicy fsync, std::int64_t now_ns = 0);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Adds one record. seq must be above every seq the log has seen (last_seq()). Errc::full: it does not fit
  // beside what is stored (never answered while the log is empty).
  Error append(std::uint64_t seq, std::span<const std::uint8_t> payload, std::int64_t now_ns, Tag tag = {});
  // Deletes the oldest segment, acked or not; the owner's way to make room when it keeps the newest data.
  Dropped drop_oldest_segment();
  // Group commit on a timer, for when no append comes along to trigger it.
  Error sync_if_due(std::int64_t now_ns);
  Error sync();

  // Marks one record acked; false when it is not (or no longer) in the log unacked.
  bool ack(std::uint64_t seq);
  // Marks every record with seq <= through acked (a cumulative ack).
  void ack_through(std::uint64_t through);

  // The oldest unacked record with seq > after_seq, payload read from disk and CRC-checked again.
  ReadResult read_next_unacked(std::uint64_t after_seq, std::vector<std::uint8_t>& payload);

  [[nodiscard]] Depth depth() const { return depth_; }
  [[nodiscard]] bool empty() const { return segments_.empty(); }
  // Highest seq ever appended or acked here; an owner resumes above it after a restart.
  [[nodiscard]] std::uint64_t last_seq() const { return last_seq_; }
  // Every seq <= this is acked or gone; persisted so a restart does not hand them out again.
  [[nodiscard]] std::uint64_t acked_watermark() const { return watermark_; }
  // The record with the highest seq that is in the log or was acked, with its tag (nullopt: none since the
  // log was made). It survives kill -9 and power loss together with the record (or the ack) it belongs to.
  [[nodiscard]] std::optional<TaggedSeq> newest() const { return newest_; }

 private:
  struct Record {
    std::uint64_t seq;
    std::uint64_t offset;  // of the record header in its segment
    std::uint32_t length;  // payload bytes
    bool acked;
    Tag tag;
  };
  struct Segment {
    std::uint64_t first_seq = 0;
    std::uint8_t format = 2;  // segment format version: the record header layout

    std::filesystem::path path;
    UniqueFd fd;
    std::uint64_t size = 0;
    std::vector<Record> records;
    std::size_t unacked = 0;
    bool dirty = false;  // written since its last fdatasync
  };

  Log(std::filesystem::path dir, Limits limits, FsyncPolicy fsync, std::int64_t now_ns);
  Error load();
  Error scan_segment(Segment& seg);
  void load_watermark();
  void store_watermark();
  void update_watermark();
  Error start_segment(std::uint64_t first_seq);
  Dropped drop_segment(std::size_t index);
  void mark_acked(Segment& seg, Record& rec);
  void note_acked(const Record& rec);
  void note_newest(std::uint64_t seq, Tag tag);
  void forget_if_done(std::size_t index);
  Error after_append(std::int64_t now_ns);

  std::filesystem::path dir_;
  Limits limits_;
  FsyncPolicy fsync_;
  UniqueFd dir_fd_;
  UniqueFd watermark_fd_;
  std::deque<Segment> segments_;  // oldest first; the last one takes appends while it has room
  bool active_open_ = false;      // the last segment still takes appends
  Depth depth_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t watermark_ = 0;
  std::uint64_t watermark_writes_ = 0;
  std::optional<TaggedSeq> newest_;        // in the log or acked
  std::optional<TaggedSeq> newest_acked_;  // what the watermark file remembers beside the watermark
  std::uint64_t stored_acked_seq_ = 0;
  std::uint32_t unsynced_records_ = 0;
  bool dir_dirty_ = false;
  std::int64_t oldest_unsynced_ns_ = 0;
  std::vector<std::uint8_t> scratch_;
};

// On-disk layout constants, shared with the tests that corrupt files on purpose. The names keep the
// probe's spool files ("FFSPOOL", seg-*.spool, "acked") that every existing log on disk was written in.
inline constexpr std::size_t kSegmentHeaderBytes = 8;      // "FFSPOOL" + format version
inline constexpr std::uint8_t kSegmentFormat = 2;          // written; format 1 segments are still read
inline constexpr std::size_t kRecordHeaderBytes = 36;      // magic, length, seq, tag a, tag b, crc
inline constexpr std::uint32_t kRecordMagic = 0x32525346;  // "FSR2" little-endian
inline constexpr std::size_t kRecordHeaderBytesV1 = 20;    // format 1: magic, length, seq, crc
inline constexpr std::uint32_t kRecordMagicV1 = 0x31525346;  // "FSR1" little-endian

}  // namespace footfall::segment_log
