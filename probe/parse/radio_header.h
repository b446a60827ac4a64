#pragma once
// Radio capture headers in front of 802.11 (and BLE) frames: radiotap (DLT 127), PPI (192),
// prism (119), AVS (163). Parsers do no I/O: bytes in, a verdict and the inner frame out.
#include <cstdint>
#include <optional>
#include <span>

#include "probe/parse/drop_reason.h"

namespace footfall::probe::parse {

// Link types we decode (pcap LINKTYPE_* values).
enum class LinkType : int {
  ieee802_11 = 105,
  prism = 119,
  radiotap = 127,
  ppi = 192,
  avs = 163,
  ble_ll = 251,       // Bluetooth LE link layer without pseudo-header
  ble_ll_phdr = 256,  // Bluetooth LE link layer with pseudo-header (Ubertooth, nRF sniffers)
  user0_ble = 147,    // DLT_USER0 as crackle/Ubertooth writes BLE inside PPI
};

// What the radio header tells about one received frame.
struct RadioInfo {
  std::optional<int> rssi_dbm;          // first antenna-signal value in dBm
  std::optional<int> noise_dbm;
  std::optional<unsigned> freq_mhz;     // channel centre frequency
  std::optional<std::uint64_t> tsft_us; // radio's microsecond timer
  std::optional<unsigned> antenna;
  std::optional<unsigned> channel;      // channel number as the header states it (prism, AVS)
  bool fcs_at_end = false;              // the frame carries its 4-byte FCS at the end
  bool bad_fcs = false;                 // the radio says the FCS check failed
  bool data_pad = false;                // radiotap: padding between the 802.11 header and the body
};

struct RadioHeaderResult {
  bool ok = false;
  DropReason reason = DropReason::radiotap_truncated;  // meaningful when !ok
  RadioInfo radio;
  std::span<const std::uint8_t> payload;  // the frame after the header (FCS still attached)
  int inner_link_type = 105;              // link type of the payload (PPI may carry 147 for BLE)
};

// Radiotap: walks every present bitmap and namespace (radiotap.org); the first dBm antenna signal is
// the combined one, later ones (per-antenna namespaces) never override it. An undefined field ends the
// walk with what was read so far (later offsets are unknowable); a field past it_len is malformed.
// freq_mhz comes from Channel, else XChannel (a frequency of 0 counts as absent).
RadioHeaderResult parse_radiotap(std::span<const std::uint8_t> packet);
// The same as parse_radiotap, for packet after packet: the radio values go straight into `radio` (reset first)
// and the frame after the header into `payload`, with no result built and copied. nullopt when the header is
// good; otherwise why not, and then `radio` and `payload` hold nothing meaningful.
std::optional<DropReason> parse_radiotap_into(std::span<const std::uint8_t> packet, RadioInfo& radio,
                                              std::span<const std::uint8_t>& payload);
// PPI: 802.11-Common field (2) and PPI-BTLE (30006) channel; payload link type 105 or 147.
// Signal / noise of 0 or -128 and frequency 0 mean "not supplied" (as Wireshark reads them).
RadioHeaderResult parse_ppi(std::span<const std::uint8_t> packet);
// Prism: 144-byte header of DID items, either byte order; an AVS header under DLT 119 is handed to
// parse_avs. rssi_dbm is the RSSI item; freq_mhz stays unset (the header gives only a channel number,
// kept in RadioInfo::channel), matching what Wireshark reports.
RadioHeaderResult parse_prism(std::span<const std::uint8_t> packet);
// AVS / wlan-ng capture header, version 1 or 2, big-endian; rssi_dbm only when ssi_type is dBm.
RadioHeaderResult parse_avs(std::span<const std::uint8_t> packet);

// Channel number to centre frequency (2.4 GHz, 5 GHz); nullopt when unknown.
std::optional<unsigned> channel_to_freq_mhz(unsigned channel, bool five_ghz_hint = false);

}  // namespace footfall::probe::parse
