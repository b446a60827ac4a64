#pragma once
// CRC-32C (Castagnoli): the frame and spool checksum. Chosen over CRC-32 for its better error detection
// on short messages and because hardware (SSE4.2, ARMv8 CRC) can compute it if it ever becomes hot.
#include <cstdint>
#include <span>

#include <boost/crc.hpp>

namespace footfall::wire {

using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

inline std::uint32_t crc32c(std::span<const std::uint8_t> bytes) {
  Crc32c crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

}  // namespace footfall::wire
