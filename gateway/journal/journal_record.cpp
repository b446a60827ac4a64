#include "gateway/journal/journal_record.h"

#include "common/byte_cursor.h"
#include "common/byte_writer.h"

namespace footfall::gateway {

void encode_journal_record(const JournalRecordMeta& meta, std::span<const std::uint8_t> frame,
                           std::vector<std::uint8_t>& out) {
  out.clear();
  ByteWriter w(out);
  w.u8(kJournalRecordVersion);
  w.u8(static_cast<std::uint8_t>(meta.probe_id.size()));
  w.bytes(meta.probe_id);
  w.le64(meta.spool_id);
  w.le64(meta.probe_seq);
  w.le64(static_cast<std::uint64_t>(meta.received_ns));
  w.le64(static_cast<std::uint64_t>(meta.clock_offset_ns));
  w.le64(static_cast<std::uint64_t>(meta.correction_ns));
  w.u8(static_cast<std::uint8_t>((meta.offset_known ? 1 : 0) | (meta.replay ? 2 : 0)));
  w.le32(static_cast<std::uint32_t>(frame.size()));
  w.bytes(frame);
}

std::string spool_name(std::uint64_t spool_id) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, spool_id >>= 4) s[static_cast<std::size_t>(i)] = hex[spool_id & 15];
  return s;
}

std::optional<JournalRecordView> decode_journal_record(std::span<const std::uint8_t> payload) {
  ByteCursor in(payload);
  const std::uint8_t version = in.u8();
  if (version < 1 || version > kJournalRecordVersion) return std::nullopt;
  JournalRecordView view;
  const auto id = in.bytes(in.u8());
  view.meta.probe_id.assign(id.begin(), id.end());
  view.meta.spool_id = version >= 2 ? in.le64() : 0;
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
