#include "probe/spool/spool.h"

#include <cerrno>
#include <random>

#include "common/atomic_file.h"
#include "common/file_text.h"

namespace footfall::probe::spool {

namespace {

// The log's codes are the spool's, but for full, which the spool answers as spool_full.
SpoolError from_log(const segment_log::Error& e) {
  static_assert(static_cast<int>(segment_log::Errc::full) == static_cast<int>(SpoolErrc::spool_full));
  return {static_cast<SpoolErrc>(e.code), e.sys_errno, e.path};
}

segment_log::Tag tag_of(SourcePosition p) { return {p.source, p.index}; }

std::uint64_t random_identity() {
  std::random_device random;  // the kernel's generator (getrandom or /dev/urandom)
  for (;;) {
    const std::uint64_t id = (static_cast<std::uint64_t>(random()) << 32) | random();
    if (id != 0) return id;  // 0 means none on the wire
  }
}

}  // namespace

std::string format_identity(std::uint64_t identity) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, identity >>= 4) s[static_cast<std::size_t>(i)] = hex[identity & 15];
  return s;
}

std::optional<std::uint64_t> parse_identity(std::string_view text) {
  if (text.size() != 17 || text[16] != '\n') return std::nullopt;
  std::uint64_t v = 0;
  for (const char c : text.substr(0, 16)) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return v;
}

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
  std::unique_ptr<Spool> spool(new Spool(std::move(opened.log), limits.full_policy, dir));  // private constructor
  if (SpoolError e = spool->load_identity()) return {nullptr, e};
  return {std::move(spool), {}};
}

SpoolError Spool::load_identity() {
  const auto path = dir_ / kIdentityFile;
  const FileText file = read_file(path, 64);
  if (file.ok()) {
    if (const auto id = parse_identity(file.text)) {
      identity_ = *id;
      return {};
    }
  } else if (file.error != EFBIG && (file.opened || file.error != ENOENT)) {
    return {SpoolErrc::io_error, file.error, path.string()};
  }
  const bool had_records = log_->last_seq() != 0;
  if (!file.opened && had_records) {
    // Made before identities: it keeps the sequence space the gateway already has for this probe.
    identity_ = 0;
  } else {
    identity_ = random_identity();
    if (file.opened && had_records)
      identity_note_ = "identity file " + path.string() + " unreadable: the spool takes a new identity " +
                       format_identity(identity_) + " (unacked batches may be stored twice, none lost)";
  }
  return write_identity(identity_);
}

SpoolError Spool::write_identity(std::uint64_t identity) {
  const auto path = dir_ / kIdentityFile;
  if (const auto e = atomic_file::write(path, format_identity(identity) + "\n"))
    return {e->sys_errno == ENOSPC || e->sys_errno == EDQUOT ? SpoolErrc::disk_full : SpoolErrc::io_error,
            e->sys_errno, e->path.string()};
  identity_ = identity;
  return {};
}

SpoolError Spool::renew_identity() { return write_identity(random_identity()); }

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
