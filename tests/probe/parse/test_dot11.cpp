#include <doctest/doctest.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "probe/parse/dot11.h"

using footfall::MacAddress;
using footfall::probe::parse::DropReason;
using footfall::probe::parse::dot11_fcs_valid;
using footfall::probe::parse::Dot11Result;
using footfall::probe::parse::MgmtKind;
using footfall::probe::parse::parse_dot11;
using Verdict = Dot11Result::Verdict;
using Bytes = std::vector<std::uint8_t>;

namespace {

std::string text(std::span<const std::uint8_t> b) { return {b.begin(), b.end()}; }

MacAddress mac(std::string_view s) { return *MacAddress::parse(s); }

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Probe request from da:a1:19:12:34:56, broadcast, seq 0x123: wildcard SSID, rates, extended rates, DS 6.
const Bytes kProbeWildcard = {
    0x40, 0x00,                                            // frame control: management / probe request
    0x00, 0x00,                                            // duration
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                    // addr1
    0xda, 0xa1, 0x19, 0x12, 0x34, 0x56,                    // addr2
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                    // addr3
    0x30, 0x12,                                            // sequence control: seq 0x123, frag 0
    0x00, 0x00,                                            // SSID, wildcard
    0x01, 0x04, 0x02, 0x04, 0x0b, 0x16,                    // supported rates (4)
    0x32, 0x08, 0x0c, 0x12, 0x18, 0x24, 0x30, 0x48, 0x60, 0x6c,  // extended supported rates (8)
    0x03, 0x01, 0x06,                                      // DS parameter set: channel 6
};

// Directed probe request for "Mall-Guest" to 00:11:22:33:44:55, retry, seq 7 frag 0.
const Bytes kProbeDirected = {
    0x40, 0x08, 0x00, 0x00,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x3c, 0x28, 0x6d, 0x01, 0x02, 0x03,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x70, 0x00,
    0x00, 0x0a, 'M', 'a', 'l', 'l', '-', 'G', 'u', 'e', 's', 't',
    0x01, 0x08, 0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24,
};

// Probe response from AP 00:11:22:33:44:55 to 3c:28:6d:01:02:03: interval 100 TU, capability 0x0431.
const Bytes kProbeResponse = {
    0x50, 0x00, 0x3a, 0x01,
    0x3c, 0x28, 0x6d, 0x01, 0x02, 0x03,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x10, 0x9c,                                            // seq 0x9c1, frag 0
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,        // timestamp
    0x64, 0x00,                                            // beacon interval
    0x31, 0x04,                                            // capability
    0x00, 0x0a, 'M', 'a', 'l', 'l', '-', 'G', 'u', 'e', 's', 't',
    0x01, 0x04, 0x82, 0x84, 0x8b, 0x96,
    0x03, 0x01, 0x0b,
};

// Beacon with DS channel 1, rates, HT, VHT, HE and vendor elements (WMM, Apple, one too short for an OUI).
const Bytes kBeacon = {
    0x80, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0xf0, 0xff,                                            // seq 4095, frag 0
    0, 0, 0, 0, 0, 0, 0, 0,                                // timestamp
    0x66, 0x00,                                            // interval 102
    0x11, 0x04,                                            // capability
    0x00, 0x04, 'S', 'h', 'o', 'p',
    0x01, 0x08, 0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24,
    0x03, 0x01, 0x01,
    0x2d, 0x1a, 0xef, 0x01, 0x1b, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // HT capabilities
    0x32, 0x04, 0x30, 0x48, 0x60, 0x6c,                    // extended supported rates
    0xbf, 0x0c, 0xb1, 0x79, 0x81, 0x33, 0xfa, 0xff, 0x0c, 0x03, 0xfa, 0xff, 0x0c, 0x03,  // VHT capabilities
    0xff, 0x04, 0x23, 0x01, 0x02, 0x03,                    // element id extension 35: HE capabilities
    0xdd, 0x07, 0x00, 0x50, 0xf2, 0x02, 0x01, 0x01, 0x00,  // vendor: Microsoft WMM
    0xdd, 0x04, 0x00, 0x17, 0xf2, 0x0a,                    // vendor: Apple
    0xdd, 0x02, 0xaa, 0xbb,                                // vendor element too short for an OUI
};

Dot11Result parse(const Bytes& b, bool fcs = false) { return parse_dot11(b, fcs); }

}  // namespace

TEST_CASE("probe request with wildcard SSID") {
  const auto r = parse(kProbeWildcard);
  REQUIRE(r.verdict == Verdict::frame);
  const auto& f = r.frame;
  CHECK(f.kind == MgmtKind::probe_req);
  CHECK(f.da == mac("ff:ff:ff:ff:ff:ff"));
  CHECK(f.sa == mac("da:a1:19:12:34:56"));
  CHECK(f.bssid == mac("ff:ff:ff:ff:ff:ff"));
  CHECK(f.seq == 0x123);
  CHECK(f.frag == 0);
  CHECK_FALSE(f.retry);
  CHECK(f.ssid_present);
  CHECK(f.ssid.empty());
  CHECK(f.supported_rates == 12);
  REQUIRE(f.ds_channel.has_value());
  CHECK(*f.ds_channel == 6);
  CHECK_FALSE(f.has_ht);
  CHECK(f.vendor_oui_count == 0);
  CHECK(f.ie_fingerprint != 0);
  CHECK_FALSE(f.ie_truncated);
  CHECK_FALSE(f.body_truncated);
}

TEST_CASE("directed probe request: SSID points into the packet buffer") {
  const auto r = parse(kProbeDirected);
  REQUIRE(r.verdict == Verdict::frame);
  const auto& f = r.frame;
  CHECK(f.kind == MgmtKind::probe_req);
  CHECK(f.sa == mac("3c:28:6d:01:02:03"));
  CHECK(f.bssid == mac("00:11:22:33:44:55"));
  CHECK(f.ssid_present);
  CHECK(text(f.ssid) == "Mall-Guest");
  CHECK(f.ssid.data() == kProbeDirected.data() + 26);
  CHECK(f.seq == 7);
  CHECK(f.retry);
  CHECK(f.supported_rates == 8);
  CHECK_FALSE(f.ds_channel.has_value());
}

TEST_CASE("probe response: fixed fields, then elements; no fingerprint") {
  const auto r = parse(kProbeResponse);
  REQUIRE(r.verdict == Verdict::frame);
  const auto& f = r.frame;
  CHECK(f.kind == MgmtKind::probe_resp);
  CHECK(f.da == mac("3c:28:6d:01:02:03"));
  CHECK(f.sa == mac("00:11:22:33:44:55"));
  CHECK(f.bssid == mac("00:11:22:33:44:55"));
  CHECK(f.seq == 0x9c1);
  CHECK(f.beacon_interval == 100);
  CHECK(f.capability == 0x0431);
  CHECK(text(f.ssid) == "Mall-Guest");
  CHECK(f.supported_rates == 4);
  CHECK(f.ds_channel == std::optional<std::uint8_t>{11});
  CHECK(f.ie_fingerprint == 0);
}

TEST_CASE("beacon with DS channel, rates, HT, VHT, HE and vendor elements") {
  const auto r = parse(kBeacon);
  REQUIRE(r.verdict == Verdict::frame);
  const auto& f = r.frame;
  CHECK(f.kind == MgmtKind::beacon);
  CHECK(f.sa == mac("00:11:22:33:44:55"));
  CHECK(f.seq == 4095);
  CHECK(f.beacon_interval == 102);
  CHECK(f.capability == 0x0411);
  CHECK(text(f.ssid) == "Shop");
  CHECK(f.ds_channel == std::optional<std::uint8_t>{1});
  CHECK(f.supported_rates == 12);
  CHECK(f.has_ht);
  CHECK(f.has_vht);
  CHECK(f.has_he);
  REQUIRE(f.vendor_oui_count == 2);
  CHECK(f.vendor_ouis[0] == 0x0050f2);
  CHECK(f.vendor_ouis[1] == 0x0017f2);
  CHECK(f.ie_fingerprint == 0);
  CHECK_FALSE(f.ie_truncated);
}

TEST_CASE("element id extension other than 35 is not HE") {
  Bytes b = kBeacon;
  const std::size_t he_element = b.size() - 4 - 6 - 9 - 6;  // before the three vendor elements
  b[he_element + 2] = 0x24;                                 // ext id 35 -> 36 (HE operation)
  const auto r = parse(b);
  REQUIRE(r.verdict == Verdict::frame);
  CHECK_FALSE(r.frame.has_he);
  CHECK(r.frame.has_vht);
}

TEST_CASE("vendor OUIs: at most eight are kept") {
  Bytes b(kProbeWildcard.begin(), kProbeWildcard.begin() + 24);
  for (std::uint8_t i = 0; i < 10; ++i) b.insert(b.end(), {0xdd, 0x04, 0x00, 0x10, i, 0x01});
  const auto r = parse(b);
  REQUIRE(r.verdict == Verdict::frame);
  REQUIRE(r.frame.vendor_oui_count == 8);
  CHECK(r.frame.vendor_ouis[0] == 0x001000);
  CHECK(r.frame.vendor_ouis[7] == 0x001007);
}

TEST_CASE("FCS at the end is stripped when the radio says so") {
  const Bytes body(kProbeWildcard.begin(), kProbeWildcard.begin() + 32);  // up to the rates element
  const Bytes with_fcs = concat({body, {0xe9, 0xa1, 0xbf, 0x5b}});       // CRC-32 of `body`, little-endian
  CHECK(dot11_fcs_valid(with_fcs));

  const auto stripped = parse(with_fcs, true);
  REQUIRE(stripped.verdict == Verdict::frame);
  CHECK_FALSE(stripped.frame.ie_truncated);
  CHECK(stripped.frame.supported_rates == 4);
  CHECK(stripped.frame.ie_fingerprint == parse(body).frame.ie_fingerprint);

  // Read as elements, the FCS octets are an element claiming 0xa1 bytes: the list ends inside it.
  const auto kept = parse(with_fcs, false);
  REQUIRE(kept.verdict == Verdict::frame);
  CHECK(kept.frame.ie_truncated);
  CHECK(kept.frame.supported_rates == 4);

  Bytes corrupted = with_fcs;
  corrupted[10] ^= 0x01;
  CHECK_FALSE(dot11_fcs_valid(corrupted));
  CHECK_FALSE(dot11_fcs_valid(Bytes{0x00, 0x00, 0x00}));

  const auto too_short = parse(Bytes{0x40, 0x00, 0x00}, true);
  CHECK(too_short.verdict == Verdict::malformed);
  CHECK(too_short.reason == DropReason::dot11_truncated);
}

TEST_CASE("Order bit: a 4-byte HT Control field follows the header") {
  const Bytes b = concat({{0x40, 0x80, 0x00, 0x00},
                          {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                          {0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc},
                          {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                          {0x50, 0x00},
                          {0x01, 0x02, 0x03, 0x04},  // HT Control
                          {0x00, 0x03, 'a', 'b', 'c'}});
  const auto r = parse(b);
  REQUIRE(r.verdict == Verdict::frame);
  CHECK(r.frame.seq == 5);
  CHECK(text(r.frame.ssid) == "abc");
  CHECK_FALSE(r.frame.ie_truncated);

  SUBCASE("cut inside the HT Control: header kept, body truncated") {
    const auto cut = parse(Bytes(b.begin(), b.begin() + 26));
    REQUIRE(cut.verdict == Verdict::frame);
    CHECK(cut.frame.body_truncated);
    CHECK(cut.frame.sa == mac("02:00:00:aa:bb:cc"));
    CHECK_FALSE(cut.frame.ssid_present);
  }
}

TEST_CASE("beacon cut inside the fixed fields: header kept, no elements") {
  const auto r = parse(Bytes(kBeacon.begin(), kBeacon.begin() + 30));
  REQUIRE(r.verdict == Verdict::frame);
  CHECK(r.frame.body_truncated);
  CHECK(r.frame.sa == mac("00:11:22:33:44:55"));
  CHECK(r.frame.seq == 4095);
  CHECK_FALSE(r.frame.ssid_present);
  CHECK(r.frame.beacon_interval == 0);

  const auto header_only = parse(Bytes(kBeacon.begin(), kBeacon.begin() + 24));
  REQUIRE(header_only.verdict == Verdict::frame);
  CHECK(header_only.frame.body_truncated);
}

TEST_CASE("Protected flag: the body is not read as elements") {
  Bytes b = kProbeDirected;
  b[1] = 0x40;
  const auto r = parse(b);
  REQUIRE(r.verdict == Verdict::frame);
  CHECK(r.frame.body_protected);
  CHECK_FALSE(r.frame.ssid_present);
  CHECK(r.frame.sa == mac("3c:28:6d:01:02:03"));
}

TEST_CASE("data and control frames are ignored, even when shorter than a management header") {
  const Bytes qos_data = {0x88, 0x41, 0x2c, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x3c, 0x28, 0x6d,
                          0x01, 0x02, 0x03, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x40, 0x01, 0x00, 0x00};
  const Bytes ack = {0xd4, 0x00, 0x00, 0x00, 0x3c, 0x28, 0x6d, 0x01, 0x02, 0x03};
  for (const auto& b : {qos_data, ack}) {
    const auto r = parse(b);
    CHECK(r.verdict == Verdict::ignored);
    CHECK(r.reason == DropReason::not_management);
  }
}

TEST_CASE("802.11ad DMG beacon (type 3) is an extension frame, not a beacon") {
  const Bytes dmg = {0x0c, 0x00, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
                     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, 0x00};
  const auto r = parse(dmg);
  CHECK(r.verdict == Verdict::ignored);
  CHECK(r.reason == DropReason::extension_frame);
}

TEST_CASE("management subtypes other than probe request, probe response, beacon are ignored") {
  for (const std::uint8_t fc0 : Bytes{0x00, 0x10, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0}) {
    Bytes b = kProbeDirected;
    b[0] = fc0;
    const auto r = parse(b);
    CHECK(r.verdict == Verdict::ignored);
    CHECK(r.reason == DropReason::other_management);
  }
}

TEST_CASE("header shorter than 24 bytes is malformed") {
  for (const std::ptrdiff_t n : {0, 1, 2, 10, 23}) {
    const auto r = parse(Bytes(kProbeWildcard.begin(), kProbeWildcard.begin() + n));
    CHECK(r.verdict == Verdict::malformed);
    CHECK(r.reason == DropReason::dot11_truncated);
  }
}

TEST_CASE("protocol version other than 0 is malformed") {
  for (const std::uint8_t version : Bytes{1, 2, 3}) {
    Bytes b = kProbeWildcard;
    b[0] = static_cast<std::uint8_t>(b[0] | version);
    const auto r = parse(b);
    CHECK(r.verdict == Verdict::malformed);
    CHECK(r.reason == DropReason::dot11_bad_version);
  }
}

TEST_CASE("element list ending inside an element: earlier elements kept, frame still returned") {
  const Bytes b = concat({Bytes(kProbeDirected.begin(), kProbeDirected.end()),
                          {0x03, 0x01, 0x0b},
                          {0x2d, 0x1a, 0xef, 0x01, 0x1b}});  // HT capabilities says 26 bytes, 3 follow
  const auto r = parse(b);
  REQUIRE(r.verdict == Verdict::frame);
  CHECK(r.frame.ie_truncated);
  CHECK(text(r.frame.ssid) == "Mall-Guest");
  CHECK(r.frame.supported_rates == 8);
  CHECK(r.frame.ds_channel == std::optional<std::uint8_t>{11});
  CHECK_FALSE(r.frame.has_ht);

  SUBCASE("a truncated SSID element is not an SSID") {
    const Bytes cut(kProbeDirected.begin(), kProbeDirected.begin() + 30);
    const auto c = parse(cut);
    REQUIRE(c.verdict == Verdict::frame);
    CHECK(c.frame.ie_truncated);
    CHECK_FALSE(c.frame.ssid_present);
  }
  SUBCASE("one stray octet after the last element") {
    const Bytes stray = concat({kProbeDirected, {0xdd}});
    const auto s = parse(stray);
    REQUIRE(s.verdict == Verdict::frame);
    CHECK(s.frame.ie_truncated);
    CHECK(text(s.frame.ssid) == "Mall-Guest");
  }
}

TEST_CASE("SSID: the first element only, at its length even past 32") {
  const Bytes header(kProbeWildcard.begin(), kProbeWildcard.begin() + 24);
  Bytes long_ssid = {0x00, 40};
  long_ssid.resize(42, 'X');
  const Bytes b = concat({header, long_ssid, {0x00, 0x03, 't', 'w', 'o'}});
  const auto r = parse(b);
  REQUIRE(r.verdict == Verdict::frame);
  CHECK(r.frame.ssid.size() == 40);
  CHECK(text(r.frame.ssid) == std::string(40, 'X'));
}

TEST_CASE("sequence control and retry flag") {
  Bytes b = kProbeWildcard;
  b[1] = 0x08;   // retry
  b[22] = 0xc5;  // sequence control 0xabc5: seq 0xabc, fragment 5
  b[23] = 0xab;
  const auto r = parse(b);
  REQUIRE(r.verdict == Verdict::frame);
  CHECK(r.frame.seq == 0xabc);
  CHECK(r.frame.frag == 5);
  CHECK(r.frame.retry);
}

TEST_CASE("probe request fingerprint") {
  // One device's probe request in parts, so that only one thing changes at a time.
  const auto header = [](std::uint8_t mac_last, std::uint8_t seq_low) {
    return Bytes{0x40, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                 0xda, 0xa1, 0x19, 0x12, 0x34, mac_last, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, seq_low, 0x05};
  };
  const Bytes ssid_wild = {0x00, 0x00};
  const Bytes ssid_mall = {0x00, 0x04, 'M', 'a', 'l', 'l'};
  const Bytes rates = {0x01, 0x04, 0x02, 0x04, 0x0b, 0x16};
  const Bytes ext_rates = {0x32, 0x04, 0x0c, 0x12, 0x18, 0x24};
  const auto ds = [](std::uint8_t ch) { return Bytes{0x03, 0x01, ch}; };
  const Bytes ht = {0x2d, 0x06, 0xad, 0x01, 0x17, 0xff, 0xff, 0x00};
  const Bytes ext_caps = {0x7f, 0x08, 0x04, 0x00, 0x0a, 0x02, 0x01, 0x00, 0x40, 0x80};
  // Vendor WPS element: OUI 00:50:f2 type 4, then a UUID that some devices change per probe.
  const auto wps = [](std::uint8_t uuid) { return Bytes{0xdd, 0x09, 0x00, 0x50, 0xf2, 0x04, 0x10, 0x47, 0x00, 0x01, uuid}; };
  const auto probe = [&](std::initializer_list<Bytes> parts) {
    const Bytes b = concat(parts);
    const auto r = parse_dot11(b, false);
    REQUIRE(r.verdict == Verdict::frame);
    return r.frame.ie_fingerprint;
  };

  const auto base = probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht, ext_caps, wps(0x01)});
  CHECK(base != 0);

  SUBCASE("equal across SSID, channel, sequence number, MAC and vendor payload") {
    CHECK(probe({header(0x99, 0x20), ssid_mall, rates, ext_rates, ds(11), ht, ext_caps, wps(0x7e)}) == base);
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ht, ext_caps, wps(0x01)}) == base);  // no DS
  }
  SUBCASE("equal across what one phone varies between its probes (docs/counting.md)") {
    // Element order: Android moves elements about between scans; the set of ids counts, not their order.
    CHECK(probe({header(0x56, 0x10), ssid_wild, ext_rates, rates, ds(1), ht, ext_caps, wps(0x01)}) == base);
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ext_caps, ht, wps(0x01)}) == base);
    // Vendor elements (WPS, P2P, ...) come and go and change type between scans: left out.
    Bytes wps2 = wps(0x01);
    wps2[5] = 0x08;
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht, ext_caps, wps2}) == base);
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht, ext_caps}) == base);
    // HT MCS set: 1 or 2 receive streams (iPhones switch); capability info and A-MPDU parameters count.
    Bytes ht_two_streams = ht;
    ht_two_streams[6] = 0x00;
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht_two_streams, ext_caps, wps(0x01)}) == base);
    // Extended capability bits flip between scans: only the element's length counts.
    Bytes caps2 = ext_caps;
    caps2[2] = 0x00;
    caps2[8] = 0x00;
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht, caps2, wps(0x01)}) == base);
  }
  SUBCASE("different for a different element set") {
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ds(1), ht, ext_caps, wps(0x01)}) != base);
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ext_caps, wps(0x01)}) != base);  // no HT
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht, ext_caps, wps(0x01),
                 {0x0a, 0x01, 0x00}}) != base);  // one more element (Request), content not hashed
  }
  SUBCASE("different for different capability contents") {
    Bytes ht2 = ht;
    ht2[2] = 0xac;
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht2, ext_caps, wps(0x01)}) != base);
    Bytes rates2 = rates;
    rates2[5] = 0x96;
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates2, ext_rates, ds(1), ht, ext_caps, wps(0x01)}) != base);
    Bytes ht_ampdu = ht;
    ht_ampdu[4] = 0x1b;  // A-MPDU parameters
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht_ampdu, ext_caps, wps(0x01)}) != base);
    Bytes caps_longer = ext_caps;
    caps_longer[1] = 0x09;
    caps_longer.push_back(0x00);
    CHECK(probe({header(0x56, 0x10), ssid_wild, rates, ext_rates, ds(1), ht, caps_longer, wps(0x01)}) != base);
  }
}

// Golden real captures: plain 802.11 files (no radio header) against tshark's view in *.truth.tsv.
namespace {

struct TruthRow {
  std::string kind, sa, bssid, ssid_hex, seq;
  bool operator==(const TruthRow&) const = default;
};

std::map<int, TruthRow> read_truth(const std::filesystem::path& tsv) {
  std::map<int, TruthRow> rows;
  std::ifstream in(tsv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> col;
    std::stringstream ss(line);
    for (std::string c; std::getline(ss, c, '\t');) col.push_back(c);
    if (col.size() < 11) continue;
    rows[std::stoi(col[0])] = {col[2], col[3], col[4], col[5], col[10]};
  }
  return rows;
}

std::string hex(std::span<const std::uint8_t> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

}  // namespace

TEST_CASE("plain 802.11 shared captures agree with tshark") {
  const std::filesystem::path dir = std::filesystem::path(FOOTFALL_SHARED_DIR) / "captures";
  if (!std::filesystem::is_directory(dir)) {
    MESSAGE("skipped: shared captures not found at " << dir.string());
    return;
  }
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("dot11-", 0) != 0 || entry.path().extension() == ".tsv") continue;
    CAPTURE(name);
    char err[PCAP_ERRBUF_SIZE] = {};
    std::unique_ptr<pcap_t, decltype(&pcap_close)> cap(pcap_open_offline(entry.path().c_str(), err), &pcap_close);
    REQUIRE_MESSAGE(cap, err);
    REQUIRE(pcap_datalink(cap.get()) == DLT_IEEE802_11);
    ++files;

    std::map<int, TruthRow> ours;
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    for (int frame = 1; pcap_next_ex(cap.get(), &hdr, &data) == 1; ++frame) {
      const std::span<const std::uint8_t> bytes(data, hdr->caplen);
      // Nothing in plain 802.11 says whether an FCS is attached: a matching CRC does.
      const auto r = parse_dot11(bytes, dot11_fcs_valid(bytes));
      if (r.verdict != Verdict::frame) continue;
      const auto& f = r.frame;
      char kind[8];
      std::snprintf(kind, sizeof kind, "0x%04x", static_cast<unsigned>(f.kind));
      std::string ssid = f.ssid_present ? (f.ssid.empty() ? "<MISSING>" : hex(f.ssid)) : "";
      ours[frame] = {kind, f.sa.to_string(), f.bssid.to_string(), ssid, std::to_string(f.seq)};
    }
    const auto truth = read_truth(entry.path().string() + ".truth.tsv");
    CHECK(ours.size() == truth.size());
    for (const auto& entry_row : truth) {
      const int frame = entry_row.first;
      CAPTURE(frame);
      const auto it = ours.find(frame);
      REQUIRE(it != ours.end());
      CHECK(it->second == entry_row.second);
    }
  }
  CHECK(files >= 7);
}
