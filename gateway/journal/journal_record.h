#pragma once
// One journal record: an accepted Batch frame exactly as the probe sent it, plus what the gateway knew
// when it accepted it (which probe, its seq, when, and the clock correction to apply to its times).
// Storing the original frame keeps the journal compact (still zstd) and needs no re-encoding.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace footfall::gateway {

// 2: the probe's spool identity beside its seq (version 1 records read as spool 0).
inline constexpr std::uint8_t kJournalRecordVersion = 2;

struct JournalRecordMeta {
  std::string probe_id;
  std::uint64_t spool_id = 0;      // the probe's spool (wire::Hello::spool_id): seqs count within it
  std::uint64_t probe_seq = 0;
  std::int64_t received_ns = 0;    // gateway wall clock when the batch arrived
  std::int64_t clock_offset_ns = 0;  // estimated probe offset at that time (0 when unknown)
  std::int64_t correction_ns = 0;    // what to add to the batch's probe times (0: none)
  bool offset_known = false;
  bool replay = false;             // the probe replays a capture: its times are capture times
};

// Appends the record payload (meta + frame) to `out` (cleared first).
void encode_journal_record(const JournalRecordMeta& meta, std::span<const std::uint8_t> frame,
                           std::vector<std::uint8_t>& out);

struct JournalRecordView {
  JournalRecordMeta meta;
  std::span<const std::uint8_t> frame;  // points into the payload given to decode
};

// A spool identity as logs, the dump and the dedup snapshot show it: 16 hex digits.
std::string spool_name(std::uint64_t spool_id);

// Untrusted bytes (a disk may rot): nullopt when malformed.
std::optional<JournalRecordView> decode_journal_record(std::span<const std::uint8_t> payload);

}  // namespace footfall::gateway
