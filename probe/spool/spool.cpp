#include "probe/spool/spool.h"

namespace footfall::probe::spool {

namespace {

// The log's codes are the spool's, but for full, which the spool answers as spool_full.
SpoolError from_log(const segment_log::Error& e) {
  static_assert(static_cast<int>(segment_log::Errc::full) == static_cast<int>(SpoolErrc::spool_full));
  return {static_cast<SpoolErrc>(e.code), e.sys_errno, e.path};
}

segment_log::Tag tag_of(SourcePosition p) { return {p.source, p.index}; }

}  // namespace

std::string_view to_string(FullPolicy p) {
  switch (p) {
    case FullPolicy::drop_oldest: return "drop_oldest";
    case FullPolicy::reject_newest: return "reject_newest";
  }
  return "unknown";
}

std::string_view to_string(SpoolErrc e) {
  return e == SpoolErrc::spool_full ? "spool_full" : segment_log::to_string(static_cast<segment_log::Errc>(e));
}

// The log's message, which names full as "full".
std::string SpoolError::message() const {
  const std::string m = segment_log::Error{static_cast<segment_log::Errc>(code), sys_errno, path}.message();
  return code == SpoolErrc::spool_full ? "spool_" + m : m;
}

OpenResult Spool::open(const std::filesystem::path& dir, SpoolLimits limits, FsyncPolicy fsync, std::int64_t now_ns) {
  auto opened = segment_log::Log::open(
      dir, {limits.max_total_bytes, limits.segment_bytes, limits.max_record_bytes}, fsync, now_ns);
  if (!opened.log) return {nullptr, from_log(opened.error)};
  return {std::unique_ptr<Spool>(new Spool(std::move(opened.log), limits.full_policy)), {}};  // private constructor
}

SpoolError Spool::append(std::uint64_t seq, std::span<const std::uint8_t> payload, std::int64_t now_ns,
                         SourcePosition position) {
  for (;;) {
    const segment_log::Error e = log_->append(seq, payload, now_ns, tag_of(position));
    if (e.code != segment_log::Errc::full) return from_log(e);
    if (full_policy_ == FullPolicy::reject_newest) {
      ++full_rejects_;
      return from_log(e);
    }
    // Oldest first until the record fits; the log answers full only while it holds a segment.
    const segment_log::Dropped dropped = log_->drop_oldest_segment();
    full_drop_records_ += dropped.records;
    full_drop_bytes_ += dropped.bytes;
  }
}

SpoolError Spool::sync_if_due(std::int64_t now_ns) { return from_log(log_->sync_if_due(now_ns)); }

SpoolError Spool::sync() { return from_log(log_->sync()); }

ReadResult Spool::read_next_unacked(std::uint64_t after_seq, std::vector<std::uint8_t>& payload) {
  const segment_log::ReadResult r = log_->read_next_unacked(after_seq, payload);
  return {from_log(r.error), r.seq};
}

SpoolDepth Spool::depth() const {
  const segment_log::Depth d = log_->depth();
  SpoolDepth s;
  s.unacked_records = d.unacked_records;
  s.unacked_bytes = d.unacked_bytes;
  s.disk_bytes = d.disk_bytes;
  s.segments = d.segments;
  s.full_drop_records = full_drop_records_;
  s.full_drop_bytes = full_drop_bytes_;
  s.full_rejects = full_rejects_;
  s.torn_records = d.torn_records;
  s.torn_bytes = d.torn_bytes;
  s.corrupt_records = d.corrupt_records;
  s.corrupt_bytes = d.corrupt_bytes;
  s.syncs = d.syncs;
  return s;
}

std::optional<NewestRecord> Spool::newest_record() const {
  const auto newest = log_->newest();
  if (!newest) return std::nullopt;
  return NewestRecord{newest->seq, {newest->tag.a, newest->tag.b}};
}

}  // namespace footfall::probe::spool
