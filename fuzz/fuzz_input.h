#pragma once
// How fuzz inputs are laid out, shared by the fuzz targets, the replay runner and the corpus extractor so that
// a packet taken from a capture means the same thing to all of them.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

namespace footfall::fuzz {

// fuzz_packet: one selector byte, then the captured bytes. The selector's low 7 bits pick the link type (modulo
// the table, so every byte value is meaningful); bit 7 says the capture cut the packet short (caplen < len).
inline constexpr std::array<int, 7> kLinkTypes{105, 119, 127, 163, 192, 251, 256};
inline constexpr std::uint8_t kCutBySnaplen = 0x80;

struct PacketInput {
  int link_type = 0;
  std::span<const std::uint8_t> bytes;
  std::uint32_t wire_length = 0;
};

inline std::optional<PacketInput> decode_packet_input(std::span<const std::uint8_t> input) {
  if (input.empty()) return std::nullopt;
  const std::uint8_t selector = input[0];
  PacketInput p;
  p.link_type = kLinkTypes[(selector & 0x7f) % kLinkTypes.size()];
  p.bytes = input.subspan(1);
  const auto caplen = static_cast<std::uint32_t>(
      std::min<std::size_t>(p.bytes.size(), std::numeric_limits<std::uint32_t>::max() - 1));
  p.wire_length = (selector & kCutBySnaplen) != 0 ? caplen + 1 : caplen;
  return p;
}

inline std::optional<std::uint8_t> packet_selector(int link_type, bool cut_by_snaplen) {
  for (std::size_t i = 0; i < kLinkTypes.size(); ++i) {
    if (kLinkTypes[i] == link_type) {
      return static_cast<std::uint8_t>(i | (cut_by_snaplen ? kCutBySnaplen : 0));
    }
  }
  return std::nullopt;
}

// fuzz_dot11: one flag byte (bit 0: the frame ends with its FCS), then the frame from frame control on.
inline constexpr std::uint8_t kDot11FcsAtEnd = 0x01;
// fuzz_ble: one flag byte (bit 0: LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR, else plain link layer), then the bytes.
inline constexpr std::uint8_t kBleWithPhdr = 0x01;
// fuzz_radiotap: the whole input is the radiotap header and what follows it.

// The parsers return spans into their input; a span that leaves it would be read out of bounds by the caller.
inline bool lies_within(std::span<const std::uint8_t> inner, std::span<const std::uint8_t> outer) {
  if (inner.empty()) return true;
  const auto begin = reinterpret_cast<std::uintptr_t>(outer.data());
  const auto first = reinterpret_cast<std::uintptr_t>(inner.data());
  return first >= begin && inner.size() <= outer.size() && first - begin <= outer.size() - inner.size();
}

}  // namespace footfall::fuzz
