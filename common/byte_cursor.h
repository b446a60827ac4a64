#pragma once
// Bounds-checked reader over untrusted bytes. Every read checks the remaining length; a failed read
// leaves the cursor failed (ok() == false) and returns zero, so parsers test once after a group of reads.
#include <cstddef>
#include <cstdint>
#include <span>

namespace footfall {

class ByteCursor {
 public:
  ByteCursor() = default;
  explicit ByteCursor(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::size_t offset() const { return pos_; }
  [[nodiscard]] std::size_t remaining() const { return ok_ ? bytes_.size() - pos_ : 0; }
  [[nodiscard]] std::span<const std::uint8_t> rest() const {
    return ok_ ? bytes_.subspan(pos_) : std::span<const std::uint8_t>{};
  }

  bool has(std::size_t n) const { return ok_ && bytes_.size() - pos_ >= n; }

  std::uint8_t u8() {
    if (!need(1)) return 0;
    return bytes_[pos_++];
  }
  std::uint16_t le16() {
    if (!need(2)) return 0;
    const auto v = static_cast<std::uint16_t>(bytes_[pos_] | (bytes_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  std::uint16_t be16() {
    if (!need(2)) return 0;
    const auto v = static_cast<std::uint16_t>((bytes_[pos_] << 8) | bytes_[pos_ + 1]);
    pos_ += 2;
    return v;
  }
  std::uint32_t le32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | bytes_[pos_ + static_cast<std::size_t>(i)];
    pos_ += 4;
    return v;
  }
  std::uint32_t be32() {
    if (!need(4)) return 0;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | bytes_[pos_ + i];
    pos_ += 4;
    return v;
  }
  std::uint64_t le64() {
    if (!need(8)) return 0;
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | bytes_[pos_ + static_cast<std::size_t>(i)];
    pos_ += 8;
    return v;
  }
  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (!need(n)) return {};
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  bool skip(std::size_t n) {
    if (!need(n)) return false;
    pos_ += n;
    return true;
  }
  // Advances to the next multiple of `alignment` counted from the start of the buffer.
  bool align(std::size_t alignment) {
    if (alignment <= 1) return ok_;
    const std::size_t pad = (alignment - pos_ % alignment) % alignment;
    return skip(pad);
  }

 private:
  bool need(std::size_t n) {
    if (!ok_ || bytes_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::span<const std::uint8_t> bytes_{};
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace footfall
