#include "common/segment_log/segment_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "common/byte_writer.h"
#include "common/wire/crc32c.h"

namespace footfall::segment_log {

namespace {

constexpr std::array<std::uint8_t, kSegmentHeaderBytes> kSegmentHeader{'F', 'F', 'S', 'P', 'O', 'O', 'L',
                                                                       kSegmentFormat};
constexpr std::string_view kSegmentPrefix = "seg-";
constexpr std::string_view kSegmentSuffix = ".spool";
constexpr std::string_view kWatermarkFile = "acked";
// Slot: watermark u64, newest acked seq u64, its tag (two u64), crc u32, reserved u32.
constexpr std::size_t kWatermarkSlotBytes = 40;
constexpr std::size_t kWatermarkSlotCovered = 32;
constexpr std::size_t kWatermarkSlotBytesV1 = 16;  // format 1 file (32 bytes): seq u64, crc u32, reserved u32

// Record header layout per segment format.
struct RecordLayout {
  std::size_t header_bytes;
  std::uint32_t magic;
  std::size_t crc_at;  // the CRC covers bytes 4 .. crc_at of the header, then the payload
};
constexpr RecordLayout layout_of(std::uint8_t format) {
  return format == 1 ? RecordLayout{kRecordHeaderBytesV1, kRecordMagicV1, 16}
                     : RecordLayout{kRecordHeaderBytes, kRecordMagic, 32};
}

std::uint64_t get_le(const std::uint8_t* p, std::size_t n) { return load_le({p, n}, n); }
void set_le(std::uint8_t* p, std::uint64_t v, std::size_t n) { store_le({p, n}, v, n); }

// CRC over length, seq, tag and payload: a flipped length or seq is caught like a flipped payload byte.
std::uint32_t record_crc(const std::uint8_t* header, const RecordLayout& layout, std::span<const std::uint8_t> payload) {
  wire::Crc32c crc;
  crc.process_bytes(header + 4, layout.crc_at - 4);
  crc.process_bytes(payload.data(), payload.size());
  return crc.checksum();
}

std::string segment_name(std::uint64_t first_seq) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "seg-%020llu.spool", static_cast<unsigned long long>(first_seq));
  return buf;
}

std::optional<std::uint64_t> segment_seq(const std::string& name) {
  if (name.size() <= kSegmentPrefix.size() + kSegmentSuffix.size() || !name.starts_with(kSegmentPrefix) ||
      !name.ends_with(kSegmentSuffix))
    return std::nullopt;
  const char* first = name.data() + kSegmentPrefix.size();
  const char* last = name.data() + name.size() - kSegmentSuffix.size();
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc{} || ptr != last) return std::nullopt;
  return v;
}

Error sys_error(Errc code, const std::filesystem::path& path, int err = errno) {
  return {code, err, path.string()};
}

bool write_all(int fd, std::span<const iovec> parts, std::uint64_t offset) {
  std::array<iovec, 2> iov{};
  std::size_t n = std::min(parts.size(), iov.size());
  std::copy_n(parts.begin(), n, iov.begin());
  std::size_t first = 0;
  while (first < n) {
    const ssize_t w = ::pwritev(fd, iov.data() + first, static_cast<int>(n - first), static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    offset += static_cast<std::uint64_t>(w);
    auto left = static_cast<std::size_t>(w);
    while (first < n && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (first < n) {
      iov[first].iov_base = static_cast<std::uint8_t*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

bool read_all(int fd, std::uint8_t* out, std::size_t n, std::uint64_t offset) {
  while (n > 0) {
    const ssize_t r = ::pread(fd, out, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

}  // namespace

std::string_view to_string(Errc e) {
  switch (e) {
    case Errc::ok: return "ok";
    case Errc::invalid_limits: return "invalid_limits";
    case Errc::cannot_create_dir: return "cannot_create_dir";
    case Errc::io_error: return "io_error";
    case Errc::disk_full: return "disk_full";
    case Errc::record_too_large: return "record_too_large";
    case Errc::seq_not_increasing: return "seq_not_increasing";
    case Errc::full: return "full";
  }
  return "unknown";
}

std::string Error::message() const {
  std::string m(to_string(code));
  if (!path.empty()) m += ": " + path;
  if (sys_errno != 0) m += ": " + std::string(std::strerror(sys_errno));
  return m;
}

Log::Log(std::filesystem::path dir, Limits limits, FsyncPolicy fsync, std::int64_t now_ns)
    : dir_(std::move(dir)), limits_(limits), fsync_(fsync), oldest_unsynced_ns_(now_ns) {}

// A clean shutdown leaves nothing unsynced, whatever the policy's window.
Log::~Log() {
  if (fsync_.mode != FsyncMode::never) (void)sync();
}

OpenResult Log::open(const std::filesystem::path& dir, Limits limits, FsyncPolicy fsync, std::int64_t now_ns) {
  if (limits.segment_bytes <= kSegmentHeaderBytes + kRecordHeaderBytes || limits.max_record_bytes == 0 ||
      limits.max_total_bytes < limits.segment_bytes ||
      limits.max_total_bytes < kSegmentHeaderBytes + kRecordHeaderBytes + limits.max_record_bytes)
    return {nullptr, {Errc::invalid_limits, 0, dir.string()}};
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {nullptr, {Errc::cannot_create_dir, ec.value(), dir.string()}};
  std::unique_ptr<Log> log(new Log(dir, limits, fsync, now_ns));  // private constructor
  if (Error e = log->load()) return {nullptr, e};
  return {std::move(log), {}};
}

void Log::load_watermark() {
  const auto path = dir_ / kWatermarkFile;
  watermark_fd_ = UniqueFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!watermark_fd_.valid()) return;  // not fatal: without it a restart resends, which is harmless
  std::array<std::uint8_t, 2 * kWatermarkSlotBytes> buf{};
  const ssize_t n = ::pread(watermark_fd_.get(), buf.data(), buf.size(), 0);
  if (n == static_cast<ssize_t>(2 * kWatermarkSlotBytesV1)) {  // format 1: the watermark alone
    for (std::size_t slot = 0; slot < 2; ++slot) {
      const std::uint8_t* p = buf.data() + slot * kWatermarkSlotBytesV1;
      if (wire::crc32c(std::span<const std::uint8_t>(p, 8)) != get_le(p + 8, 4)) continue;  // torn slot
      watermark_ = std::max(watermark_, get_le(p, 8));
    }
    return;
  }
  for (std::size_t slot = 0; slot < 2; ++slot) {
    if (n < static_cast<ssize_t>((slot + 1) * kWatermarkSlotBytes)) break;
    const std::uint8_t* p = buf.data() + slot * kWatermarkSlotBytes;
    if (wire::crc32c(std::span<const std::uint8_t>(p, kWatermarkSlotCovered)) != get_le(p + kWatermarkSlotCovered, 4))
      continue;  // torn slot
    watermark_ = std::max(watermark_, get_le(p, 8));
    const std::uint64_t acked_seq = get_le(p + 8, 8);
    if (acked_seq != 0 && (!newest_acked_ || acked_seq > newest_acked_->seq))
      newest_acked_ = TaggedSeq{acked_seq, {get_le(p + 16, 8), get_le(p + 24, 8)}};
  }
  if (newest_acked_) {
    stored_acked_seq_ = newest_acked_->seq;
    note_newest(newest_acked_->seq, newest_acked_->tag);
  }
}

void Log::note_newest(std::uint64_t seq, Tag tag) {
  if (!newest_ || seq > newest_->seq) newest_ = TaggedSeq{seq, tag};
}

void Log::note_acked(const Record& rec) {
  if (!newest_acked_ || rec.seq > newest_acked_->seq) newest_acked_ = TaggedSeq{rec.seq, rec.tag};
}

void Log::store_watermark() {
  if (!watermark_fd_.valid()) return;
  // Two slots written in turn: a torn write spoils one, the other still holds the previous value.
  std::array<std::uint8_t, kWatermarkSlotBytes> slot{};
  set_le(slot.data(), watermark_, 8);
  if (newest_acked_) {
    set_le(slot.data() + 8, newest_acked_->seq, 8);
    set_le(slot.data() + 16, newest_acked_->tag.a, 8);
    set_le(slot.data() + 24, newest_acked_->tag.b, 8);
    stored_acked_seq_ = newest_acked_->seq;
  }
  set_le(slot.data() + kWatermarkSlotCovered,
         wire::crc32c(std::span<const std::uint8_t>(slot.data(), kWatermarkSlotCovered)), 4);
  const auto offset = static_cast<off_t>((watermark_writes_++ % 2) * kWatermarkSlotBytes);
  (void)::pwrite(watermark_fd_.get(), slot.data(), slot.size(), offset);
}

Error Log::load() {
  dir_fd_ = UniqueFd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd_.valid()) return sys_error(Errc::io_error, dir_);
  load_watermark();
  last_seq_ = watermark_;

  std::vector<std::pair<std::uint64_t, std::filesystem::path>> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto seq = segment_seq(it->path().filename().string())) found.emplace_back(*seq, it->path());
  }
  if (ec) return {Errc::io_error, ec.value(), dir_.string()};
  std::sort(found.begin(), found.end());

  for (auto& [first_seq, path] : found) {
    Segment seg;
    seg.first_seq = first_seq;
    seg.path = path;
    seg.fd = UniqueFd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!seg.fd.valid()) return sys_error(Errc::io_error, path);
    if (Error e = scan_segment(seg)) return e;
    for (Record& r : seg.records) {
      note_newest(r.seq, r.tag);
      if (r.seq <= watermark_) {
        r.acked = true;
        note_acked(r);  // its segment may go now: the watermark file keeps its tag
      } else {
        ++seg.unacked;
      }
    }
    if (seg.unacked == 0) {
      ::unlink(seg.path.c_str());
      dir_dirty_ = true;
      continue;
    }
    for (const Record& r : seg.records)
      if (!r.acked) depth_.unacked_bytes += r.length;
    depth_.unacked_records += seg.unacked;
    depth_.disk_bytes += seg.size;
    segments_.push_back(std::move(seg));
  }
  depth_.segments = segments_.size();
  // Appends go to a segment of the current format only.
  active_open_ = !segments_.empty() && segments_.back().format == kSegmentFormat &&
                 segments_.back().size < limits_.segment_bytes;
  update_watermark();
  return {};
}

// Reads a whole segment and indexes its valid records. A bad span followed by a valid record is skipped
// (the records after it were written and may have been synced: keep them); a bad span with nothing valid
// after it is a torn tail from a crash mid-write and is cut off.
Error Log::scan_segment(Segment& seg) {
  struct stat st {};
  if (::fstat(seg.fd.get(), &st) != 0) return sys_error(Errc::io_error, seg.path);
  const auto size = static_cast<std::size_t>(st.st_size);
  scratch_.resize(size);
  if (!read_all(seg.fd.get(), scratch_.data(), size, 0)) return sys_error(Errc::io_error, seg.path);
  const std::uint8_t* data = scratch_.data();

  if (size < kSegmentHeaderBytes || !std::equal(kSegmentHeader.begin(), kSegmentHeader.end() - 1, data) ||
      (data[kSegmentHeaderBytes - 1] != 1 && data[kSegmentHeaderBytes - 1] != kSegmentFormat)) {
    // Crashed while creating it: nothing valid can follow a missing header.
    depth_.torn_records += size > 0 ? 1 : 0;
    depth_.torn_bytes += size;
    seg.size = 0;
    return {};
  }

  seg.format = data[kSegmentHeaderBytes - 1];
  const RecordLayout layout = layout_of(seg.format);
  std::uint64_t prev_seq = last_seq_;
  auto valid_at = [&](std::size_t pos) -> bool {
    if (size - pos < layout.header_bytes) return false;
    const std::uint8_t* h = data + pos;
    if (get_le(h, 4) != layout.magic) return false;
    const auto len = get_le(h + 4, 4);
    if (len > limits_.max_record_bytes || len > size - pos - layout.header_bytes) return false;
    const auto seq = get_le(h + 8, 8);
    if (seq <= prev_seq) return false;
    return record_crc(h, layout, {h + layout.header_bytes, static_cast<std::size_t>(len)}) ==
           get_le(h + layout.crc_at, 4);
  };

  std::size_t pos = kSegmentHeaderBytes;
  while (pos < size) {
    if (!valid_at(pos)) {
      std::size_t next = pos + 1;
      while (next < size && !valid_at(next)) ++next;
      if (next >= size) {
        depth_.torn_records += 1;
        depth_.torn_bytes += size - pos;
        if (::ftruncate(seg.fd.get(), static_cast<off_t>(pos)) != 0) return sys_error(Errc::io_error, seg.path);
        break;
      }
      depth_.corrupt_records += 1;
      depth_.corrupt_bytes += next - pos;
      pos = next;
    }
    const std::uint8_t* h = data + pos;
    const auto len = static_cast<std::uint32_t>(get_le(h + 4, 4));
    const auto seq = get_le(h + 8, 8);
    const Tag tag = seg.format == 1 ? Tag{} : Tag{get_le(h + 16, 8), get_le(h + 24, 8)};
    seg.records.push_back({seq, pos, len, false, tag});
    prev_seq = seq;
    pos += layout.header_bytes + len;
  }
  seg.size = std::min(pos, size);
  last_seq_ = std::max(last_seq_, prev_seq);
  return {};
}

Error Log::start_segment(std::uint64_t first_seq) {
  Segment seg;
  seg.first_seq = first_seq;
  seg.path = dir_ / segment_name(first_seq);
  seg.fd = UniqueFd(::open(seg.path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!seg.fd.valid()) return sys_error(errno == ENOSPC ? Errc::disk_full : Errc::io_error, seg.path);
  const iovec part{const_cast<std::uint8_t*>(kSegmentHeader.data()), kSegmentHeader.size()};
  if (!write_all(seg.fd.get(), {&part, 1}, 0)) {
    const int err = errno;
    ::unlink(seg.path.c_str());
    return sys_error(err == ENOSPC ? Errc::disk_full : Errc::io_error, seg.path, err);
  }
  seg.size = kSegmentHeaderBytes;
  seg.dirty = true;
  depth_.disk_bytes += seg.size;
  segments_.push_back(std::move(seg));
  depth_.segments = segments_.size();
  active_open_ = true;
  dir_dirty_ = true;  // the new name must reach the disk before its records count as durable
  return {};
}

Dropped Log::drop_segment(std::size_t index) {
  Segment& seg = segments_[index];
  Dropped dropped;
  for (const Record& r : seg.records) {
    if (r.acked) continue;
    depth_.unacked_records -= 1;
    depth_.unacked_bytes -= r.length;
    dropped.records += 1;
    dropped.bytes += r.length;
  }
  depth_.disk_bytes -= seg.size;
  ::unlink(seg.path.c_str());
  if (index + 1 == segments_.size()) active_open_ = false;
  segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(index));
  depth_.segments = segments_.size();
  dir_dirty_ = true;
  return dropped;
}

Dropped Log::drop_oldest_segment() { return segments_.empty() ? Dropped{} : drop_segment(0); }

Error Log::append(std::uint64_t seq, std::span<const std::uint8_t> payload, std::int64_t now_ns, Tag tag) {
  if (seq <= last_seq_) return {Errc::seq_not_increasing, 0, {}};
  if (payload.size() > limits_.max_record_bytes) return {Errc::record_too_large, 0, {}};
  const std::uint64_t record_bytes = kRecordHeaderBytes + payload.size();

  const bool roll = !active_open_ || (segments_.back().size + record_bytes > limits_.segment_bytes &&
                                      !segments_.back().records.empty());
  const std::uint64_t needed = record_bytes + (roll ? kSegmentHeaderBytes : 0);
  if (depth_.disk_bytes + needed > limits_.max_total_bytes && !segments_.empty()) return {Errc::full, 0, {}};
  if (roll) {
    if (Error e = start_segment(seq)) return e;
  }

  Segment& seg = segments_.back();
  std::array<std::uint8_t, kRecordHeaderBytes> header{};
  set_le(header.data(), kRecordMagic, 4);
  set_le(header.data() + 4, payload.size(), 4);
  set_le(header.data() + 8, seq, 8);
  set_le(header.data() + 16, tag.a, 8);
  set_le(header.data() + 24, tag.b, 8);
  set_le(header.data() + 32, record_crc(header.data(), layout_of(kSegmentFormat), payload), 4);
  const std::array<iovec, 2> parts{iovec{header.data(), header.size()},
                                   iovec{const_cast<std::uint8_t*>(payload.data()), payload.size()}};
  if (!write_all(seg.fd.get(), parts, seg.size)) {
    const int err = errno;
    // Leave no half record behind: the file stays a clean sequence of whole records.
    (void)::ftruncate(seg.fd.get(), static_cast<off_t>(seg.size));
    return sys_error(err == ENOSPC || err == EDQUOT ? Errc::disk_full : Errc::io_error, seg.path, err);
  }
  seg.records.push_back({seq, seg.size, static_cast<std::uint32_t>(payload.size()), false, tag});
  note_newest(seq, tag);
  seg.size += record_bytes;
  seg.dirty = true;
  seg.unacked += 1;
  depth_.disk_bytes += record_bytes;
  depth_.unacked_records += 1;
  depth_.unacked_bytes += payload.size();
  last_seq_ = seq;
  if (seg.size >= limits_.segment_bytes) active_open_ = false;
  return after_append(now_ns);
}

Error Log::after_append(std::int64_t now_ns) {
  if (unsynced_records_++ == 0) oldest_unsynced_ns_ = now_ns;
  switch (fsync_.mode) {
    case FsyncMode::always: return sync();
    case FsyncMode::group:
      if (unsynced_records_ >= fsync_.every_records) return sync();
      return sync_if_due(now_ns);
    case FsyncMode::never: return {};
  }
  return {};
}

Error Log::sync_if_due(std::int64_t now_ns) {
  // The window is counted from the oldest record not yet on disk: that bounds what a power cut can take.
  if (fsync_.mode == FsyncMode::never || unsynced_records_ == 0) return {};
  if (fsync_.mode == FsyncMode::group && now_ns - oldest_unsynced_ns_ < fsync_.every_ns) return {};
  return sync();
}

Error Log::sync() {
  for (Segment& seg : segments_) {
    if (!seg.dirty) continue;
    if (::fdatasync(seg.fd.get()) != 0) return sys_error(Errc::io_error, seg.path);
    seg.dirty = false;
  }
  if (dir_dirty_ && ::fsync(dir_fd_.get()) != 0) return sys_error(Errc::io_error, dir_);
  if (watermark_fd_.valid()) (void)::fdatasync(watermark_fd_.get());
  unsynced_records_ = 0;
  dir_dirty_ = false;
  ++depth_.syncs;
  return {};
}

void Log::mark_acked(Segment& seg, Record& rec) {
  rec.acked = true;
  seg.unacked -= 1;
  depth_.unacked_records -= 1;
  depth_.unacked_bytes -= rec.length;
}

void Log::forget_if_done(std::size_t index) {
  if (segments_[index].unacked == 0) (void)drop_segment(index);
}

bool Log::ack(std::uint64_t seq) {
  auto seg_it = std::upper_bound(segments_.begin(), segments_.end(), seq,
                                 [](std::uint64_t s, const Segment& seg) { return s < seg.first_seq; });
  if (seg_it == segments_.begin()) return false;
  --seg_it;
  auto& recs = seg_it->records;
  auto rec = std::lower_bound(recs.begin(), recs.end(), seq, [](const Record& r, std::uint64_t s) { return r.seq < s; });
  if (rec == recs.end() || rec->seq != seq || rec->acked) return false;
  mark_acked(*seg_it, *rec);
  note_acked(*rec);
  forget_if_done(static_cast<std::size_t>(seg_it - segments_.begin()));
  update_watermark();
  return true;
}

void Log::ack_through(std::uint64_t through) {
  while (!segments_.empty() && segments_.front().first_seq <= through) {
    Segment& seg = segments_.front();
    for (Record& r : seg.records)
      if (r.seq <= through && !r.acked) {
        mark_acked(seg, r);
        note_acked(r);
      }
    if (seg.unacked != 0) break;
    (void)drop_segment(0);
  }
  last_seq_ = std::max(last_seq_, through);
  update_watermark();
}

void Log::update_watermark() {
  std::uint64_t w = last_seq_;
  for (const Segment& seg : segments_) {
    if (seg.unacked == 0) continue;
    for (const Record& r : seg.records)
      if (!r.acked) {
        w = r.seq - 1;
        break;
      }
    break;
  }
  const bool acked_newer = newest_acked_ && newest_acked_->seq > stored_acked_seq_;
  if (w > watermark_ || acked_newer) {
    watermark_ = std::max(watermark_, w);
    store_watermark();
  }
}

ReadResult Log::read_next_unacked(std::uint64_t after_seq, std::vector<std::uint8_t>& payload) {
  // Segments emptied by earlier rot are forgotten here, where no record reference is held.
  for (std::size_t i = segments_.size(); i-- > 0;) forget_if_done(i);
  update_watermark();
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    Segment& seg = segments_[i];
    if (seg.unacked == 0 || (!seg.records.empty() && seg.records.back().seq <= after_seq)) continue;
    for (Record& r : seg.records) {
      if (r.acked || r.seq <= after_seq) continue;
      const RecordLayout layout = layout_of(seg.format);
      std::array<std::uint8_t, kRecordHeaderBytes> header{};
      payload.resize(r.length);
      if (!read_all(seg.fd.get(), header.data(), layout.header_bytes, r.offset) ||
          !read_all(seg.fd.get(), payload.data(), payload.size(), r.offset + layout.header_bytes))
        return {sys_error(Errc::io_error, seg.path), std::nullopt};
      if (record_crc(header.data(), layout, payload) == get_le(header.data() + layout.crc_at, 4) &&
          get_le(header.data() + 8, 8) == r.seq)
        return {{}, r.seq};
      // Rotted on disk since it was indexed: unreadable data cannot be sent, so count it and move on.
      depth_.corrupt_records += 1;
      depth_.corrupt_bytes += layout.header_bytes + r.length;
      mark_acked(seg, r);
    }
  }
  payload.clear();
  return {{}, std::nullopt};
}

}  // namespace footfall::segment_log
