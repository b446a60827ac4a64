#include "common/wire/crc32c.h"

#include <array>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define FOOTFALL_CRC32C_SSE42 1
#endif

namespace footfall::wire {

namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;  // 0x1EDC6F41 bit-reversed

using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kPoly : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t i = 0; i < 256; ++i)
    for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  return t;
}

constexpr Tables kTables = make_tables();

// Byte order independent: the bytes are combined as little-endian whatever the CPU (big-endian MIPS too).
inline std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::uint32_t slicing_by_8(std::uint32_t crc, const std::uint8_t* p, std::size_t n) {
  std::uint32_t c = ~crc;
  while (n >= 8) {
    const std::uint64_t v = load_le64(p) ^ c;
    c = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
        kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^ kTables[2][(v >> 40) & 0xFF] ^
        kTables[1][(v >> 48) & 0xFF] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFFu];
  return ~c;
}

#ifdef FOOTFALL_CRC32C_SSE42
__attribute__((target("sse4.2"))) std::uint32_t sse42(std::uint32_t crc, const std::uint8_t* p, std::size_t n) {
  std::uint64_t c = ~crc;
  while (n >= 8) {
    std::uint64_t v;
    __builtin_memcpy(&v, p, 8);  // x86 is little-endian: a plain load
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}
#endif

using Implementation = std::uint32_t (*)(std::uint32_t, const std::uint8_t*, std::size_t);

Implementation choose() {
#ifdef FOOTFALL_CRC32C_SSE42
  __builtin_cpu_init();  // may run before main, from another file's static initializer
  if (__builtin_cpu_supports("sse4.2")) return sse42;
#endif
  return slicing_by_8;
}

// Chosen on first use (safe from static initializers too): the CPU does not change while the program runs.
Implementation chosen() {
  static const Implementation implementation = choose();
  return implementation;
}

}  // namespace

std::uint32_t crc32c_extend(std::uint32_t crc, const std::uint8_t* data, std::size_t size) {
  return chosen()(crc, data, size);
}

std::uint32_t crc32c_extend_portable(std::uint32_t crc, const std::uint8_t* data, std::size_t size) {
  return slicing_by_8(crc, data, size);
}

const char* crc32c_implementation() { return chosen() == slicing_by_8 ? "slicing-by-8" : "sse4.2"; }

}  // namespace footfall::wire
