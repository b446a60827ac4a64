#include "gateway/publish/outbox.h"

#include <charconv>
#include <fstream>
#include <iterator>
#include <system_error>

#include "common/atomic_file.h"
#include "common/byte_cursor.h"
#include "common/byte_writer.h"

namespace footfall::gateway::publish {
namespace {

// Record layout: version byte, topic length (u16 LE), topic, payload.
constexpr std::uint8_t kRecordVersion = 1;
constexpr std::size_t kRecordPrefix = 3;

// Reads the epoch stamp, or writes one durably on first use.
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
  if (const auto e = atomic_file::write(path, std::to_string(epoch) + "\n")) {
    error = e->message();
    return false;
  }
  return true;
}

OutboxError from_log(const segment_log::Error& e) {
  switch (e.code) {
    case segment_log::Errc::ok: return {};
    case segment_log::Errc::full:
    case segment_log::Errc::disk_full: return {OutboxErrc::full, e.message()};
    case segment_log::Errc::record_too_large: return {OutboxErrc::record_too_large, e.message()};
    default: return {OutboxErrc::io_error, e.message()};
  }
}

}  // namespace

std::string_view to_string(OutboxErrc e) {
  switch (e) {
    case OutboxErrc::ok: return "ok";
    case OutboxErrc::full: return "full";
    case OutboxErrc::record_too_large: return "record_too_large";
    case OutboxErrc::io_error: return "io_error";
  }
  return "unknown";
}

std::string OutboxError::message() const {
  return detail.empty() ? std::string(to_string(code)) : detail;
}

OutboxOpen Outbox::open(const std::filesystem::path& dir, OutboxLimits limits, segment_log::FsyncPolicy fsync,
                        std::int64_t now_ms) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {nullptr, "cannot create outbox folder " + dir.string() + ": " + ec.message()};
  std::uint64_t epoch = 0;
  std::string error;
  if (!load_or_stamp_epoch(dir, now_ms, epoch, error)) return {nullptr, error};

  // The folder keeps the name it had when the outbox was built on the probe's spool: existing outboxes open.
  auto opened = segment_log::Log::open(dir / "spool", {limits.max_total_bytes, limits.segment_bytes, limits.max_record_bytes},
                                       fsync, now_ms * 1'000'000);
  if (!opened.log) return {nullptr, "cannot open outbox: " + opened.error.message()};
  return {std::unique_ptr<Outbox>(new Outbox(std::move(opened.log), limits, epoch)), {}};
}

OutboxError Outbox::append(std::uint64_t seq, std::string_view topic, std::string_view payload, std::int64_t now_ms) {
  if (topic.size() > 0xffff) return {OutboxErrc::record_too_large, "topic longer than 65535 bytes"};
  record_.clear();
  record_.reserve(kRecordPrefix + topic.size() + payload.size());
  ByteWriter w(record_);
  w.u8(kRecordVersion);
  w.le16(static_cast<std::uint16_t>(topic.size()));
  w.bytes(topic);
  w.bytes(payload);
  // Full is refused, never made room for: an outbox never drops what it accepted.
  return from_log(log_->append(seq, record_, now_ms * 1'000'000));
}

OutboxError Outbox::sync_if_due(std::int64_t now_ms) { return from_log(log_->sync_if_due(now_ms * 1'000'000)); }

OutboxError Outbox::sync() { return from_log(log_->sync()); }

bool Outbox::read_next(std::uint64_t after_seq, OutboxItem& out, OutboxError& error) {
  for (;;) {
    const segment_log::ReadResult r = log_->read_next_unacked(after_seq, record_);
    error = from_log(r.error);
    if (error || !r.seq) return false;
    ByteCursor in(record_);
    const std::uint8_t version = in.u8();
    const std::size_t topic_len = in.le16();
    const auto topic = in.bytes(topic_len);
    if (!in.ok() || version != kRecordVersion || topic_len == 0) {
      // CRC-good but not ours (a foreign file in the folder): unsendable, so retire it.
      log_->ack(*r.seq);
      ++foreign_records_;
      after_seq = *r.seq;
      continue;
    }
    const auto payload = in.rest();
    out.seq = *r.seq;
    out.topic.assign(topic.begin(), topic.end());
    out.payload.assign(payload.begin(), payload.end());
    return true;
  }
}

}  // namespace footfall::gateway::publish
