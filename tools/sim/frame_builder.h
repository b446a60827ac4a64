#pragma once
// Encodes what the probes capture: a radiotap header (TSFT, Flags, Channel, dBm antenna signal)
// in front of an 802.11 management frame (probe request, probe response, beacon) with its FCS.
// Everything is written into a caller's fixed buffer: no allocation per frame.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/mac_address.h"
#include "tools/sim/site_model.h"

namespace footfall::sim {

// Largest frame built here (the biggest AP element set is under 200 bytes).
inline constexpr std::size_t kMaxFrameBytes = 512;
// 8-byte header, TSFT (8), Flags (1), one pad byte so Channel sits on 2 bytes, Channel (4), signal (1).
inline constexpr std::size_t kRadiotapBytes = 23;

struct RadiotapFields {
  std::uint64_t tsft_us = 0;
  unsigned freq_mhz = 2412;
  int signal_dbm = -60;
};

// Writes kRadiotapBytes at the start of `out`; the flags say a 4-byte FCS ends the frame.
void write_radiotap(std::span<std::uint8_t, kRadiotapBytes> out, const RadiotapFields& fields);

struct ProbeRequestFields {
  MacAddress sa;
  std::uint16_t seq = 0;           // 0..4095
  std::string_view ssid;           // empty: wildcard
  unsigned channel = 1;
  std::uint8_t variant = 0;        // the model's ie_tail_variants[variant], if it has variants
};

// Each returns the 802.11 frame length including the FCS, written at the start of `out`,
// or 0 when it does not fit (a site description error, not a radio one).
std::size_t build_probe_request(std::span<std::uint8_t> out, const ProbeRequestFields& fields,
                                const DeviceModel& model);
std::size_t build_beacon(std::span<std::uint8_t> out, const AccessPoint& ap, std::uint16_t seq,
                         std::uint64_t tsf_us);
std::size_t build_probe_response(std::span<std::uint8_t> out, const AccessPoint& ap, const MacAddress& da,
                                 std::uint16_t seq, std::uint64_t tsf_us);

// IEEE 802.3 CRC-32 as 802.11 uses it for the FCS.
std::uint32_t crc32(std::span<const std::uint8_t> bytes);

// A capture record being assembled: radiotap header followed by the 802.11 frame.
struct CaptureFrame {
  std::array<std::uint8_t, kRadiotapBytes + kMaxFrameBytes> bytes{};
  std::size_t dot11_length = 0;

  std::span<std::uint8_t> dot11_area() { return std::span(bytes).subspan(kRadiotapBytes); }
  std::span<std::uint8_t, kRadiotapBytes> radiotap_area() { return std::span(bytes).first<kRadiotapBytes>(); }
  [[nodiscard]] std::span<const std::uint8_t> record() const {
    return std::span(bytes).first(kRadiotapBytes + dot11_length);
  }
};

}  // namespace footfall::sim
