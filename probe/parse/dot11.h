#pragma once
// IEEE 802.11 management frames the probe cares about: probe request, probe response, beacon,
// with the information elements that identify a network or a device.
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "common/mac_address.h"
#include "probe/parse/drop_reason.h"

namespace footfall::probe::parse {

enum class MgmtKind : std::uint8_t { probe_req = 4, probe_resp = 5, beacon = 8 };

constexpr const char* to_string(MgmtKind k) {
  switch (k) {
    case MgmtKind::probe_req: return "probe_req";
    case MgmtKind::probe_resp: return "probe_resp";
    case MgmtKind::beacon: return "beacon";
  }
  return "?";
}

struct MgmtFrame {
  MgmtKind kind = MgmtKind::probe_req;
  MacAddress da;     // addr1
  MacAddress sa;     // addr2, the transmitter
  MacAddress bssid;  // addr3
  std::uint16_t seq = 0;   // 0..4095
  std::uint8_t frag = 0;
  bool retry = false;

  // First SSID element; points into the packet buffer, valid while it is.
  bool ssid_present = false;
  std::span<const std::uint8_t> ssid;

  std::optional<std::uint8_t> ds_channel;   // DS parameter set (current channel)
  std::uint8_t supported_rates = 0;          // count of rates in Supported + Extended Supported Rates
  bool has_ht = false, has_vht = false, has_he = false;
  std::array<std::uint32_t, 8> vendor_ouis{};  // 24-bit OUIs of vendor-specific elements, in order
  std::uint8_t vendor_oui_count = 0;
  std::uint16_t beacon_interval = 0;        // beacons and probe responses only
  std::uint16_t capability = 0;

  // Stable fingerprint of a probe request's information elements: tag order plus the content of tags
  // that do not change between probes of one device (rates, HT/VHT/HE capabilities, extended
  // capabilities, vendor OUIs and types). SSID, DS channel and sequence-dependent content are left out.
  // Word-wise multiply/xor-shift hash (see dot11.cpp), the same on every CPU. Zero for beacons and
  // probe responses.
  std::uint64_t ie_fingerprint = 0;
  bool ie_truncated = false;  // the element list ended inside an element; elements before it are kept
  // Body cut short before the elements (inside the HT Control or the fixed fields): the header is still
  // good, so the frame is kept, as tshark keeps it.
  bool body_truncated = false;
  // Protected flag set: the body is ciphertext (tshark does not read it either), so no elements are read.
  bool body_protected = false;
};

struct Dot11Result {
  enum class Verdict : std::uint8_t { frame, ignored, malformed } verdict = Verdict::malformed;
  DropReason reason = DropReason::dot11_truncated;  // when verdict != frame
  MgmtFrame frame;
};

// `bytes` starts at the 802.11 frame control field; `fcs_at_end` strips the trailing 4-byte FCS.
Dot11Result parse_dot11(std::span<const std::uint8_t> bytes, bool fcs_at_end);

// The same as parse_dot11, into a frame the caller keeps across packets (no result copied per packet).
// nullopt: a frame we keep, now in `frame`; otherwise why not (is_malformed() tells malformed from ignored),
// and `frame` holds nothing meaningful.
std::optional<DropReason> parse_dot11_into(std::span<const std::uint8_t> bytes, bool fcs_at_end, MgmtFrame& frame);

// True when the last 4 bytes are the CRC-32 of the bytes before them. For link types that do not say
// whether frames carry an FCS (plain 802.11, prism): a match by chance has odds of 1 in 2^32.
bool dot11_fcs_valid(std::span<const std::uint8_t> frame_with_fcs);

}  // namespace footfall::probe::parse
