#include "gateway/journal/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/wire/frame.h"

namespace footfall::gateway {

namespace {

constexpr std::string_view kLockFile = "lock";
constexpr std::string_view kSnapshotFile = "held.json";  // dedup index of consumed records
constexpr std::string_view kSegmentsDir = "records";

}  // namespace

std::string_view to_string(StoreOutcome o) {
  switch (o) {
    case StoreOutcome::stored: return "stored";
    case StoreOutcome::duplicate: return "duplicate";
    case StoreOutcome::full: return "full";
    case StoreOutcome::failed: return "failed";
  }
  return "unknown";
}

Journal::Journal(JournalOptions options) : options_(std::move(options)) { stats_.max_bytes = options_.max_bytes; }

Journal::~Journal() {
  if (log_ && needs_commit()) (void)commit();
}

Journal::Opened Journal::open(const JournalOptions& options) {
  std::unique_ptr<Journal> j(new Journal(options));  // private constructor
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) return {nullptr, "cannot create journal dir " + options.dir.string() + ": " + ec.message()};
  const auto lock_path = options.dir / kLockFile;
  j->lock_fd_ = UniqueFd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!j->lock_fd_.valid()) return {nullptr, "cannot open " + lock_path.string() + ": " + std::strerror(errno)};
  if (::flock(j->lock_fd_.get(), LOCK_EX | LOCK_NB) != 0)
    return {nullptr, "journal " + options.dir.string() + " is in use by another process (a running gateway?)"};

  // Segments sized so that consuming frees space in steps of about 1/16 of the bound.
  segment_log::Limits limits;
  limits.max_total_bytes = options.max_bytes;
  limits.max_record_bytes = options.max_frame_bytes + static_cast<std::uint32_t>(wire::kFrameHeaderBytes +
                                                                                 wire::kFrameTrailerBytes + 256);
  limits.segment_bytes = std::clamp<std::uint64_t>(options.max_bytes / 16, 64u << 10, 64u << 20);
  // Syncs are driven by commit(): group commit across every connection, then the acks.
  segment_log::FsyncPolicy fsync{segment_log::FsyncMode::never, 0, 0};
  auto opened = segment_log::Log::open(options.dir / kSegmentsDir, limits, fsync, 0);
  if (!opened.log) return {nullptr, "cannot open journal: " + opened.error.message()};
  j->log_ = std::move(opened.log);
  if (std::string e = j->rebuild_index(); !e.empty()) return {nullptr, e};
  return {std::move(j), {}};
}

bool Journal::load_snapshot(std::string& error) {
  const auto path = options_.dir / kSnapshotFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) return true;  // none yet: nothing has been consumed
  try {
    const auto doc = nlohmann::json::parse(in);
    next_seq_ = std::max(next_seq_, doc.at("next_journal_seq").get<std::uint64_t>());
    for (const auto& [id, p] : doc.at("probes").items()) {
      std::map<std::uint64_t, std::uint64_t> ranges;
      for (const auto& r : p.at("ranges")) ranges.emplace(r.at(0).get<std::uint64_t>(), r.at(1).get<std::uint64_t>());
      if (!probes_[id].held.restore(p.at("cumulative").get<std::uint64_t>(), std::move(ranges))) {
        error = "journal dedup snapshot " + path.string() + ": bad ranges for probe " + id;
        return false;
      }
    }
  } catch (const nlohmann::json::exception& e) {
    error = "journal dedup snapshot " + path.string() + " is unreadable: " + e.what();
    return false;
  }
  return true;
}

std::string Journal::rebuild_index() {
  std::string error;
  if (!load_snapshot(error)) return error;
  JournalEntry entry;
  std::uint64_t after = 0;
  for (;;) {
    const auto r = log_->read_next_unacked(after, entry.payload);
    if (r.error) return "cannot read journal: " + r.error.message();
    if (!r.seq) break;
    after = *r.seq;
    const auto view = decode_journal_record(entry.payload);
    if (!view) {
      ++stats_.unreadable_records;
      continue;
    }
    probes_[view->meta.probe_id].held.insert(view->meta.probe_seq);
  }
  for (auto& [id, seqs] : probes_) seqs.durable_through = seqs.held.cumulative();
  next_seq_ = std::max(next_seq_, log_->last_seq() + 1);
  stats_.torn_records = log_->depth().torn_records;
  return {};
}

bool Journal::holds(std::string_view probe_id, std::uint64_t probe_seq) const {
  const auto it = probes_.find(probe_id);
  return it != probes_.end() && it->second.held.contains(probe_seq);
}

StoreOutcome Journal::store(const JournalRecordMeta& meta, std::span<const std::uint8_t> frame, std::string* error) {
  if (holds(meta.probe_id, meta.probe_seq)) {
    ++stats_.duplicate_batches;
    return StoreOutcome::duplicate;
  }
  encode_journal_record(meta, frame, record_);
  // Full is refused, never made room for: what is held here is not yet published.
  const segment_log::Error e = log_->append(next_seq_, record_, 0);
  if (e.code == segment_log::Errc::full || e.code == segment_log::Errc::disk_full) {
    ++stats_.full_refusals;
    if (error) *error = e.message();
    return StoreOutcome::full;
  }
  if (e) {
    if (error) *error = e.message();
    return StoreOutcome::failed;
  }
  ++next_seq_;
  ++stats_.stored_batches;
  stats_.stored_bytes += record_.size();
  auto it = probes_.find(meta.probe_id);
  if (it == probes_.end()) it = probes_.emplace(meta.probe_id, ProbeSeqs{}).first;
  it->second.held.insert(meta.probe_seq);
  uncommitted_probes_.insert(meta.probe_id);
  snapshot_stale_ = true;
  return StoreOutcome::stored;
}

std::uint64_t Journal::give_up_below(std::string_view probe_id, std::uint64_t first_seq) {
  if (first_seq <= 1) return 0;
  auto it = probes_.find(probe_id);
  if (it == probes_.end()) it = probes_.emplace(std::string(probe_id), ProbeSeqs{}).first;
  const std::uint64_t n = it->second.held.raise_floor(first_seq - 1);
  if (n == 0) return 0;
  stats_.seqs_given_up += n;
  uncommitted_probes_.insert(it->first);
  snapshot_stale_ = true;
  return n;
}

JournalError Journal::commit() {
  if (options_.fsync) {
    if (const auto e = log_->sync()) return {e.message()};
  }
  ++stats_.commits;
  for (const std::string& id : uncommitted_probes_) {
    auto it = probes_.find(id);
    if (it != probes_.end()) it->second.durable_through = it->second.held.cumulative();
  }
  uncommitted_probes_.clear();
  return {};
}

std::uint64_t Journal::durable_through(std::string_view probe_id) const {
  const auto it = probes_.find(probe_id);
  return it == probes_.end() ? 0 : it->second.durable_through;
}

wire::Ack Journal::ack_for(std::string_view probe_id) const {
  const auto it = probes_.find(probe_id);
  return it == probes_.end() ? wire::Ack{} : it->second.held.to_ack();
}

std::optional<std::uint64_t> Journal::read_next(std::uint64_t after, JournalEntry& out, std::string* error) {
  for (;;) {
    const auto r = log_->read_next_unacked(after, out.payload);
    if (r.error) {
      if (error) *error = r.error.message();
      return std::nullopt;
    }
    if (!r.seq) return std::nullopt;
    after = *r.seq;
    const auto view = decode_journal_record(out.payload);
    if (!view) {
      ++stats_.unreadable_records;
      continue;
    }
    out.journal_seq = *r.seq;
    out.meta = view->meta;
    out.frame = view->frame;
    return r.seq;
  }
}

JournalError Journal::save_snapshot() {
  nlohmann::json probes = nlohmann::json::object();
  for (const auto& [id, seqs] : probes_) {
    nlohmann::json ranges = nlohmann::json::array();
    for (const auto& [first, last] : seqs.held.ranges()) ranges.push_back({first, last});
    probes[id] = {{"cumulative", seqs.held.cumulative()}, {"ranges", std::move(ranges)}};
  }
  const nlohmann::json doc = {{"next_journal_seq", next_seq_}, {"probes", std::move(probes)}};
  if (const auto e = atomic_file::write(options_.dir / kSnapshotFile, doc.dump())) return {e->message()};
  return {};
}

// A consumed record may be deleted: first make the dedup index that remembers it durable, and only
// with seqs that are durable themselves (a snapshot must never claim a batch a crash could lose).
JournalError Journal::before_trim() {
  if (needs_commit()) {
    if (JournalError e = commit()) return e;
  }
  if (!snapshot_stale_) return {};
  if (JournalError e = save_snapshot()) return e;
  snapshot_stale_ = false;
  return {};
}

JournalError Journal::consume_through(std::uint64_t journal_seq) {
  if (JournalError e = before_trim()) return e;
  const auto before = log_->depth().unacked_records;
  log_->ack_through(journal_seq);
  stats_.consumed_records += before - log_->depth().unacked_records;
  // The watermark and the deleted segments reach the disk.
  if (const auto e = log_->sync()) return {e.message()};
  return {};
}

JournalError Journal::consume(std::uint64_t journal_seq) {
  if (JournalError e = before_trim()) return e;
  if (log_->ack(journal_seq)) ++stats_.consumed_records;
  return {};
}

JournalStats Journal::stats() const {
  JournalStats s = stats_;
  const auto depth = log_->depth();
  s.held_records = depth.unacked_records;
  s.disk_bytes = depth.disk_bytes;
  s.last_journal_seq = next_seq_ - 1;
  return s;
}

std::vector<std::string> Journal::probes_held() const {
  std::vector<std::string> ids;
  for (const auto& [id, seqs] : probes_) ids.push_back(id);
  return ids;
}

}  // namespace footfall::gateway
