#pragma once
// The gateway's durable store of accepted batches, and the hand-off to the next stage (site merge and
// publishing), which reads it in order and marks what it has published as consumed.
//
// Built on the common segment log (append-only segments, CRC per record, torn-tail recovery on open), keyed
// by a gateway-global journal seq. Full is back-pressure, never loss: store() answers `full` and the
// batch stays in its probe's spool until space is freed by consume_through().
// A dedup index per probe and spool (which batch seqs are held; a probe's seqs count within its spool, so a new
// spool starts a sequence space of its own) is rebuilt on open from the records plus a snapshot of what was
// already consumed, so a resend after a lost ack or a restart counts once.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/segment_log/segment_log.h"
#include "common/unique_fd.h"
#include "common/wire/messages.h"
#include "gateway/journal/held_seqs.h"
#include "gateway/journal/journal_record.h"

namespace footfall::gateway {

struct JournalOptions {
  std::filesystem::path dir;
  std::uint64_t max_bytes = 1024ull << 20;
  std::uint32_t max_frame_bytes = 1u << 20;  // frame body limit of the receive side
  bool fsync = true;                         // false: commit() writes no fdatasync
};

enum class StoreOutcome : std::uint8_t {
  stored,     // appended; durable after the next commit()
  duplicate,  // this probe's seq is already held: not stored again
  full,       // journal at its bound (or disk full): not stored, must not be acked
  failed,     // I/O error: not stored
};
std::string_view to_string(StoreOutcome o);

struct JournalStats {
  std::uint64_t stored_batches = 0;
  std::uint64_t stored_bytes = 0;
  std::uint64_t duplicate_batches = 0;
  std::uint64_t full_refusals = 0;
  std::uint64_t commits = 0;         // fdatasync rounds (group commits)
  std::uint64_t consumed_records = 0;
  std::uint64_t unreadable_records = 0;  // held records that no longer decode (skipped by the reader)
  std::uint64_t held_records = 0;    // not yet consumed
  std::uint64_t disk_bytes = 0;
  std::uint64_t max_bytes = 0;
  std::uint64_t torn_records = 0;    // cut off on open (a crash mid-append; never acked)
  std::uint64_t last_journal_seq = 0;
  std::uint64_t seqs_given_up = 0;   // batch seqs a probe no longer has (its spool dropped them): never coming
  std::uint64_t spools_new = 0;      // sequence spaces begun for a spool identity the journal did not know
  std::uint64_t spools_forgotten = 0;  // least recently used spaces dropped beyond kMaxSpoolsPerProbe
};

// Sequence spaces kept per probe (one per spool it used). Beyond it the least recently used one is forgotten:
// should that spool come back, its unacked batches are stored again (twice, never lost).
inline constexpr std::size_t kMaxSpoolsPerProbe = 16;

// A failure to make the journal durable (a sync, the dedup snapshot): what failed and where, for the log.
struct JournalError {
  std::string detail;  // empty: no error
  explicit operator bool() const { return !detail.empty(); }
  [[nodiscard]] const std::string& message() const { return detail; }
};

// One record as the reader hands it out.
struct JournalEntry {
  std::uint64_t journal_seq = 0;
  JournalRecordMeta meta;
  std::span<const std::uint8_t> frame;  // the Batch frame; points into `payload`
  std::vector<std::uint8_t> payload;
};

class Journal {
 public:
  struct Opened {
    std::unique_ptr<Journal> journal;  // null on error
    std::string error;
  };
  // Takes an exclusive lock on the directory: one process at a time (a second gateway, or a dump while
  // the gateway runs, is refused rather than racing the torn-tail recovery).
  static Opened open(const JournalOptions& options);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // A session of the probe's spool `spool_id` (wire::Hello::spool_id) begins. True when the journal has no
  // sequence space for it (a new spool: its seqs count from 1 again, acked_through 0); the spaces of the probe's
  // other spools, and the batches they hold, stay.
  bool begin_spool(std::string_view probe_id, std::uint64_t spool_id);
  // How many spools of the probe the journal keeps a sequence space for.
  [[nodiscard]] std::size_t spools_of(std::string_view probe_id) const;
  // The spool of the probe's latest session or batch (nullopt: none known).
  [[nodiscard]] std::optional<std::uint64_t> latest_spool(std::string_view probe_id) const;

  [[nodiscard]] bool holds(std::string_view probe_id, std::uint64_t spool_id, std::uint64_t probe_seq) const;
  StoreOutcome store(const JournalRecordMeta& meta, std::span<const std::uint8_t> frame, std::string* error = nullptr);
  // The spool's session began with batch `first_seq`, its oldest unacked one: every lower seq not held here is
  // gone from the probe and never comes. They count as held (so acked_through moves past the gap) from the
  // next commit on. Returns how many were given up.
  std::uint64_t give_up_below(std::string_view probe_id, std::uint64_t spool_id, std::uint64_t first_seq);
  // Makes every stored record durable (fdatasync). Only after it returns ok may they be acked.
  JournalError commit();
  [[nodiscard]] bool needs_commit() const { return !uncommitted_.empty(); }

  // Highest S such that every batch of the probe's spool with seq <= S is durable here (0 if none).
  [[nodiscard]] std::uint64_t durable_through(std::string_view probe_id, std::uint64_t spool_id) const;
  // What this spool's batches look like as an Ack; call right after commit().
  [[nodiscard]] wire::Ack ack_for(std::string_view probe_id, std::uint64_t spool_id) const;

  // Reader for the next stage: the oldest unconsumed record with journal seq > after (nullopt at the end).
  std::optional<std::uint64_t> read_next(std::uint64_t after, JournalEntry& out, std::string* error = nullptr);
  // Marks records consumed; whole segments are then deleted, which frees space for stores refused as full.
  JournalError consume_through(std::uint64_t journal_seq);
  JournalError consume(std::uint64_t journal_seq);

  [[nodiscard]] JournalStats stats() const;
  [[nodiscard]] const std::filesystem::path& dir() const { return options_.dir; }
  [[nodiscard]] std::vector<std::string> probes_held() const;

 private:
  // The batch seqs of one spool of a probe.
  struct SequenceSpace {
    HeldSeqs held;
    std::uint64_t durable_through = 0;
    std::uint64_t last_use = 0;  // use_clock_ at its latest session or batch: the least recent is forgotten first
  };
  using ProbeSpaces = std::map<std::uint64_t, SequenceSpace>;  // by spool id

  explicit Journal(JournalOptions options);
  [[nodiscard]] const SequenceSpace* find(std::string_view probe_id, std::uint64_t spool_id) const;
  SequenceSpace& space(std::string_view probe_id, std::uint64_t spool_id);  // made when missing, marked used
  void forget_beyond_bound(ProbeSpaces& spaces, std::uint64_t keep);
  std::string rebuild_index();
  bool load_snapshot(std::string& error);
  JournalError save_snapshot();
  JournalError before_trim();

  JournalOptions options_;
  UniqueFd lock_fd_;
  std::unique_ptr<segment_log::Log> log_;
  std::map<std::string, ProbeSpaces, std::less<>> probes_;
  std::set<std::pair<std::string, std::uint64_t>> uncommitted_;  // (probe, spool) stored since the last commit
  std::uint64_t use_clock_ = 0;
  bool snapshot_stale_ = false;
  std::uint64_t next_seq_ = 1;
  JournalStats stats_;
  std::vector<std::uint8_t> record_;  // reused encode buffer
};

}  // namespace footfall::gateway
