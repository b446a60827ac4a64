#include "common/mac_address.h"

namespace footfall {
namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<MacAddress> MacAddress::parse(std::string_view text) {
  if (text.size() != 17) return std::nullopt;
  MacAddress m;
  for (std::size_t i = 0; i < 6; ++i) {
    const std::size_t p = i * 3;
    if (i > 0 && text[p - 1] != ':' && text[p - 1] != '-') return std::nullopt;
    const int hi = hex_value(text[p]);
    const int lo = hex_value(text[p + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    m.octets[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return m;
}

char* MacAddress::write(char* out) const {
  static constexpr char digits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 6; ++i) {
    if (i > 0) *out++ = ':';
    *out++ = digits[octets[i] >> 4];
    *out++ = digits[octets[i] & 0x0f];
  }
  return out;
}

std::string MacAddress::to_string() const {
  std::string s(17, '\0');
  write(s.data());
  return s;
}

}  // namespace footfall
