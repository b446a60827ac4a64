#pragma once
// Appends little-endian integers and raw bytes to a buffer: the writing side of ByteCursor.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace footfall {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}

  [[nodiscard]] std::size_t size() const { return out_.size(); }

  void u8(std::uint8_t v) { out_.push_back(v); }
  void le16(std::uint16_t v) { le(v, 2); }
  void le32(std::uint32_t v) { le(v, 4); }
  void le64(std::uint64_t v) { le(v, 8); }
  // The low `n` bytes of v, least significant first (n <= 8).
  void le(std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void bytes(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

 private:
  std::vector<std::uint8_t>& out_;
};

// Writes the low `n` bytes of v at `at`, least significant first: for fixed headers filled in place.
inline void store_le(std::span<std::uint8_t> at, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) at[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
// Reads the low `n` bytes at `at`, least significant first: the partner of store_le for fixed headers.
inline std::uint64_t load_le(std::span<const std::uint8_t> at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | at[i];
  return v;
}

}  // namespace footfall
