// parse_packet: one captured packet of any supported link type to at most one sighting.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "probe/parse/packet.h"

using namespace footfall::probe::parse;

namespace {

// Probe request from da:a1:19:0b:2c:ff, seq 100, wildcard SSID, four supported rates.
const std::vector<std::uint8_t> kProbeRequest{
    0x40, 0x00, 0x00, 0x00,                          // frame control, duration
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,              // addr1 (broadcast)
    0xda, 0xa1, 0x19, 0x0b, 0x2c, 0xff,              // addr2 (transmitter)
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,              // addr3 (BSSID)
    0x40, 0x06,                                      // sequence control: seq 100, fragment 0
    0x00, 0x00,                                      // SSID, empty
    0x01, 0x04, 0x02, 0x04, 0x0b, 0x16};             // supported rates

// IEEE 802.3 CRC-32 (reflected 0xEDB88320), written out here so the test does not reuse the parser's.
std::uint32_t crc32(const std::vector<std::uint8_t>& bytes) {
  std::uint32_t crc = 0xffffffffu;
  for (auto b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::vector<std::uint8_t> with_fcs(std::vector<std::uint8_t> frame) {
  const std::uint32_t fcs = crc32(frame);
  for (int i = 0; i < 4; ++i) frame.push_back(static_cast<std::uint8_t>(fcs >> (8 * i)));
  return frame;
}

// Radiotap: version 0, length 10, present = Flags | dBm antenna signal.
std::vector<std::uint8_t> radiotap(std::uint8_t flags, std::int8_t signal, const std::vector<std::uint8_t>& frame) {
  const std::array<std::uint8_t, 10> head{0x00, 0x00, 0x0a, 0x00, 0x22, 0x00, 0x00, 0x00, flags,
                                          static_cast<std::uint8_t>(signal)};
  // Sized once: growing a vector from an initializer list trips a false -Warray-bounds in g++ 12.
  std::vector<std::uint8_t> p(head.size() + frame.size());
  std::copy(head.begin(), head.end(), p.begin());
  std::copy(frame.begin(), frame.end(), p.begin() + static_cast<std::ptrdiff_t>(head.size()));
  return p;
}

ParsedPacket parse(int link_type, const std::vector<std::uint8_t>& p, bool want_ble = false) {
  return parse_packet(link_type, p, static_cast<std::uint32_t>(p.size()), want_ble);
}

}  // namespace

TEST_CASE("packet: supported link types are exactly the decoded ones") {
  for (int lt : {105, 119, 127, 163, 192, 251, 256}) CHECK(supported_link_type(lt));
  for (int lt : {0, 1, 113, 147, 228}) CHECK_FALSE(supported_link_type(lt));
}

TEST_CASE("packet: radiotap probe request carries the radio's signal") {
  const ParsedPacket r = parse(127, radiotap(0x00, -61, kProbeRequest));
  REQUIRE(r.what == ParsedPacket::What::dot11);
  CHECK(r.dot11.kind == MgmtKind::probe_req);
  CHECK(r.dot11.sa.to_string() == "da:a1:19:0b:2c:ff");
  CHECK(r.dot11.seq == 100);
  REQUIRE(r.radio.rssi_dbm.has_value());
  CHECK(*r.radio.rssi_dbm == -61);
}

TEST_CASE("packet: radiotap FCS flag strips the FCS; the bad-FCS flag drops the frame") {
  const ParsedPacket good = parse(127, radiotap(0x10, -50, with_fcs(kProbeRequest)));
  REQUIRE(good.what == ParsedPacket::What::dot11);
  CHECK_FALSE(good.dot11.ie_truncated);
  CHECK(good.dot11.ie_fingerprint == parse(127, radiotap(0x00, -50, kProbeRequest)).dot11.ie_fingerprint);

  const ParsedPacket bad = parse(127, radiotap(0x10 | 0x40, -50, with_fcs(kProbeRequest)));
  CHECK(bad.what == ParsedPacket::What::dropped);
  CHECK(bad.reason == DropReason::bad_fcs);
}

TEST_CASE("packet: plain 802.11 with a valid trailing FCS gets the same fingerprint as without") {
  const ParsedPacket bare = parse(105, kProbeRequest);
  const ParsedPacket fcs = parse(105, with_fcs(kProbeRequest));
  REQUIRE(bare.what == ParsedPacket::What::dot11);
  REQUIRE(fcs.what == ParsedPacket::What::dot11);
  CHECK(fcs.radio.fcs_at_end);
  CHECK_FALSE(bare.radio.fcs_at_end);
  CHECK_FALSE(fcs.dot11.ie_truncated);
  CHECK(fcs.dot11.ie_fingerprint == bare.dot11.ie_fingerprint);
  CHECK_FALSE(bare.radio.rssi_dbm.has_value());
}

TEST_CASE("packet: a frame cut by the snap length is counted apart from a malformed one") {
  const auto full = radiotap(0x00, -70, kProbeRequest);
  const std::vector<std::uint8_t> cut(full.begin(), full.begin() + 20);  // inside the 802.11 header
  const ParsedPacket snapped = parse_packet(127, cut, static_cast<std::uint32_t>(full.size()), false);
  CHECK(snapped.what == ParsedPacket::What::dropped);
  CHECK(snapped.reason == DropReason::snaplen_truncated);

  const ParsedPacket broken = parse(127, cut);
  CHECK(broken.what == ParsedPacket::What::dropped);
  CHECK(broken.reason == DropReason::dot11_truncated);
  CHECK(is_malformed(broken.reason));
}

TEST_CASE("packet: data frames are ignored, not malformed") {
  auto data = kProbeRequest;
  data[0] = 0x08;  // type 2 (data), subtype 0
  const ParsedPacket r = parse(105, data);
  CHECK(r.what == ParsedPacket::What::dropped);
  CHECK(r.reason == DropReason::not_management);
  CHECK_FALSE(is_malformed(r.reason));
}

TEST_CASE("packet: BLE is decoded only when asked for") {
  // LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR: channel 37, signal -60 valid; ADV_NONCONN_IND from c0:ff:ee:12:34:56
  // with no advertising data; CRC bytes are not checked for the verdict.
  const std::vector<std::uint8_t> adv{0x25, 0xc4, 0x00, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x02, 0x00,
                                      0xd6, 0xbe, 0x89, 0x8e, 0x42, 0x06, 0x56, 0x34, 0x12, 0xee,
                                      0xff, 0xc0, 0x00, 0x00, 0x00};
  const ParsedPacket off = parse(256, adv, false);
  CHECK(off.what == ParsedPacket::What::dropped);
  CHECK(off.reason == DropReason::ble_not_wanted);

  const ParsedPacket on = parse(256, adv, true);
  REQUIRE(on.what == ParsedPacket::What::ble);
  CHECK(on.ble.addr.to_string() == "c0:ff:ee:12:34:56");
  CHECK(on.ble.addr_random);
  REQUIRE(on.ble.rssi_dbm.has_value());
  CHECK(*on.ble.rssi_dbm == -60);
}

TEST_CASE("packet: a broken radio header is reported with the header's reason") {
  std::vector<std::uint8_t> p = radiotap(0x00, -61, kProbeRequest);
  p[0] = 1;  // radiotap version 1 does not exist
  const ParsedPacket r = parse(127, p);
  CHECK(r.what == ParsedPacket::What::dropped);
  CHECK(r.reason == DropReason::radiotap_bad_version);
}
