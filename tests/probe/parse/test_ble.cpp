#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <pcap/pcap.h>

#include "probe/parse/ble.h"

using footfall::MacAddress;
using footfall::probe::parse::BleResult;
using footfall::probe::parse::DropReason;
using footfall::probe::parse::Eddystone;
using footfall::probe::parse::parse_ble_ll;
using footfall::probe::parse::parse_ble_ll_phdr;
namespace ble_pdu = footfall::probe::parse::ble_pdu;

namespace {

using Verdict = BleResult::Verdict;

MacAddress mac(const char* text) { return MacAddress::parse(text).value(); }

template <std::size_t N>
std::vector<std::uint8_t> without_phdr(const std::array<std::uint8_t, N>& frame) {
  return {frame.begin() + 10, frame.end()};
}

// Real capture (Ubertooth, LINKTYPE 256): ADV_IND from 7d:43:82:42:23:16, signal valid at 0 dBm, RF channel 0.
constexpr std::array<std::uint8_t, 52> kUbertoothAdvInd{
    0x00, 0x00, 0xc9, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x37, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x40, 0x21,
    0x16, 0x23, 0x42, 0x82, 0x43, 0x7d, 0x02, 0x01, 0x1a, 0x03, 0x03, 0x11, 0x18, 0x13, 0x09, 0x41,
    0x6c, 0x65, 0x72, 0x74, 0x20, 0x4e, 0x6f, 0x74, 0x69, 0x66, 0x69, 0x63, 0x61, 0x74, 0x69, 0x6f,
    0x6e, 0xe5, 0xb9, 0x02};

// Real capture: SCAN_REQ, ScanA 14:f5:de:f0:b2:0c (TxAdd random) asking AdvA 7d:43:82:42:23:16 (RxAdd random),
// signal -5 dBm.
constexpr std::array<std::uint8_t, 31> kUbertoothScanReq{
    0x00, 0xfb, 0xc9, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x37, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0xc3, 0x0c,
    0x0c, 0xb2, 0xf0, 0xde, 0xf5, 0x14, 0x16, 0x23, 0x42, 0x82, 0x43, 0x7d, 0x0a, 0xd5, 0x5a};

// Real capture: CONNECT_IND, InitA 5c:f3:70:73:3e:f4 (TxAdd public) to AdvA 7d:43:82:42:23:16 (RxAdd random).
constexpr std::array<std::uint8_t, 53> kUbertoothConnectInd{
    0x00, 0x00, 0xc9, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x37, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x85, 0x22,
    0xf4, 0x3e, 0x73, 0x70, 0xf3, 0x5c, 0x16, 0x23, 0x42, 0x82, 0x43, 0x7d, 0x27, 0x4a, 0x65, 0x50,
    0x5d, 0xd4, 0x2e, 0x03, 0x26, 0x00, 0x36, 0x00, 0x00, 0x00, 0x2a, 0x00, 0xff, 0xff, 0xff, 0xff,
    0x1f, 0xa5, 0xec, 0x7c, 0xa4};

// Real capture: empty data-channel PDU on connection access address 0x50654a27.
constexpr std::array<std::uint8_t, 19> kUbertoothDataPdu{
    0x06, 0x00, 0xc9, 0x00, 0x00, 0x00, 0x00, 0x00, 0x27, 0x00,
    0x27, 0x4a, 0x65, 0x50, 0x05, 0x00, 0xaa, 0xf2, 0x8e};

// Real capture (HackRF, LINKTYPE 256): Apple ADV_IND on RF channel 12, signal flag off.
constexpr std::array<std::uint8_t, 42> kHackrfAppleAdvInd{
    0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x60, 0x17,
    0x9c, 0x6f, 0xbf, 0xc3, 0xc1, 0x69, 0x02, 0x01, 0x1a, 0x0a, 0xff, 0x4c, 0x00, 0x10, 0x05, 0x25,
    0x98, 0x0a, 0xc8, 0x18, 0x02, 0x0a, 0x00, 0xf8, 0x2f, 0x29};

// Built by hand (CRC confirmed correct by Wireshark): ADV_IND from c0:ff:ee:12:34:56 carrying an iBeacon,
// UUID e2c56db5-dffb-48d2-b060-d0f5a71096e0, major 1, minor 2, measured power -59 dBm; signal -67 dBm.
constexpr std::array<std::uint8_t, 55> kIBeaconAdvInd{
    0x0c, 0xbd, 0xa6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x40, 0x24,
    0x56, 0x34, 0x12, 0xee, 0xff, 0xc0, 0x02, 0x01, 0x06, 0x1a, 0xff, 0x4c, 0x00, 0x02, 0x15, 0xe2,
    0xc5, 0x6d, 0xb5, 0xdf, 0xfb, 0x48, 0xd2, 0xb0, 0x60, 0xd0, 0xf5, 0xa7, 0x10, 0x96, 0xe0, 0x00,
    0x01, 0x00, 0x02, 0xc5, 0x1d, 0xdb, 0xea};

// Built by hand: ADV_NONCONN_IND with Eddystone-UID, tx power -25, namespace 8b0ca750e7a74e14bd99,
// instance 0000000004d2; signal flag off.
constexpr std::array<std::uint8_t, 56> kEddystoneUid{
    0x27, 0xba, 0xa6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x42, 0x25,
    0x56, 0x34, 0x12, 0xee, 0xff, 0xc0, 0x02, 0x01, 0x06, 0x03, 0x03, 0xaa, 0xfe, 0x17, 0x16, 0xaa,
    0xfe, 0x00, 0xe7, 0x8b, 0x0c, 0xa7, 0x50, 0xe7, 0xa7, 0x4e, 0x14, 0xbd, 0x99, 0x00, 0x00, 0x00,
    0x00, 0x04, 0xd2, 0x00, 0x00, 0x93, 0x2f, 0x51};

// Built by hand: Eddystone-URL, scheme 0x00 "http://www.", then "example", 0x00 ".com/", "abc".
constexpr std::array<std::uint8_t, 47> kEddystoneUrl{
    0x00, 0xb9, 0xa6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x02, 0x1c,
    0x56, 0x34, 0x12, 0xee, 0xff, 0xc0, 0x03, 0x03, 0xaa, 0xfe, 0x11, 0x16, 0xaa, 0xfe, 0x10, 0xeb,
    0x00, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x61, 0x62, 0x63, 0x11, 0x2d, 0x33};

// Built by hand: Eddystone-TLM v0, battery 3000 mV, temperature 0xfe80 (-1.5 C), 0x1234 adverts,
// uptime 123456 tenths of a second.
constexpr std::array<std::uint8_t, 47> kEddystoneTlm{
    0x00, 0xb8, 0xa6, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0xd6, 0xbe, 0x89, 0x8e, 0x42, 0x1c,
    0x56, 0x34, 0x12, 0xee, 0xff, 0xc0, 0x03, 0x03, 0xaa, 0xfe, 0x11, 0x16, 0xaa, 0xfe, 0x20, 0x00,
    0x0b, 0xb8, 0xfe, 0x80, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01, 0xe2, 0x40, 0x59, 0x5c, 0x4e};

// LL packet (no pseudo-header, no CRC) of an ADV_NONCONN_IND from c0:ff:ee:12:34:56 with the given AD bytes.
std::vector<std::uint8_t> nonconn_with_ads(std::span<const std::uint8_t> ads) {
  const std::array<std::uint8_t, 12> head{0xd6, 0xbe, 0x89, 0x8e, 0x42, static_cast<std::uint8_t>(6 + ads.size()),
                                          0x56, 0x34, 0x12, 0xee, 0xff, 0xc0};
  // Sized once: growing a vector from an initializer list trips a false -Warray-bounds in g++ 12.
  std::vector<std::uint8_t> p(head.size() + ads.size());
  std::copy(head.begin(), head.end(), p.begin());
  std::copy(ads.begin(), ads.end(), p.begin() + static_cast<std::ptrdiff_t>(head.size()));
  return p;
}

}  // namespace

TEST_CASE("ble: real ADV_IND with signal-valid pseudo-header") {
  const BleResult r = parse_ble_ll_phdr(kUbertoothAdvInd);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.pdu_type == ble_pdu::adv_ind);
  CHECK(r.advert.addr == mac("7d:43:82:42:23:16"));
  CHECK(r.advert.addr_random);
  REQUIRE(r.advert.rssi_dbm.has_value());
  CHECK(*r.advert.rssi_dbm == 0);
  CHECK(r.advert.channel == 0U);
  CHECK(r.advert.crc_ok == true);
  CHECK_FALSE(r.advert.company_id.has_value());
  CHECK_FALSE(r.advert.ibeacon.has_value());
  CHECK_FALSE(r.advert.ad_malformed);
}

TEST_CASE("ble: pseudo-header without the signal-valid flag gives no RSSI") {
  const BleResult r = parse_ble_ll_phdr(kHackrfAppleAdvInd);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.addr == mac("69:c1:c3:bf:6f:9c"));
  CHECK_FALSE(r.advert.rssi_dbm.has_value());
  CHECK(r.advert.channel == 12U);
  CHECK(r.advert.company_id == std::uint16_t{0x004C});
  CHECK_FALSE(r.advert.ibeacon.has_value());  // Apple Continuity, not an iBeacon
  CHECK(r.advert.crc_ok == true);
}

TEST_CASE("ble: RF channel above 39 is not reported") {
  auto frame = kHackrfAppleAdvInd;
  frame[0] = 40;
  const BleResult r = parse_ble_ll_phdr(frame);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK_FALSE(r.advert.channel.has_value());
}

TEST_CASE("ble: a flipped bit fails the CRC but the advert is still returned") {
  auto frame = kHackrfAppleAdvInd;
  frame[30] ^= 0x01;  // inside the manufacturer data
  const BleResult r = parse_ble_ll_phdr(frame);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.crc_ok == false);
}

TEST_CASE("ble: ADV_IND with iBeacon") {
  const BleResult r = parse_ble_ll_phdr(kIBeaconAdvInd);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.pdu_type == ble_pdu::adv_ind);
  CHECK(r.advert.addr == mac("c0:ff:ee:12:34:56"));
  CHECK(r.advert.addr_random);
  CHECK(r.advert.rssi_dbm == -67);
  CHECK(r.advert.channel == 12U);
  CHECK(r.advert.crc_ok == true);
  CHECK(r.advert.company_id == std::uint16_t{0x004C});
  REQUIRE(r.advert.ibeacon.has_value());
  const std::array<std::uint8_t, 16> uuid{0xe2, 0xc5, 0x6d, 0xb5, 0xdf, 0xfb, 0x48, 0xd2,
                                          0xb0, 0x60, 0xd0, 0xf5, 0xa7, 0x10, 0x96, 0xe0};
  CHECK(r.advert.ibeacon->uuid == uuid);
  CHECK(r.advert.ibeacon->major == 1);
  CHECK(r.advert.ibeacon->minor == 2);
  CHECK(r.advert.ibeacon->measured_power == -59);
  CHECK_FALSE(r.advert.eddystone.has_value());
}

TEST_CASE("ble: Apple manufacturer data one byte short of an iBeacon is not an iBeacon") {
  const std::vector<std::uint8_t> ads{0x19, 0xff, 0x4c, 0x00, 0x02, 0x15, 0xe2, 0xc5, 0x6d, 0xb5, 0xdf, 0xfb, 0x48,
                                      0xd2, 0xb0, 0x60, 0xd0, 0xf5, 0xa7, 0x10, 0x96, 0xe0, 0x00, 0x01, 0x00, 0x02};
  const BleResult r = parse_ble_ll(nonconn_with_ads(ads));
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.company_id == std::uint16_t{0x004C});
  CHECK_FALSE(r.advert.ibeacon.has_value());
  CHECK_FALSE(r.advert.ad_malformed);
  CHECK_FALSE(r.advert.crc_ok.has_value());  // no CRC captured, no pseudo-header verdict
}

TEST_CASE("ble: ADV_NONCONN_IND with Eddystone-UID") {
  const BleResult r = parse_ble_ll_phdr(kEddystoneUid);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.pdu_type == ble_pdu::adv_nonconn_ind);
  CHECK(r.advert.addr == mac("c0:ff:ee:12:34:56"));
  CHECK_FALSE(r.advert.rssi_dbm.has_value());
  CHECK(r.advert.channel == 39U);
  CHECK(r.advert.crc_ok == true);
  CHECK_FALSE(r.advert.company_id.has_value());
  REQUIRE(r.advert.eddystone.has_value());
  const Eddystone& e = *r.advert.eddystone;
  CHECK(e.frame == Eddystone::Frame::uid);
  CHECK(e.tx_power == -25);
  const std::array<std::uint8_t, 10> ns{0x8b, 0x0c, 0xa7, 0x50, 0xe7, 0xa7, 0x4e, 0x14, 0xbd, 0x99};
  const std::array<std::uint8_t, 6> instance{0x00, 0x00, 0x00, 0x00, 0x04, 0xd2};
  CHECK(e.namespace_id == ns);
  CHECK(e.instance_id == instance);
}

TEST_CASE("ble: Eddystone service data without 0xFEAA in the service list is not Eddystone") {
  auto frame = kEddystoneUid;
  frame[27] = 0x0f;  // service list now says 0xFE0F
  const BleResult r = parse_ble_ll_phdr(frame);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK_FALSE(r.advert.eddystone.has_value());
}

TEST_CASE("ble: Eddystone-URL expands scheme and codes") {
  const BleResult r = parse_ble_ll_phdr(kEddystoneUrl);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK_FALSE(r.advert.addr_random);
  CHECK(r.advert.crc_ok == true);
  REQUIRE(r.advert.eddystone.has_value());
  CHECK(r.advert.eddystone->frame == Eddystone::Frame::url);
  CHECK(r.advert.eddystone->tx_power == -21);
  CHECK(r.advert.eddystone->url == "http://www.example.com/abc");
}

TEST_CASE("ble: Eddystone-URL every scheme and expansion code") {
  struct Case {
    std::vector<std::uint8_t> encoded;  // scheme byte then URL bytes
    const char* url;
  };
  const std::vector<Case> cases{
      {{0x01, 'a', 0x01, 'b', 0x02}, "https://www.a.org/b.edu/"},
      {{0x02, 'a', 0x03, 'b', 0x04, 'c', 0x05, 'd', 0x06}, "http://a.net/b.info/c.biz/d.gov/"},
      {{0x03, 'a', 0x07, 'b', 0x08, 'c', 0x09, 'd', 0x0a, 'e', 0x0b, 'f', 0x0c, 'g', 0x0d},
       "https://a.comb.orgc.edud.nete.infof.bizg.gov"},
      {{0x02, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q'},
       "http://abcdefghijklmnopq"},  // exactly 17 encoded bytes
  };
  for (const Case& c : cases) {
    std::vector<std::uint8_t> ads{0x03, 0x03, 0xaa, 0xfe, static_cast<std::uint8_t>(5 + c.encoded.size()),
                                  0x16, 0xaa, 0xfe, 0x10, 0x00};
    ads.insert(ads.end(), c.encoded.begin(), c.encoded.end());
    const BleResult r = parse_ble_ll(nonconn_with_ads(ads));
    REQUIRE(r.verdict == Verdict::advert);
    REQUIRE(r.advert.eddystone.has_value());
    CHECK(r.advert.eddystone->url == c.url);
  }
  // Scheme 4 and codes 0x0e..0x20, 0x7f..0xff are reserved: no Eddystone object rather than a made-up URL.
  for (const std::vector<std::uint8_t>& encoded :
       {std::vector<std::uint8_t>{0x04, 'a'}, std::vector<std::uint8_t>{0x00, 'a', 0x0e},
        std::vector<std::uint8_t>{0x00, 'a', 0x20}, std::vector<std::uint8_t>{0x00, 'a', 0x7f},
        std::vector<std::uint8_t>{0x00, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o',
                                  'p', 'q', 'r'}}) {  // 18 encoded bytes: over the 17-byte limit
    std::vector<std::uint8_t> ads{0x03, 0x03, 0xaa, 0xfe, static_cast<std::uint8_t>(5 + encoded.size()),
                                  0x16, 0xaa, 0xfe, 0x10, 0x00};
    ads.insert(ads.end(), encoded.begin(), encoded.end());
    const BleResult r = parse_ble_ll(nonconn_with_ads(ads));
    REQUIRE(r.verdict == Verdict::advert);
    CHECK_FALSE(r.advert.eddystone.has_value());
  }
}

TEST_CASE("ble: Eddystone-TLM") {
  const BleResult r = parse_ble_ll_phdr(kEddystoneTlm);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.crc_ok == true);
  REQUIRE(r.advert.eddystone.has_value());
  const Eddystone& e = *r.advert.eddystone;
  CHECK(e.frame == Eddystone::Frame::tlm);
  CHECK(e.battery_mv == 3000);
  CHECK(e.temperature_c == doctest::Approx(-1.5));
  CHECK(e.adv_count == 0x1234U);
  CHECK(e.uptime_ds == 123456U);
}

TEST_CASE("ble: Eddystone-TLM temperature 0x8000 means not measured") {
  auto ll = without_phdr(kEddystoneTlm);
  ll[24] = 0x80;
  ll[25] = 0x00;
  const BleResult r = parse_ble_ll(ll);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.crc_ok == false);  // the golden CRC no longer matches
  REQUIRE(r.advert.eddystone.has_value());
  CHECK(std::isnan(r.advert.eddystone->temperature_c));
}

TEST_CASE("ble: Eddystone-EID") {
  const std::vector<std::uint8_t> ads{0x03, 0x03, 0xaa, 0xfe, 0x0d, 0x16, 0xaa, 0xfe, 0x30, 0xf0,
                                      0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  const BleResult r = parse_ble_ll(nonconn_with_ads(ads));
  REQUIRE(r.verdict == Verdict::advert);
  REQUIRE(r.advert.eddystone.has_value());
  CHECK(r.advert.eddystone->frame == Eddystone::Frame::eid);
  CHECK(r.advert.eddystone->tx_power == -16);
  const std::array<std::uint8_t, 8> eid{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  CHECK(r.advert.eddystone->eid == eid);
  CHECK_FALSE(r.advert.ad_malformed);
}

TEST_CASE("ble: SCAN_REQ reports the advertiser, random flag from RxAdd") {
  const BleResult r = parse_ble_ll_phdr(kUbertoothScanReq);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.pdu_type == ble_pdu::scan_req);
  CHECK(r.advert.addr == mac("7d:43:82:42:23:16"));
  CHECK(r.advert.addr_random);
  CHECK(r.advert.rssi_dbm == -5);
  CHECK(r.advert.crc_ok == true);

  // Same PDU with RxAdd cleared and TxAdd kept: AdvA is now public although ScanA is still random.
  auto ll = without_phdr(kUbertoothScanReq);
  ll[4] = 0x43;
  const BleResult public_adv_a = parse_ble_ll(ll);
  REQUIRE(public_adv_a.verdict == Verdict::advert);
  CHECK_FALSE(public_adv_a.advert.addr_random);
  CHECK(public_adv_a.advert.crc_ok == false);
}

TEST_CASE("ble: CONNECT_IND reports the advertiser, random flag from RxAdd") {
  const BleResult r = parse_ble_ll_phdr(kUbertoothConnectInd);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.pdu_type == ble_pdu::connect_ind);
  CHECK(r.advert.addr == mac("7d:43:82:42:23:16"));
  CHECK(r.advert.addr_random);  // InitA is public (TxAdd 0), AdvA random (RxAdd 1)
  CHECK(r.advert.crc_ok == true);
}

TEST_CASE("ble: CONNECT_IND shorter than its LLData is a bad header") {
  auto ll = without_phdr(kUbertoothConnectInd);
  ll[5] = 12;  // claims only InitA and AdvA
  const BleResult r = parse_ble_ll(ll);
  CHECK(r.verdict == Verdict::malformed);
  CHECK(r.reason == DropReason::ble_bad_header);
}

TEST_CASE("ble: DLT 147 payload without pseudo-header has no radio data") {
  const BleResult r = parse_ble_ll(without_phdr(kUbertoothAdvInd));
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.addr == mac("7d:43:82:42:23:16"));
  CHECK_FALSE(r.advert.rssi_dbm.has_value());
  CHECK_FALSE(r.advert.channel.has_value());
  CHECK(r.advert.crc_ok == true);
}

TEST_CASE("ble: data-channel access address is ignored") {
  const BleResult r = parse_ble_ll_phdr(kUbertoothDataPdu);
  CHECK(r.verdict == Verdict::ignored);
  CHECK(r.reason == DropReason::ble_not_advertising);
}

TEST_CASE("ble: pseudo-header saying data PDU is ignored even on the advertising address") {
  auto frame = kUbertoothAdvInd;
  frame[9] = 0x01;  // flags 0x0137: PDU type 2 (data, central to peripheral)
  const BleResult r = parse_ble_ll_phdr(frame);
  CHECK(r.verdict == Verdict::ignored);
  CHECK(r.reason == DropReason::ble_not_advertising);
}

TEST_CASE("ble: LE Coded PHY skips the coding indicator") {
  std::vector<std::uint8_t> frame(kUbertoothAdvInd.begin(), kUbertoothAdvInd.end());
  frame[9] = 0x80;                     // flags 0x8037: PHY = LE Coded
  frame.insert(frame.begin() + 14, 0x00);  // CI after the access address
  const BleResult r = parse_ble_ll_phdr(frame);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.addr == mac("7d:43:82:42:23:16"));
  CHECK(r.advert.crc_ok == true);
}

TEST_CASE("ble: truncated pseudo-header, access address, PDU header and AdvA") {
  for (std::size_t cut : {0U, 5U, 9U, 12U, 14U, 15U, 16U, 21U}) {
    CAPTURE(cut);
    const BleResult r = parse_ble_ll_phdr(std::span(kUbertoothAdvInd).first(cut));
    CHECK(r.verdict == Verdict::malformed);
    CHECK(r.reason == DropReason::ble_truncated);
  }
  const auto ll = without_phdr(kUbertoothScanReq);
  // SCAN_REQ cut inside AdvA (the second address).
  const BleResult r = parse_ble_ll(std::span(ll).first(14));
  CHECK(r.verdict == Verdict::malformed);
  CHECK(r.reason == DropReason::ble_truncated);
}

TEST_CASE("ble: capture cut inside the AD data keeps the advert and the elements before the cut") {
  const auto ll = without_phdr(kHackrfAppleAdvInd);
  // AdvA ends at 12; flags element 12..14; manufacturer element 15..25. Cut after the company id.
  const BleResult r = parse_ble_ll(std::span(ll).first(19));
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.addr == mac("69:c1:c3:bf:6f:9c"));
  CHECK_FALSE(r.advert.company_id.has_value());
  CHECK(r.advert.ad_malformed);
  CHECK_FALSE(r.advert.crc_ok.has_value());
}

TEST_CASE("ble: AD length running past the payload stops AD parsing, advert still emitted") {
  // Flags, then a manufacturer element (Apple) whose length claims 0x40 bytes.
  const std::vector<std::uint8_t> ads{0x02, 0x01, 0x06, 0x40, 0xff, 0x4c, 0x00, 0x02, 0x15};
  const BleResult r = parse_ble_ll(nonconn_with_ads(ads));
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.addr == mac("c0:ff:ee:12:34:56"));
  CHECK(r.advert.ad_malformed);
  CHECK_FALSE(r.advert.company_id.has_value());

  // A good manufacturer element before the bad one is kept.
  const std::vector<std::uint8_t> good_then_bad{0x03, 0xff, 0x59, 0x00, 0x05, 0x16, 0xaa};
  const BleResult kept = parse_ble_ll(nonconn_with_ads(good_then_bad));
  REQUIRE(kept.verdict == Verdict::advert);
  CHECK(kept.advert.company_id == std::uint16_t{0x0059});
  CHECK(kept.advert.ad_malformed);
}

TEST_CASE("ble: zero-length AD structure ends the data without being malformed") {
  // Whatever follows the zero is padding, even when it would read as a broken element.
  const std::vector<std::uint8_t> ads{0x03, 0xff, 0x59, 0x00, 0x00, 0x00, 0x07, 0xff, 0x4c};
  const BleResult r = parse_ble_ll(nonconn_with_ads(ads));
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.company_id == std::uint16_t{0x0059});
  CHECK_FALSE(r.advert.ad_malformed);
}

TEST_CASE("ble: header length below the PDU minimum or a reserved PDU type is a bad header") {
  // SCAN_RSP whose length (4) cannot hold AdvA, as seen in real noisy captures.
  const std::vector<std::uint8_t> short_scan_rsp{0xd6, 0xbe, 0x89, 0x8e, 0x44, 0x04,
                                                 0x3b, 0x2c, 0xc0, 0xdd, 0x0e, 0x6a, 0x95};
  BleResult r = parse_ble_ll(short_scan_rsp);
  CHECK(r.verdict == Verdict::malformed);
  CHECK(r.reason == DropReason::ble_bad_header);

  const std::vector<std::uint8_t> reserved_type{0xd6, 0xbe, 0x89, 0x8e, 0x0c, 0x06,
                                                0x01, 0x02, 0x03, 0x04, 0x05, 0x06};
  r = parse_ble_ll(reserved_type);
  CHECK(r.verdict == Verdict::malformed);
  CHECK(r.reason == DropReason::ble_bad_header);
}

TEST_CASE("ble: extended advertising with AdvA and AD data") {
  // AUX_ADV_IND as a secondary-channel sniffer sees it.
  const std::vector<std::uint8_t> ll{
      0xd6, 0xbe, 0x89, 0x8e, 0x47, 0x10,  // type 7, TxAdd random, length 16
      0x0a, 0x49,                          // ext header length 10, flags AdvA | AdvDataInfo | TxPower
      0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // AdvA
      0x01, 0x20,                          // AdvDataInfo
      0xf6,                                // TxPower
      0x04, 0xff, 0x4c, 0x00, 0x12};       // AdvData: Apple manufacturer data
  const BleResult r = parse_ble_ll(ll);
  REQUIRE(r.verdict == Verdict::advert);
  CHECK(r.advert.pdu_type == ble_pdu::adv_ext_ind);
  CHECK(r.advert.addr == mac("11:22:33:44:55:66"));
  CHECK(r.advert.addr_random);
  CHECK(r.advert.company_id == std::uint16_t{0x004C});
}

TEST_CASE("ble: ADV_EXT_IND without AdvA is ignored; a header longer than the PDU is bad") {
  // Only AdvDataInfo and AuxPtr: the advertiser address is in the auxiliary packet.
  const std::vector<std::uint8_t> anonymous{0xd6, 0xbe, 0x89, 0x8e, 0x07, 0x07, 0x06, 0x18,
                                            0x01, 0x20, 0x05, 0x10, 0x20};
  BleResult r = parse_ble_ll(anonymous);
  CHECK(r.verdict == Verdict::ignored);
  CHECK(r.reason == DropReason::ble_no_address);

  // AUX_CONNECT_RSP claiming a 31-byte extended header in a 20-byte PDU (modelled on a real noisy capture).
  const std::vector<std::uint8_t> lying{0xd6, 0xbe, 0x89, 0x8e, 0x48, 0x14, 0x1f, 0x33, 0x75, 0x13, 0x53,
                                        0x59, 0xf3, 0x23, 0xe7, 0xa5, 0xe5, 0x5c, 0xf2, 0x18, 0x1e, 0x46,
                                        0x16, 0x20, 0x00, 0x00};
  r = parse_ble_ll(lying);
  CHECK(r.verdict == Verdict::malformed);
  CHECK(r.reason == DropReason::ble_bad_header);
}

TEST_CASE("ble: no input prefix is read past its end") {
  // Every prefix of every golden frame either parses or is dropped; the sanitizer build checks the reads.
  const std::vector<std::span<const std::uint8_t>> frames{kUbertoothAdvInd, kUbertoothScanReq,
                                                          kUbertoothConnectInd, kIBeaconAdvInd,
                                                          kEddystoneUid, kEddystoneUrl, kEddystoneTlm};
  for (const auto frame : frames) {
    for (std::size_t n = 0; n <= frame.size(); ++n) {
      const BleResult r = parse_ble_ll_phdr(frame.first(n));
      if (n < 16) CHECK(r.verdict == Verdict::malformed);
    }
  }
}


namespace {

// One row of FILE.ble.truth.tsv: tshark's view of an advertising-channel PDU.
struct TruthRow {
  std::string pdu_type, randomized_tx, address, company_id, channel, signal_dbm;
};

std::map<long, TruthRow> read_truth(const std::filesystem::path& path) {
  std::map<long, TruthRow> rows;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f(1);
    for (const char ch : line) {
      if (ch == '\t') f.emplace_back(); else f.back().push_back(ch);
    }
    f.resize(8);
    rows[std::stol(f[0])] = TruthRow{f[2], f[3], f[4], f[5], f[6], f[7]};
  }
  return rows;
}

std::string hex(unsigned value, int digits) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%0*x", digits, value);
  return text;
}

struct Agreement {
  int truth_rows = 0, emitted = 0, missing = 0, missing_bad_header = 0, extra = 0;
  int field_mismatches = 0, company_mismatches_on_bad_crc = 0;
};

// Runs the parser over a capture and compares each advert with tshark's row for the same frame.
Agreement compare_with_tshark(const std::filesystem::path& capture) {
  Agreement a;
  const auto truth = read_truth(capture.string() + ".ble.truth.tsv");
  a.truth_rows = static_cast<int>(truth.size());
  std::array<char, PCAP_ERRBUF_SIZE> error{};
  const std::unique_ptr<pcap_t, decltype(&pcap_close)> pcap(pcap_open_offline(capture.c_str(), error.data()),
                                                            &pcap_close);
  REQUIRE_MESSAGE(pcap != nullptr, error.data());
  const int link_type = pcap_datalink(pcap.get());
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  long frame = 0;
  while (pcap_next_ex(pcap.get(), &header, &data) == 1) {
    ++frame;
    const std::span<const std::uint8_t> packet(data, header->caplen);
    BleResult r;
    if (link_type == 256) {
      r = parse_ble_ll_phdr(packet);
    } else {
      // PPI carrying DLT 147: skip the PPI header by its own length field.
      REQUIRE(packet.size() >= 8);
      r = parse_ble_ll(packet.subspan(packet[2] | (packet[3] << 8)));
    }
    const auto row = truth.find(frame);
    if (r.verdict != Verdict::advert) {
      if (row != truth.end()) {
        ++a.missing;
        if (r.reason == DropReason::ble_bad_header) ++a.missing_bad_header;
      }
      continue;
    }
    ++a.emitted;
    if (row == truth.end()) {
      ++a.extra;
      continue;
    }
    const TruthRow& t = row->second;
    const std::string company = r.advert.company_id ? hex(*r.advert.company_id, 4) : "";
    const std::string channel = r.advert.channel ? std::to_string(*r.advert.channel) : "";
    const std::string rssi = r.advert.rssi_dbm ? std::to_string(*r.advert.rssi_dbm) : "";
    // tshark's randomized_tx is TxAdd, which describes ScanA / InitA for SCAN_REQ and CONNECT_IND.
    const bool random_comparable = r.advert.pdu_type != ble_pdu::scan_req && r.advert.pdu_type != ble_pdu::connect_ind;
    const bool fields_agree = t.pdu_type == hex(r.advert.pdu_type, 2) && t.address == r.advert.addr.to_string() &&
                              t.channel == channel && t.signal_dbm == rssi &&
                              (!random_comparable || t.randomized_tx == (r.advert.addr_random ? "1" : "0"));
    if (!fields_agree) {
      ++a.field_mismatches;
      MESSAGE(capture.filename().string() << " frame " << frame << " disagrees with tshark");
    }
    if (t.company_id != company) {
      // Only in corrupted adverts, where tshark and we recover different AD structures.
      if (r.advert.crc_ok == false) {
        ++a.company_mismatches_on_bad_crc;
      } else {
        ++a.field_mismatches;
        MESSAGE(capture.filename().string() << " frame " << frame << " company " << company << " vs " << t.company_id);
      }
    }
  }
  return a;
}

}  // namespace

TEST_CASE("ble: shared captures agree with tshark") {
  const std::filesystem::path dir = std::filesystem::path(FOOTFALL_SHARED_DIR) / "captures";
  if (!std::filesystem::exists(dir / "MANIFEST.md")) {
    MESSAGE("shared captures not found under " << dir.string() << ": skipped");
    return;
  }
  struct Expected {
    const char* file;
    int emitted;
    int missing_bad_header;  // tshark rows for reserved PDU types or lengths too short for AdvA
    int company_mismatches_on_bad_crc;
  };
  const std::array<Expected, 4> captures{{
      {"btle256-crackle-le-secure-connections.pcapng", 44, 0, 0},
      {"btle256-ice9-boston-adv38.pcap", 1213, 9, 3},
      {"btle256-ice9-boston-take2-all-adv.pcap", 188, 3, 0},
      {"ppi192-crackle-btle-dlt147-pairing.pcap", 516, 0, 0},
  }};
  for (const Expected& e : captures) {
    CAPTURE(e.file);
    const Agreement a = compare_with_tshark(dir / e.file);
    CHECK(a.emitted == e.emitted);
    CHECK(a.extra == 0);
    CHECK(a.field_mismatches == 0);
    CHECK(a.missing == a.missing_bad_header);
    CHECK(a.missing_bad_header == e.missing_bad_header);
    CHECK(a.emitted + a.missing == a.truth_rows);
    CHECK(a.company_mismatches_on_bad_crc == e.company_mismatches_on_bad_crc);
  }
}
