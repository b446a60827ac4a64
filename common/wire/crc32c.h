#pragma once
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the frame, spool, journal and outbox checksum. Chosen
// over CRC-32 for its better error detection on short messages and because CPUs compute it: SSE4.2 `crc32` on
// x86-64 (detected at run time), slicing-by-8 tables everywhere else (ARM and MIPS probes).
#include <cstddef>
#include <cstdint>
#include <span>

namespace footfall::wire {

// Continues a CRC: `crc` is a previous result (0 to start), as in zlib's crc32().
std::uint32_t crc32c_extend(std::uint32_t crc, const std::uint8_t* data, std::size_t size);
// The portable path alone, whatever the CPU (tests compare the two).
std::uint32_t crc32c_extend_portable(std::uint32_t crc, const std::uint8_t* data, std::size_t size);
// "sse4.2" or "slicing-by-8": which implementation crc32c_extend uses on this machine.
const char* crc32c_implementation();

inline std::uint32_t crc32c(std::span<const std::uint8_t> bytes) {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

// Incremental form, for a checksum over several pieces.
class Crc32c {
 public:
  void process_bytes(const void* data, std::size_t size) {
    crc_ = crc32c_extend(crc_, static_cast<const std::uint8_t*>(data), size);
  }
  [[nodiscard]] std::uint32_t checksum() const { return crc_; }

 private:
  std::uint32_t crc_ = 0;
};

}  // namespace footfall::wire
