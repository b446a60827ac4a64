#include "gateway/publish/outbox.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

namespace footfall::gateway::publish {
namespace {

// Record layout: version byte, topic length (u16 LE), topic, payload.
constexpr std::uint8_t kRecordVersion = 1;
constexpr std::size_t kRecordPrefix = 3;

std::string sys_message(const char* what, const std::filesystem::path& p) {
  return std::string(what) + " " + p.string() + ": " + std::strerror(errno);
}

// Reads the epoch stamp, or writes one (temp file, fsync, rename) on first use.
bool load_or_stamp_epoch(const std::filesystem::path& dir, std::int64_t now_ms, std::uint64_t& epoch,
                         std::string& error) {
  const auto path = dir / "epoch";
  if (std::ifstream in(path); in) {
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), epoch);
    if (ec == std::errc() && epoch != 0) return true;
    error = "unreadable epoch stamp in " + path.string();
    return false;
  }
  epoch = static_cast<std::uint64_t>(now_ms / 1000);
  if (epoch == 0) epoch = 1;
  const auto tmp = dir / "epoch.tmp";
  const std::string text = std::to_string(epoch) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = sys_message("cannot create", tmp);
    return false;
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = sys_message("cannot write", path);
    return false;
  }
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

OutboxOpen Outbox::open(const std::filesystem::path& dir, OutboxLimits limits, spool::FsyncPolicy fsync,
                        std::int64_t now_ms) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {nullptr, "cannot create outbox folder " + dir.string() + ": " + ec.message()};
  std::uint64_t epoch = 0;
  std::string error;
  if (!load_or_stamp_epoch(dir, now_ms, epoch, error)) return {nullptr, error};

  spool::SpoolLimits spool_limits;
  spool_limits.max_total_bytes = limits.max_total_bytes;
  spool_limits.segment_bytes = limits.segment_bytes;
  spool_limits.max_record_bytes = limits.max_record_bytes;
  spool_limits.full_policy = spool::FullPolicy::reject_newest;  // an outbox never drops what it accepted
  auto opened = spool::Spool::open(dir / "spool", spool_limits, fsync, now_ms * 1'000'000);
  if (!opened.spool) return {nullptr, "cannot open outbox: " + opened.error.message()};
  return {std::unique_ptr<Outbox>(new Outbox(std::move(opened.spool), limits, epoch)), {}};
}

spool::SpoolError Outbox::append(std::uint64_t seq, std::string_view topic, std::string_view payload,
                                 std::int64_t now_ms) {
  if (topic.size() > 0xffff) return {spool::SpoolErrc::record_too_large, 0, {}};
  record_.clear();
  record_.reserve(kRecordPrefix + topic.size() + payload.size());
  record_.push_back(kRecordVersion);
  record_.push_back(static_cast<std::uint8_t>(topic.size() & 0xff));
  record_.push_back(static_cast<std::uint8_t>(topic.size() >> 8));
  record_.insert(record_.end(), topic.begin(), topic.end());
  record_.insert(record_.end(), payload.begin(), payload.end());
  return spool_->append(seq, record_, now_ms * 1'000'000);
}

bool Outbox::read_next(std::uint64_t after_seq, OutboxItem& out, spool::SpoolError& error) {
  for (;;) {
    const spool::ReadResult r = spool_->read_next_unacked(after_seq, record_);
    error = r.error;
    if (error || !r.seq) return false;
    const std::size_t topic_len = record_.size() >= kRecordPrefix ? record_[1] | (std::size_t{record_[2]} << 8) : 0;
    if (record_.size() < kRecordPrefix || record_[0] != kRecordVersion || topic_len == 0 ||
        kRecordPrefix + topic_len > record_.size()) {
      // CRC-good but not ours (a foreign file in the folder): unsendable, so retire it.
      spool_->ack(*r.seq);
      ++foreign_records_;
      after_seq = *r.seq;
      continue;
    }
    const char* base = reinterpret_cast<const char*>(record_.data());
    out.seq = *r.seq;
    out.topic.assign(base + kRecordPrefix, topic_len);
    out.payload.assign(base + kRecordPrefix + topic_len, record_.size() - kRecordPrefix - topic_len);
    return true;
  }
}

}  // namespace footfall::gateway::publish
