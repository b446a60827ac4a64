#include "gateway/journal/journal_record.h"

#include "common/byte_cursor.h"

namespace footfall::gateway {

namespace {

void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

void encode_journal_record(const JournalRecordMeta& meta, std::span<const std::uint8_t> frame,
                           std::vector<std::uint8_t>& out) {
  out.clear();
  out.push_back(kJournalRecordVersion);
  out.push_back(static_cast<std::uint8_t>(meta.probe_id.size()));
  out.insert(out.end(), meta.probe_id.begin(), meta.probe_id.end());
  put_le(out, meta.probe_seq, 8);
  put_le(out, static_cast<std::uint64_t>(meta.received_ns), 8);
  put_le(out, static_cast<std::uint64_t>(meta.clock_offset_ns), 8);
  put_le(out, static_cast<std::uint64_t>(meta.correction_ns), 8);
  out.push_back(static_cast<std::uint8_t>((meta.offset_known ? 1 : 0) | (meta.replay ? 2 : 0)));
  put_le(out, frame.size(), 4);
  out.insert(out.end(), frame.begin(), frame.end());
}

std::optional<JournalRecordView> decode_journal_record(std::span<const std::uint8_t> payload) {
  ByteCursor in(payload);
  if (in.u8() != kJournalRecordVersion) return std::nullopt;
  JournalRecordView view;
  const auto id = in.bytes(in.u8());
  view.meta.probe_id.assign(id.begin(), id.end());
  view.meta.probe_seq = in.le64();
  view.meta.received_ns = static_cast<std::int64_t>(in.le64());
  view.meta.clock_offset_ns = static_cast<std::int64_t>(in.le64());
  view.meta.correction_ns = static_cast<std::int64_t>(in.le64());
  const std::uint8_t flags = in.u8();
  view.meta.offset_known = (flags & 1) != 0;
  view.meta.replay = (flags & 2) != 0;
  view.frame = in.bytes(in.le32());
  if (!in.ok() || in.remaining() != 0 || (flags & ~3u) != 0) return std::nullopt;
  return view;
}

}  // namespace footfall::gateway
