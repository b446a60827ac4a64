// Radio headers: radiotap, PPI, prism, AVS. Golden byte arrays first, then the shared real captures
// checked against tshark's view of them (*.truth.tsv).
#include <doctest/doctest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "probe/parse/radio_header.h"

using footfall::probe::parse::channel_to_freq_mhz;
using footfall::probe::parse::DropReason;
using footfall::probe::parse::LinkType;
using footfall::probe::parse::parse_avs;
using footfall::probe::parse::parse_ppi;
using footfall::probe::parse::parse_prism;
using footfall::probe::parse::parse_radiotap;
using footfall::probe::parse::RadioHeaderResult;

namespace {

template <std::size_t N>
std::span<const std::uint8_t> bytes(const std::array<std::uint8_t, N>& a) {
  return {a.data(), a.size()};
}

}  // namespace

// ------------------------------------------------------------------------------------ radiotap

TEST_CASE("radiotap: minimal header, no fields") {
  constexpr std::array<std::uint8_t, 10> pkt{0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,  // header
                                             0x80, 0x00};                                      // payload
  const auto r = parse_radiotap(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.inner_link_type == 105);
  CHECK(r.payload.size() == 2);
  CHECK(r.payload.data() == pkt.data() + 8);
  CHECK_FALSE(r.radio.rssi_dbm);
  CHECK_FALSE(r.radio.freq_mhz);
  CHECK_FALSE(r.radio.tsft_us);
  CHECK_FALSE(r.radio.fcs_at_end);
  CHECK_FALSE(r.radio.bad_fcs);
}

TEST_CASE("radiotap: TSFT, flags, channel, signal, noise, antenna with alignment padding") {
  // present = TSFT | Flags | Channel | dBm signal | dBm noise | antenna = 0x0000086b.
  // Flags sits at 16, so Channel (align 2) needs one pad byte at 17 and starts at 18.
  constexpr std::array<std::uint8_t, 27> pkt{
      0x00, 0x00, 0x19, 0x00, 0x6b, 0x08, 0x00, 0x00,  // version, pad, it_len 25, present
      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // TSFT 0x0102030405060708
      0x10,                                            // flags: FCS at end
      0x00,                                            // pad to 2
      0x85, 0x09, 0xa0, 0x00,                          // channel 2437 MHz, 2 GHz | CCK
      0xc3,                                            // -61 dBm
      0xa1,                                            // -95 dBm
      0x01,                                            // antenna 1
      0x40, 0x00};                                     // payload
  const auto r = parse_radiotap(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.tsft_us == 0x0102030405060708ULL);
  CHECK(r.radio.fcs_at_end);
  CHECK_FALSE(r.radio.bad_fcs);
  CHECK(r.radio.freq_mhz == 2437u);
  CHECK(r.radio.rssi_dbm == -61);
  CHECK(r.radio.noise_dbm == -95);
  CHECK(r.radio.antenna == 1u);
  CHECK(r.payload.size() == 2);
  CHECK(r.payload[0] == 0x40);
}

TEST_CASE("radiotap: TSFT after an extended bitmap is aligned to 8 from the header start") {
  // Two present words end at 12; TSFT (align 8) starts at 16.
  constexpr std::array<std::uint8_t, 24> pkt{
      0x00, 0x00, 0x18, 0x00, 0x01, 0x00, 0x00, 0x80,  // it_len 24, present TSFT | ext
      0x00, 0x00, 0x00, 0x00,                          // second word: nothing
      0xee, 0xee, 0xee, 0xee,                          // pad to 8
      0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}; // TSFT 42
  const auto r = parse_radiotap(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.tsft_us == 42u);
  CHECK(r.payload.empty());
}

TEST_CASE("radiotap: multi-antenna namespaces, the first dBm signal wins") {
  // word0: Flags, Channel, dBm signal, radiotap NS, ext    (combined value)
  // word1: dBm signal, antenna, radiotap NS, ext           (antenna 0)
  // word2: dBm signal, antenna                             (antenna 1, stronger)
  constexpr std::array<std::uint8_t, 28> pkt{
      0x00, 0x00, 0x1b, 0x00,                          // it_len 27
      0x2a, 0x00, 0x00, 0xa0,                          // word0
      0x20, 0x08, 0x00, 0xa0,                          // word1
      0x20, 0x08, 0x00, 0x00,                          // word2
      0x00,                                            // flags
      0x00,                                            // pad
      0x9e, 0x09, 0xa0, 0x00,                          // channel 2462
      0xce,                                            // combined -50 dBm
      0xcc, 0x00,                                      // antenna 0: -52 dBm
      0xcf, 0x01,                                      // antenna 1: -49 dBm
      0x80};                                           // payload
  const auto r = parse_radiotap(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.rssi_dbm == -50);
  CHECK(r.radio.freq_mhz == 2462u);
  CHECK(r.radio.antenna == 0u);
  CHECK(r.payload.size() == 1);
}

TEST_CASE("radiotap: a vendor namespace and its data are skipped") {
  // word0: Flags, dBm signal, vendor NS, ext
  // word1 (vendor): its bits 0 and 1, radiotap NS, ext
  // word2 (radiotap again): Channel, dBm signal, antenna
  constexpr std::array<std::uint8_t, 37> pkt{
      0x00, 0x00, 0x24, 0x00,                          // it_len 36
      0x22, 0x00, 0x00, 0xc0,                          // word0
      0x03, 0x00, 0x00, 0xa0,                          // word1
      0x28, 0x08, 0x00, 0x00,                          // word2
      0x00,                                            // flags
      0xba,                                            // -70 dBm
      0x00, 0x11, 0x22, 0x01, 0x05, 0x00,              // vendor: OUI 00:11:22, sub 1, skip 5
      0xff, 0xff, 0xff, 0xff, 0xff,                    // vendor data (opaque)
      0x00,                                            // pad to 2
      0x3c, 0x14, 0x40, 0x01,                          // channel 5180, 5 GHz | OFDM
      0xb0,                                            // -80 dBm (not the first: ignored)
      0x02,                                            // antenna 2
      0x80};                                           // payload
  const auto r = parse_radiotap(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.rssi_dbm == -70);
  CHECK(r.radio.freq_mhz == 5180u);
  CHECK(r.radio.antenna == 2u);
  CHECK(r.payload.size() == 1);
}

TEST_CASE("radiotap: vendor skip_length past it_len is truncated") {
  constexpr std::array<std::uint8_t, 20> pkt{
      0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0xc0,  // it_len 20, vendor NS | ext
      0x00, 0x00, 0x00, 0x00,                          // vendor word: nothing
      0x00, 0x11, 0x22, 0x01, 0x10, 0x00,              // skip_length 16, only 2 bytes left
      0x00, 0x00};
  const auto r = parse_radiotap(bytes(pkt));
  CHECK_FALSE(r.ok);
  CHECK(r.reason == DropReason::radiotap_truncated);
}

TEST_CASE("radiotap: FCS-at-end and bad-FCS flags") {
  auto with_flags = [](std::uint8_t flags) {
    const std::array<std::uint8_t, 11> pkt{0x00, 0x00, 0x09, 0x00, 0x02, 0x00, 0x00, 0x00, flags, 0xaa, 0xbb};
    return parse_radiotap(bytes(pkt)).radio;
  };
  const auto fcs = with_flags(0x10);
  CHECK(fcs.fcs_at_end);
  CHECK_FALSE(fcs.bad_fcs);
  const auto bad = with_flags(0x50);
  CHECK(bad.fcs_at_end);
  CHECK(bad.bad_fcs);
  const auto none = with_flags(0x02);  // short preamble only
  CHECK_FALSE(none.fcs_at_end);
  CHECK_FALSE(none.bad_fcs);
  CHECK(with_flags(0x20).data_pad);
}

TEST_CASE("radiotap: lengths and version") {
  SUBCASE("it_len beyond the packet") {
    constexpr std::array<std::uint8_t, 12> pkt{0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4};
    const auto r = parse_radiotap(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::radiotap_truncated);
  }
  SUBCASE("it_len below the fixed header") {
    constexpr std::array<std::uint8_t, 12> pkt{0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4};
    const auto r = parse_radiotap(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::radiotap_bad_length);
  }
  SUBCASE("packet shorter than the fixed header") {
    constexpr std::array<std::uint8_t, 5> pkt{0x00, 0x00, 0x08, 0x00, 0x00};
    const auto r = parse_radiotap(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::radiotap_truncated);
  }
  SUBCASE("bad version") {
    constexpr std::array<std::uint8_t, 10> pkt{0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00};
    const auto r = parse_radiotap(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::radiotap_bad_version);
  }
  SUBCASE("field data past it_len") {
    // TSFT present but it_len leaves only 4 bytes after the bitmap.
    constexpr std::array<std::uint8_t, 14> pkt{0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00,
                                               0x01, 0x02, 0x03, 0x04, 0x80, 0x00};
    const auto r = parse_radiotap(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::radiotap_truncated);
  }
  SUBCASE("present bitmaps chain past it_len") {
    constexpr std::array<std::uint8_t, 12> pkt{0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x80,
                                               0x00, 0x00, 0x00, 0x80};
    const auto r = parse_radiotap(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::radiotap_truncated);
  }
}

TEST_CASE("radiotap: an undefined field stops the walk but keeps what was read") {
  SUBCASE("field 32 in a continued radiotap word") {
    constexpr std::array<std::uint8_t, 16> pkt{
        0x00, 0x00, 0x0e, 0x00, 0x20, 0x00, 0x00, 0x80,  // it_len 14, dBm signal | ext
        0x01, 0x00, 0x00, 0x00,                          // bit 0 of word 1 = field 32: undefined
        0xd0,                                            // -48 dBm
        0x99,                                            // data of field 32, unknowable size
        0x80, 0x00};
    const auto r = parse_radiotap(bytes(pkt));
    REQUIRE(r.ok);
    CHECK(r.radio.rssi_dbm == -48);
    CHECK(r.payload.size() == 2);
  }
  SUBCASE("TLV bit 28") {
    constexpr std::array<std::uint8_t, 16> pkt{
        0x00, 0x00, 0x10, 0x00, 0x20, 0x00, 0x00, 0x10,  // it_len 16, dBm signal | TLV
        0xd0, 0x00, 0x00, 0x00,                          // -48 dBm, pad to 4
        0x01, 0x00, 0x00, 0x00};                         // a TLV: type 1, length 0
    const auto r = parse_radiotap(bytes(pkt));
    REQUIRE(r.ok);
    CHECK(r.radio.rssi_dbm == -48);
    CHECK(r.payload.empty());
  }
}

TEST_CASE("radiotap: XChannel frequency when there is no Channel field") {
  // present = dBm signal | XChannel; XChannel aligned to 4 -> starts at 12.
  constexpr std::array<std::uint8_t, 20> pkt{
      0x00, 0x00, 0x14, 0x00, 0x20, 0x00, 0x04, 0x00,  // it_len 20
      0xc8, 0x00, 0x00, 0x00,                          // -56 dBm, pad
      0x40, 0x01, 0x00, 0x00, 0x71, 0x16, 0x95, 0x1e}; // flags, 5745 MHz, channel 149, 30 dBm
  const auto r = parse_radiotap(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.rssi_dbm == -56);
  CHECK(r.radio.freq_mhz == 5745u);
}

TEST_CASE("radiotap: a Channel field with frequency 0 yields to XChannel") {
  constexpr std::array<std::uint8_t, 20> pkt{
      0x00, 0x00, 0x14, 0x00, 0x08, 0x00, 0x04, 0x00,  // it_len 20, Channel | XChannel
      0x00, 0x00, 0x00, 0x00,                          // Channel: 0 MHz (unknown), no flags
      0x00, 0x00, 0x00, 0x00, 0x85, 0x09, 0x06, 0x14}; // XChannel: 2437 MHz, channel 6
  const auto r = parse_radiotap(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.freq_mhz == 2437u);
}

TEST_CASE("radiotap: FHSS is two bytes aligned to 2") {
  // present = Flags | FHSS | dBm signal: flags at 8, pad at 9, FHSS at 10..11, signal at 12.
  constexpr std::array<std::uint8_t, 13> pkt{0x00, 0x00, 0x0d, 0x00, 0x32, 0x00, 0x00, 0x00,
                                             0x00, 0x00, 0x03, 0x07, 0xbf};
  const auto r = parse_radiotap(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.rssi_dbm == -65);
}

// ------------------------------------------------------------------------------------ PPI

TEST_CASE("ppi: 802.11-Common field") {
  constexpr std::array<std::uint8_t, 34> pkt{
      0x00, 0x00, 0x20, 0x00, 0x69, 0x00, 0x00, 0x00,  // version 0, flags 0, len 32, DLT 105
      0x02, 0x00, 0x14, 0x00,                          // field 2, length 20
      0x40, 0x42, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x00,  // TSFT 1000000
      0x05, 0x00,                                      // flags: FCS present | FCS invalid
      0x02, 0x00,                                      // rate 1 Mb/s
      0x85, 0x09, 0xa0, 0x00,                          // 2437 MHz, channel flags
      0x00, 0x00,                                      // FHSS
      0xbe, 0x80,                                      // signal -66, noise -128 (= invalid)
      0x80, 0x00};                                     // payload
  const auto r = parse_ppi(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.inner_link_type == 105);
  CHECK(r.radio.tsft_us == 1000000u);
  CHECK(r.radio.fcs_at_end);
  CHECK(r.radio.bad_fcs);
  CHECK(r.radio.freq_mhz == 2437u);
  CHECK(r.radio.rssi_dbm == -66);
  CHECK_FALSE(r.radio.noise_dbm);
  CHECK(r.payload.size() == 2);
  CHECK(r.payload[0] == 0x80);
}

TEST_CASE("ppi: zero signal, zero frequency and TSFT in milliseconds") {
  constexpr std::array<std::uint8_t, 32> pkt{
      0x00, 0x00, 0x20, 0x00, 0x69, 0x00, 0x00, 0x00,
      0x02, 0x00, 0x14, 0x00,
      0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // TSFT 7 (ms)
      0x02, 0x00,                                      // flags: TSFT in ms
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00,              // rate 0, frequency 0, channel flags 0
      0x00, 0x00,
      0x00, 0xa0};                                     // signal 0 (= not supplied), noise -96
  const auto r = parse_ppi(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.tsft_us == 7000u);
  CHECK_FALSE(r.radio.fcs_at_end);
  CHECK_FALSE(r.radio.freq_mhz);
  CHECK_FALSE(r.radio.rssi_dbm);
  CHECK(r.radio.noise_dbm == -96);
  CHECK(r.payload.empty());
}

TEST_CASE("ppi: BLE under DLT 147 (crackle) with the PPI-BTLE field") {
  // First packet of the crackle pairing capture.
  constexpr std::array<std::uint8_t, 42> pkt{
      0x00, 0x00, 0x18, 0x00, 0x93, 0x00, 0x00, 0x00,  // len 24, DLT 147
      0x36, 0x75, 0x0c, 0x00,                          // field 30006, length 12
      0x00, 0x62, 0x09, 0x00, 0x6b, 0x36, 0xe3, 0x00,  // version, 2402 MHz, clock
      0xe8, 0xdc, 0xee, 0x3c,                          // RSSI register values, count
      0xd6, 0xbe, 0x89, 0x8e, 0x00, 0x09, 0xe8, 0xdd, 0x6e, 0xe5, 0xc5, 0x78,
      0x02, 0x01, 0x05, 0xc6, 0x3c, 0x96};             // BLE LL: access address, ADV_IND
  const auto r = parse_ppi(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.inner_link_type == static_cast<int>(LinkType::user0_ble));
  CHECK(r.radio.freq_mhz == 2402u);
  CHECK_FALSE(r.radio.rssi_dbm);
  REQUIRE(r.payload.size() == 18);
  CHECK(r.payload[0] == 0xd6);
}

TEST_CASE("ppi: aligned fields are padded to 32 bits") {
  constexpr std::array<std::uint8_t, 40> pkt{
      0x00, 0x01, 0x28, 0x00, 0x69, 0x00, 0x00, 0x00,  // flags: aligned, len 40
      0xaa, 0xaa, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,  // unknown field, 1 byte + 3 pad
      0x02, 0x00, 0x14, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x02, 0x00, 0x6c, 0x09, 0xa0, 0x00,  // 2412 MHz
      0x00, 0x00, 0xc4, 0x00};                         // -60 dBm
  const auto r = parse_ppi(bytes(pkt));
  REQUIRE(r.ok);
  CHECK(r.radio.freq_mhz == 2412u);
  CHECK(r.radio.rssi_dbm == -60);
}

TEST_CASE("ppi: malformed headers") {
  SUBCASE("unsupported DLT") {
    constexpr std::array<std::uint8_t, 10> pkt{0x00, 0x00, 0x08, 0x00, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00};
    const auto r = parse_ppi(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::ppi_unsupported_dlt);
  }
  SUBCASE("version not 0") {
    constexpr std::array<std::uint8_t, 10> pkt{0x01, 0x00, 0x08, 0x00, 0x69, 0x00, 0x00, 0x00, 0x00, 0x00};
    const auto r = parse_ppi(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::ppi_bad_header);
  }
  SUBCASE("length below the fixed header") {
    constexpr std::array<std::uint8_t, 10> pkt{0x00, 0x00, 0x04, 0x00, 0x69, 0x00, 0x00, 0x00, 0x00, 0x00};
    const auto r = parse_ppi(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::ppi_bad_header);
  }
  SUBCASE("length beyond the packet") {
    constexpr std::array<std::uint8_t, 10> pkt{0x00, 0x00, 0x20, 0x00, 0x69, 0x00, 0x00, 0x00, 0x00, 0x00};
    const auto r = parse_ppi(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::ppi_truncated);
  }
  SUBCASE("field longer than the header") {
    constexpr std::array<std::uint8_t, 16> pkt{0x00, 0x00, 0x10, 0x00, 0x69, 0x00, 0x00, 0x00,
                                               0x02, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00};
    const auto r = parse_ppi(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::ppi_truncated);
  }
  SUBCASE("packet shorter than the fixed header") {
    constexpr std::array<std::uint8_t, 6> pkt{0x00, 0x00, 0x08, 0x00, 0x69, 0x00};
    const auto r = parse_ppi(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::ppi_truncated);
  }
}

// ------------------------------------------------------------------------------------ prism

namespace {
// Little-endian prism header, type-1 DIDs: channel 11, RSSI -62, noise not supplied.
constexpr std::array<std::uint8_t, 146> kPrismLe{
    0x44, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00,  // msgcode 0x44, msglen 144
    0x77, 0x6c, 0x61, 0x6e, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // "wlan0"
    0x44, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0xd5, 0x36, 0x64, 0x00,  // hosttime
    0x44, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x88, 0xe1, 0x96, 0x79,  // mactime
    0x44, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x0b, 0x00, 0x00, 0x00,  // channel 11
    0x44, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0xc2, 0xff, 0xff, 0xff,  // rssi -62
    0x44, 0x00, 0x05, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,  // sq (not supplied)
    0x44, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0x00, 0x39, 0x00, 0x00, 0x00,  // signal 57
    0x44, 0x00, 0x07, 0x00, 0x01, 0x00, 0x04, 0x00, 0xa0, 0xff, 0xff, 0xff,  // noise (not supplied)
    0x44, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00,  // rate
    0x44, 0x00, 0x09, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,  // istx
    0x44, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x04, 0x00, 0x02, 0x00, 0x00, 0x00,  // frmlen
    0x80, 0x00};                                                             // payload

// Big-endian prism header, type-2 DIDs: channel 6, RSSI -71, noise -95.
constexpr std::array<std::uint8_t, 145> kPrismBe{
    0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x00, 0x90,
    0x65, 0x74, 0x68, 0x31, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // "eth1"
    0x00, 0x00, 0x10, 0x41, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,  // hosttime
    0x00, 0x00, 0x20, 0x41, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00,  // mactime 256
    0x00, 0x00, 0x30, 0x41, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x06,  // channel 6
    0x00, 0x00, 0x40, 0x41, 0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xb9,  // rssi -71
    0x00, 0x00, 0x50, 0x41, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,  // sq
    0x00, 0x00, 0x60, 0x41, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x20,  // signal
    0x00, 0x00, 0x70, 0x41, 0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xa1,  // noise -95
    0x00, 0x00, 0x80, 0x41, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x16,  // rate
    0x00, 0x00, 0x90, 0x41, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,  // istx
    0x00, 0x00, 0xa0, 0x41, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,  // frmlen
    0x40};                                                                   // payload
}  // namespace

TEST_CASE("prism: little-endian, type-1 DIDs") {
  const auto r = parse_prism(bytes(kPrismLe));
  REQUIRE(r.ok);
  CHECK(r.radio.rssi_dbm == -62);
  CHECK(r.radio.channel == 11u);
  CHECK_FALSE(r.radio.freq_mhz);  // prism gives a channel number only, as tshark reports it
  CHECK_FALSE(r.radio.noise_dbm);  // status 1: not supplied
  CHECK(r.radio.tsft_us == 0x7996e188u);
  CHECK(r.payload.size() == 2);
  CHECK(r.payload[0] == 0x80);
}

TEST_CASE("prism: big-endian, type-2 DIDs") {
  const auto r = parse_prism(bytes(kPrismBe));
  REQUIRE(r.ok);
  CHECK(r.radio.rssi_dbm == -71);
  CHECK(r.radio.noise_dbm == -95);
  CHECK(r.radio.channel == 6u);
  CHECK(r.radio.tsft_us == 256u);
  CHECK(r.payload.size() == 1);
  CHECK(r.payload[0] == 0x40);
}

TEST_CASE("prism: truncated header and implausible msglen") {
  const auto short_pkt = parse_prism(bytes(kPrismLe).first(100));
  CHECK_FALSE(short_pkt.ok);
  CHECK(short_pkt.reason == DropReason::prism_truncated);

  auto too_long = kPrismLe;
  too_long[4] = 0xff;  // msglen 255 > packet
  const auto r = parse_prism(bytes(too_long));
  CHECK_FALSE(r.ok);
  CHECK(r.reason == DropReason::prism_truncated);
}

// ------------------------------------------------------------------------------------ AVS

namespace {
// AVS v1: 64 bytes, OFDM (11g) channel 6, dBm -60 / -96.
constexpr std::array<std::uint8_t, 66> kAvsV1Dbm{
    0x80, 0x21, 0x10, 0x01, 0x00, 0x00, 0x00, 0x40,  // version 1, length 64
    0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x42, 0x40,  // mactime 1000000
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // hosttime
    0x00, 0x00, 0x00, 0x06,                          // phytype: OFDM 11g
    0x00, 0x00, 0x00, 0x06,                          // channel 6
    0x00, 0x00, 0x00, 0x0a,                          // data rate
    0x00, 0x00, 0x00, 0x01,                          // antenna 1
    0x00, 0x00, 0x00, 0x00,                          // priority
    0x00, 0x00, 0x00, 0x02,                          // ssi_type: dBm
    0xff, 0xff, 0xff, 0xc4,                          // signal -60
    0xff, 0xff, 0xff, 0xa0,                          // noise -96
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,  // preamble, encoding
    0x80, 0x00};                                     // payload

// AVS v2: 80 bytes, OFDM (11a) channel 36, normalised RSSI (not dBm).
constexpr std::array<std::uint8_t, 81> kAvsV2Rssi{
    0x80, 0x21, 0x10, 0x02, 0x00, 0x00, 0x00, 0x50,  // version 2, length 80
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // mactime 0 (not known)
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x08,                          // phytype: OFDM 11a
    0x00, 0x00, 0x00, 0x24,                          // channel 36
    0x00, 0x00, 0x00, 0x3c,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01,                          // ssi_type: normalised RSSI
    0x00, 0x00, 0x00, 0x28,                          // 40 (not dBm)
    0x00, 0x00, 0x00, 0x05,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,  // v2: sequence, drops
    0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x00, 0x00,  // v2: receiver address, padding
    0xd0};                                           // payload
}  // namespace

TEST_CASE("avs: v1 with dBm") {
  const auto r = parse_avs(bytes(kAvsV1Dbm));
  REQUIRE(r.ok);
  CHECK(r.radio.rssi_dbm == -60);
  CHECK(r.radio.noise_dbm == -96);
  CHECK(r.radio.freq_mhz == 2437u);
  CHECK(r.radio.channel == 6u);
  CHECK(r.radio.tsft_us == 1000000u);
  CHECK(r.radio.antenna == 1u);
  CHECK(r.payload.size() == 2);
}

TEST_CASE("avs: v2 without dBm, 5 GHz") {
  const auto r = parse_avs(bytes(kAvsV2Rssi));
  REQUIRE(r.ok);
  CHECK_FALSE(r.radio.rssi_dbm);
  CHECK_FALSE(r.radio.noise_dbm);
  CHECK_FALSE(r.radio.tsft_us);
  CHECK(r.radio.freq_mhz == 5180u);
  REQUIRE(r.payload.size() == 1);
  CHECK(r.payload[0] == 0xd0);
}

TEST_CASE("avs: under the prism link type") {
  const auto r = parse_prism(bytes(kAvsV1Dbm));
  REQUIRE(r.ok);
  CHECK(r.radio.rssi_dbm == -60);
  CHECK(r.payload.size() == 2);
}

TEST_CASE("avs: malformed headers") {
  SUBCASE("unknown version") {
    auto pkt = kAvsV1Dbm;
    pkt[3] = 0x03;
    const auto r = parse_avs(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::avs_bad_header);
  }
  SUBCASE("length below 64") {
    auto pkt = kAvsV1Dbm;
    pkt[7] = 0x20;
    const auto r = parse_avs(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::avs_bad_header);
  }
  SUBCASE("length beyond the packet") {
    auto pkt = kAvsV1Dbm;
    pkt[7] = 0x50;
    const auto r = parse_avs(bytes(pkt));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::avs_truncated);
  }
  SUBCASE("packet shorter than the header") {
    const auto r = parse_avs(bytes(kAvsV1Dbm).first(40));
    CHECK_FALSE(r.ok);
    CHECK(r.reason == DropReason::avs_truncated);
  }
}

// ------------------------------------------------------------------------------------ channels

TEST_CASE("channel_to_freq_mhz") {
  CHECK(channel_to_freq_mhz(1) == 2412u);
  CHECK(channel_to_freq_mhz(6) == 2437u);
  CHECK(channel_to_freq_mhz(13) == 2472u);
  CHECK(channel_to_freq_mhz(14) == 2484u);
  CHECK_FALSE(channel_to_freq_mhz(0));
  CHECK_FALSE(channel_to_freq_mhz(15));
  CHECK_FALSE(channel_to_freq_mhz(31));
  CHECK(channel_to_freq_mhz(32) == 5160u);
  CHECK(channel_to_freq_mhz(36) == 5180u);
  CHECK(channel_to_freq_mhz(165) == 5825u);
  CHECK(channel_to_freq_mhz(177) == 5885u);
  CHECK_FALSE(channel_to_freq_mhz(178));
  CHECK(channel_to_freq_mhz(36, true) == 5180u);
  CHECK_FALSE(channel_to_freq_mhz(6, true));  // no 5 GHz channel 6 in this band plan
}

// ------------------------------------------------------------------------------------ real captures

namespace {

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

struct TruthRow {
  std::optional<int> rssi_dbm;
  std::optional<unsigned> freq_mhz;
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, '\t')) out.push_back(cell);
  if (!line.empty() && line.back() == '\t') out.emplace_back();
  return out;
}

// First value of a possibly comma-joined column; empty means absent.
std::optional<long> first_number(const std::string& cell) {
  if (cell.empty()) return std::nullopt;
  return std::stol(cell.substr(0, cell.find(',')));
}

// frame number -> tshark's signal / frequency, from the radiotap columns or the link-independent ones.
std::map<long, TruthRow> read_truth(const std::filesystem::path& tsv, bool radiotap) {
  std::map<long, TruthRow> rows;
  std::ifstream in(tsv);
  std::string line;
  if (!std::getline(in, line)) return rows;
  const auto header = split_tabs(line);
  auto column = [&](const std::string& name) {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    FAIL("column " << name << " missing in " << tsv);
    return std::size_t{0};
  };
  const std::size_t frame_col = column("frame.number");
  const std::size_t rssi_col = column(radiotap ? "radiotap.dbm_antsignal" : "wlan_radio.signal_dbm");
  const std::size_t freq_col = column(radiotap ? "radiotap.channel.freq" : "wlan_radio.frequency");
  while (std::getline(in, line)) {
    const auto cells = split_tabs(line);
    if (cells.size() <= std::max(rssi_col, freq_col)) continue;
    TruthRow row;
    if (auto v = first_number(cells[rssi_col])) row.rssi_dbm = static_cast<int>(*v);
    if (auto v = first_number(cells[freq_col])) row.freq_mhz = static_cast<unsigned>(*v);
    rows[std::stol(cells[frame_col])] = row;
  }
  return rows;
}

std::string show(const std::optional<int>& v) { return v ? std::to_string(*v) : "null"; }
std::string show(const std::optional<unsigned>& v) { return v ? std::to_string(*v) : "null"; }

}  // namespace

TEST_CASE("real captures: rssi and frequency agree with tshark") {
  const std::filesystem::path dir = std::filesystem::path(FOOTFALL_SHARED_DIR) / "captures";
  if (!std::filesystem::is_directory(dir)) {
    MESSAGE("skipped: shared capture folder " << dir.string() << " not found");
    return;
  }

  std::size_t files = 0, compared = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool is_capture = name.find(".truth") == std::string::npos && name.find(".labels") == std::string::npos &&
                            name.find(".md") == std::string::npos;
    if (!is_capture) continue;
    if (name.rfind("rt127-", 0) != 0 && name.rfind("ppi192-", 0) != 0 && name.rfind("prism119-", 0) != 0) continue;

    CAPTURE(name);
    std::array<char, PCAP_ERRBUF_SIZE> err{};
    PcapHandle pcap(pcap_open_offline(entry.path().c_str(), err.data()));
    REQUIRE_MESSAGE(pcap, err.data());
    const int dlt = pcap_datalink(pcap.get());
    const bool radiotap = dlt == static_cast<int>(LinkType::radiotap);
    const auto truth = read_truth(entry.path().string() + ".truth.tsv", radiotap);
    ++files;

    long frame = 0;
    pcap_pkthdr* hdr = nullptr;
    const std::uint8_t* data = nullptr;
    while (pcap_next_ex(pcap.get(), &hdr, &data) == 1) {
      ++frame;
      const std::span<const std::uint8_t> pkt(data, hdr->caplen);
      RadioHeaderResult r;
      switch (dlt) {
        case static_cast<int>(LinkType::radiotap): r = parse_radiotap(pkt); break;
        case static_cast<int>(LinkType::ppi): r = parse_ppi(pkt); break;
        case static_cast<int>(LinkType::prism): r = parse_prism(pkt); break;
        default: FAIL("unexpected link type " << dlt);
      }
      const auto row = truth.find(frame);
      if (row == truth.end()) continue;  // every packet is parsed (sanitizers watch), truth rows compared
      CAPTURE(frame);
      REQUIRE(r.ok);
      ++compared;
      const bool same = r.radio.rssi_dbm == row->second.rssi_dbm && r.radio.freq_mhz == row->second.freq_mhz;
      CHECK_MESSAGE(same, name << " frame " << frame << ": ours rssi " << show(r.radio.rssi_dbm) << " freq "
                                << show(r.radio.freq_mhz) << ", tshark rssi " << show(row->second.rssi_dbm)
                                << " freq " << show(row->second.freq_mhz));
    }
  }
  MESSAGE(files << " captures, " << compared << " frames compared with tshark");
  CHECK(files >= 30);
  CHECK(compared > 10000);
}
