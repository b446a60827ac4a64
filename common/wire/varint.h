#pragma once
// LEB128 varints and zigzag: small numbers (indices, time deltas, jitter) take one byte.
#include <cstdint>
#include <vector>

#include "common/byte_cursor.h"
#include "common/byte_writer.h"

namespace footfall::wire {

inline constexpr std::size_t kMaxVarintBytes = 10;

inline void put_varint(ByteWriter& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.u8(static_cast<std::uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.u8(static_cast<std::uint8_t>(v));
}
inline void put_varint(std::vector<std::uint8_t>& out, std::uint64_t v) {
  ByteWriter w(out);
  put_varint(w, v);
}

constexpr std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

inline void put_zigzag(ByteWriter& out, std::int64_t v) { put_varint(out, zigzag(v)); }
inline void put_zigzag(std::vector<std::uint8_t>& out, std::int64_t v) { put_varint(out, zigzag(v)); }

inline void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, std::size_t bytes) { ByteWriter(out).le(v, bytes); }

// Reads one varint. Sets `overlong` (and fails the read) for more than 10 bytes or bits past 64, so a
// hostile stream cannot make two encodings of one value or wrap silently.
inline bool get_varint(ByteCursor& in, std::uint64_t& value, bool& overlong) {
  value = 0;
  for (std::size_t i = 0; i < kMaxVarintBytes; ++i) {
    const std::uint8_t byte = in.u8();
    if (!in.ok()) return false;
    const std::uint64_t payload = byte & 0x7F;
    if (i == kMaxVarintBytes - 1 && payload > 1) {
      overlong = true;
      return false;
    }
    value |= payload << (7 * i);
    if ((byte & 0x80) == 0) return true;
  }
  overlong = true;
  return false;
}

}  // namespace footfall::wire
