#pragma once
// A 48-bit IEEE 802 address (WiFi MAC or Bluetooth device address), shared by the probe and the gateway.
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace footfall {

struct MacAddress {
  std::array<std::uint8_t, 6> octets{};

  static MacAddress from_bytes(std::span<const std::uint8_t, 6> b) {
    MacAddress m;
    for (std::size_t i = 0; i < 6; ++i) m.octets[i] = b[i];
    return m;
  }
  // Accepts "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff", any case.
  static std::optional<MacAddress> parse(std::string_view text);

  // Bit 0x02 of the first octet: set by phones that randomise their address.
  [[nodiscard]] bool locally_administered() const { return (octets[0] & 0x02) != 0; }
  [[nodiscard]] bool group() const { return (octets[0] & 0x01) != 0; }
  [[nodiscard]] std::uint64_t as_u64() const {
    std::uint64_t v = 0;
    for (auto o : octets) v = (v << 8) | o;
    return v;
  }

  // Writes exactly 17 characters, lowercase, colon separated; returns the end.
  char* write(char* out) const;
  [[nodiscard]] std::string to_string() const;

  auto operator<=>(const MacAddress&) const = default;
};

}  // namespace footfall
