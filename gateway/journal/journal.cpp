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
constexpr int kSnapshotFormat = 2;  // 2: sequence spaces per probe and spool; 1 (no "format"): per probe, spool 0

std::optional<std::uint64_t> parse_spool_name(const std::string& text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : text) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return v;
}

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
    const bool per_spool = doc.value("format", 1) >= 2;
    for (const auto& [id, p] : doc.at("probes").items()) {
      // Format 1 held one space per probe: the spool-0 space of probes without spool identities.
      const nlohmann::json spaces = per_spool ? p : nlohmann::json::array({p});
      for (const auto& sp : spaces) {  // least recently used first
        std::optional<std::uint64_t> spool = 0;
        if (per_spool) spool = parse_spool_name(sp.at("spool").get<std::string>());
        std::map<std::uint64_t, std::uint64_t> ranges;
        for (const auto& r : sp.at("ranges")) ranges.emplace(r.at(0).get<std::uint64_t>(), r.at(1).get<std::uint64_t>());
        if (!spool || !space(id, *spool).held.restore(sp.at("cumulative").get<std::uint64_t>(), std::move(ranges))) {
          error = "journal dedup snapshot " + path.string() + ": bad spool or ranges for probe " + id;
          return false;
        }
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
    space(view->meta.probe_id, view->meta.spool_id).held.insert(view->meta.probe_seq);
  }
  for (auto& [id, spaces] : probes_)
    for (auto& [spool, seqs] : spaces) seqs.durable_through = seqs.held.cumulative();
  next_seq_ = std::max(next_seq_, log_->last_seq() + 1);
  stats_.torn_records = log_->depth().torn_records;
  return {};
}

const Journal::SequenceSpace* Journal::find(std::string_view probe_id, std::uint64_t spool_id) const {
  const auto probe = probes_.find(probe_id);
  if (probe == probes_.end()) return nullptr;
  const auto it = probe->second.find(spool_id);
  return it == probe->second.end() ? nullptr : &it->second;
}

Journal::SequenceSpace& Journal::space(std::string_view probe_id, std::uint64_t spool_id) {
  auto probe = probes_.find(probe_id);
  if (probe == probes_.end()) probe = probes_.emplace(std::string(probe_id), ProbeSpaces{}).first;
  auto [it, made] = probe->second.try_emplace(spool_id);
  it->second.last_use = ++use_clock_;
  if (made) forget_beyond_bound(probe->second, spool_id);
  return it->second;
}

void Journal::forget_beyond_bound(ProbeSpaces& spaces, std::uint64_t keep) {
  while (spaces.size() > kMaxSpoolsPerProbe) {
    auto oldest = spaces.end();
    for (auto it = spaces.begin(); it != spaces.end(); ++it)
      if (it->first != keep && (oldest == spaces.end() || it->second.last_use < oldest->second.last_use)) oldest = it;
    spaces.erase(oldest);
    ++stats_.spools_forgotten;
    snapshot_stale_ = true;
  }
}

bool Journal::begin_spool(std::string_view probe_id, std::uint64_t spool_id) {
  const bool known = find(probe_id, spool_id) != nullptr;
  (void)space(probe_id, spool_id);
  if (!known) ++stats_.spools_new;
  return !known;
}

std::size_t Journal::spools_of(std::string_view probe_id) const {
  const auto probe = probes_.find(probe_id);
  return probe == probes_.end() ? 0 : probe->second.size();
}

std::optional<std::uint64_t> Journal::latest_spool(std::string_view probe_id) const {
  const auto probe = probes_.find(probe_id);
  if (probe == probes_.end() || probe->second.empty()) return std::nullopt;
  const auto latest = std::max_element(probe->second.begin(), probe->second.end(), [](const auto& a, const auto& b) {
    return a.second.last_use < b.second.last_use;
  });
  return latest->first;
}

bool Journal::holds(std::string_view probe_id, std::uint64_t spool_id, std::uint64_t probe_seq) const {
  const SequenceSpace* seqs = find(probe_id, spool_id);
  return seqs != nullptr && seqs->held.contains(probe_seq);
}

StoreOutcome Journal::store(const JournalRecordMeta& meta, std::span<const std::uint8_t> frame, std::string* error) {
  if (holds(meta.probe_id, meta.spool_id, meta.probe_seq)) {
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
  space(meta.probe_id, meta.spool_id).held.insert(meta.probe_seq);
  uncommitted_.emplace(meta.probe_id, meta.spool_id);
  snapshot_stale_ = true;
  return StoreOutcome::stored;
}

std::uint64_t Journal::give_up_below(std::string_view probe_id, std::uint64_t spool_id, std::uint64_t first_seq) {
  if (first_seq <= 1) return 0;
  const std::uint64_t n = space(probe_id, spool_id).held.raise_floor(first_seq - 1);
  if (n == 0) return 0;
  stats_.seqs_given_up += n;
  uncommitted_.emplace(std::string(probe_id), spool_id);
  snapshot_stale_ = true;
  return n;
}

JournalError Journal::commit() {
  if (options_.fsync) {
    if (const auto e = log_->sync()) return {e.message()};
  }
  ++stats_.commits;
  for (const auto& [id, spool] : uncommitted_) {
    const auto probe = probes_.find(id);
    if (probe == probes_.end()) continue;
    const auto it = probe->second.find(spool);
    if (it != probe->second.end()) it->second.durable_through = it->second.held.cumulative();
  }
  uncommitted_.clear();
  return {};
}

std::uint64_t Journal::durable_through(std::string_view probe_id, std::uint64_t spool_id) const {
  const SequenceSpace* seqs = find(probe_id, spool_id);
  return seqs == nullptr ? 0 : seqs->durable_through;
}

wire::Ack Journal::ack_for(std::string_view probe_id, std::uint64_t spool_id) const {
  const SequenceSpace* seqs = find(probe_id, spool_id);
  return seqs == nullptr ? wire::Ack{} : seqs->held.to_ack();
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
  for (const auto& [id, spaces] : probes_) {
    std::vector<const ProbeSpaces::value_type*> by_use;
    for (const auto& entry : spaces) by_use.push_back(&entry);
    std::sort(by_use.begin(), by_use.end(), [](auto* a, auto* b) { return a->second.last_use < b->second.last_use; });
    nlohmann::json list = nlohmann::json::array();
    for (const auto* entry : by_use) {
      nlohmann::json ranges = nlohmann::json::array();
      for (const auto& [first, last] : entry->second.held.ranges()) ranges.push_back({first, last});
      list.push_back({{"spool", spool_name(entry->first)},
                      {"cumulative", entry->second.held.cumulative()},
                      {"ranges", std::move(ranges)}});
    }
    probes[id] = std::move(list);
  }
  const nlohmann::json doc = {
      {"format", kSnapshotFormat}, {"next_journal_seq", next_seq_}, {"probes", std::move(probes)}};
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
