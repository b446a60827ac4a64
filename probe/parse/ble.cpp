#include "probe/parse/ble.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>

#include "common/byte_cursor.h"

namespace footfall::probe::parse {
namespace {

using Bytes = std::span<const std::uint8_t>;

constexpr std::size_t kPhdrLength = 10;
constexpr std::size_t kAddressLength = 6;
constexpr std::size_t kCrcLength = 3;
constexpr std::uint32_t kAdvertisingCrcInit = 0x555555;

// Pseudo-header flags (LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR).
constexpr std::uint16_t kPhdrSignalValid = 0x0002;
constexpr std::uint16_t kPhdrPduTypeMask = 0x0380;
constexpr std::uint16_t kPhdrCrcChecked = 0x0400;
constexpr std::uint16_t kPhdrCrcValid = 0x0800;
constexpr std::uint16_t kPhdrPhyMask = 0xC000;
constexpr unsigned kPhdrPhyCoded = 2;
constexpr unsigned kPhdrPduAdvertisingOrData = 0;
constexpr unsigned kPhdrPduAuxAdvertising = 1;
constexpr unsigned kPhdrPduReserved = 7;

// AD types (Bluetooth Assigned Numbers, "Common Data Types").
constexpr std::uint8_t kAdIncomplete16BitUuids = 0x02;
constexpr std::uint8_t kAdComplete16BitUuids = 0x03;
constexpr std::uint8_t kAdServiceData16BitUuid = 0x16;
constexpr std::uint8_t kAdManufacturerData = 0xFF;

constexpr std::uint16_t kCompanyApple = 0x004C;
constexpr std::uint16_t kEddystoneServiceUuid = 0xFEAA;
constexpr std::size_t kMaxEddystoneUrlBytes = 17;  // Eddystone-URL limit; also bounds the expanded string

// Extended header flags (Core spec Vol 6 Part B 2.3.4) in field order, with each field's length.
constexpr std::uint8_t kExtAdvA = 0x01;
constexpr std::array<std::pair<std::uint8_t, std::uint8_t>, 7> kExtFields{{
    {0x01, 6},   // AdvA
    {0x02, 6},   // TargetA
    {0x04, 1},   // CTEInfo
    {0x08, 2},   // AdvDataInfo
    {0x10, 3},   // AuxPtr
    {0x20, 18},  // SyncInfo
    {0x40, 1},   // TxPower
}};

// What the pseudo-header (if any) tells the link-layer parser.
struct LinkContext {
  bool coded_phy = false;           // a Coding Indicator octet follows the access address
  bool data_channel = false;        // pseudo-header says data or isochronous PDU
  std::optional<bool> crc_checked;  // capture device's own CRC verdict
};

BleResult verdict(BleResult::Verdict v, DropReason reason) {
  BleResult r;
  r.verdict = v;
  r.reason = reason;
  return r;
}
BleResult malformed(DropReason reason) { return verdict(BleResult::Verdict::malformed, reason); }
BleResult ignored(DropReason reason) { return verdict(BleResult::Verdict::ignored, reason); }

// Device addresses travel least significant octet first; people read them the other way round.
MacAddress device_address(Bytes six) {
  MacAddress m;
  for (std::size_t i = 0; i < kAddressLength; ++i) m.octets[i] = six[kAddressLength - 1 - i];
  return m;
}

std::optional<IBeacon> parse_ibeacon(std::uint16_t company, Bytes after_company) {
  ByteCursor c(after_company);
  if (company != kCompanyApple || c.u8() != 0x02 || c.u8() != 0x15) return std::nullopt;
  IBeacon b;
  const Bytes uuid = c.bytes(b.uuid.size());
  b.major = c.be16();
  b.minor = c.be16();
  b.measured_power = static_cast<std::int8_t>(c.u8());
  if (!c.ok()) return std::nullopt;
  std::copy(uuid.begin(), uuid.end(), b.uuid.begin());
  return b;
}

// Eddystone-URL: scheme prefix byte, then printable characters mixed with expansion codes.
bool expand_eddystone_url(std::uint8_t scheme, Bytes encoded, std::string& url) {
  static constexpr std::array<std::string_view, 4> kSchemes{"http://www.", "https://www.", "http://", "https://"};
  static constexpr std::array<std::string_view, 14> kExpansions{
      ".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/",
      ".com",  ".org",  ".edu",  ".net",  ".info",  ".biz",  ".gov"};
  if (scheme >= kSchemes.size() || encoded.size() > kMaxEddystoneUrlBytes) return false;
  url.assign(kSchemes[scheme]);
  for (const std::uint8_t b : encoded) {
    if (b < kExpansions.size()) {
      url.append(kExpansions[b]);
    } else if (b > 0x20 && b < 0x7F) {
      url.push_back(static_cast<char>(b));
    } else {
      return false;  // reserved code: the URL cannot be shown faithfully
    }
  }
  return true;
}

std::optional<Eddystone> parse_eddystone(Bytes service_data) {
  ByteCursor c(service_data);
  Eddystone e;
  const std::uint8_t frame = c.u8();
  if (!c.ok()) return std::nullopt;
  switch (frame) {
    case 0x00: {
      e.frame = Eddystone::Frame::uid;
      e.tx_power = static_cast<std::int8_t>(c.u8());
      const Bytes ns = c.bytes(e.namespace_id.size());
      const Bytes instance = c.bytes(e.instance_id.size());
      if (!c.ok()) return std::nullopt;
      std::copy(ns.begin(), ns.end(), e.namespace_id.begin());
      std::copy(instance.begin(), instance.end(), e.instance_id.begin());
      return e;
    }
    case 0x10: {
      e.frame = Eddystone::Frame::url;
      e.tx_power = static_cast<std::int8_t>(c.u8());
      const std::uint8_t scheme = c.u8();
      if (!c.ok() || !expand_eddystone_url(scheme, c.rest(), e.url)) return std::nullopt;
      return e;
    }
    case 0x20: {
      e.frame = Eddystone::Frame::tlm;
      if (c.u8() != 0x00) return std::nullopt;  // only the unencrypted version 0 is readable
      e.battery_mv = c.be16();
      const std::uint16_t temperature = c.be16();
      e.adv_count = c.be32();
      e.uptime_ds = c.be32();
      if (!c.ok()) return std::nullopt;
      e.temperature_c = temperature == 0x8000 ? std::numeric_limits<double>::quiet_NaN()
                                              : static_cast<std::int16_t>(temperature) / 256.0;
      return e;
    }
    case 0x30: {
      e.frame = Eddystone::Frame::eid;
      e.tx_power = static_cast<std::int8_t>(c.u8());
      const Bytes eid = c.bytes(e.eid.size());
      if (!c.ok()) return std::nullopt;
      std::copy(eid.begin(), eid.end(), e.eid.begin());
      return e;
    }
    default:
      return std::nullopt;
  }
}

// AD structures: length (type + data), type, data. A zero length ends the significant part.
void parse_advertising_data(Bytes data, BleAdvert& advert) {
  ByteCursor c(data);
  bool lists_eddystone = false;
  Bytes eddystone_service_data;
  while (c.remaining() > 0) {
    const std::uint8_t length = c.u8();
    if (length == 0) break;
    if (!c.has(length)) {
      advert.ad_malformed = true;
      break;
    }
    ByteCursor element(c.bytes(length));
    const std::uint8_t type = element.u8();
    switch (type) {
      case kAdManufacturerData: {
        if (!element.has(2)) break;
        const std::uint16_t company = element.le16();
        if (!advert.company_id) advert.company_id = company;
        if (!advert.ibeacon) advert.ibeacon = parse_ibeacon(company, element.rest());
        break;
      }
      case kAdIncomplete16BitUuids:
      case kAdComplete16BitUuids:
        while (element.has(2)) lists_eddystone |= element.le16() == kEddystoneServiceUuid;
        break;
      case kAdServiceData16BitUuid:
        if (eddystone_service_data.empty() && element.has(2) && element.le16() == kEddystoneServiceUuid) {
          eddystone_service_data = element.rest();
        }
        break;
      default:
        break;
    }
  }
  if (lists_eddystone && !eddystone_service_data.empty()) {
    advert.eddystone = parse_eddystone(eddystone_service_data);
  }
}

struct Outcome {
  BleResult::Verdict verdict = BleResult::Verdict::advert;
  DropReason reason = DropReason::ble_truncated;
};
constexpr Outcome kAdvert{};
constexpr Outcome drop(BleResult::Verdict v, DropReason reason) { return Outcome{v, reason}; }

// Common extended advertising payload: header length and mode, flags, the flagged fields, then AdvData.
Outcome parse_extended(Bytes payload, bool payload_complete, bool tx_add, BleAdvert& advert) {
  // A field missing from a cut capture is truncation; one missing from a whole PDU is a lying header.
  const DropReason short_read = payload_complete ? DropReason::ble_bad_header : DropReason::ble_truncated;
  ByteCursor c(payload);
  const std::uint8_t length_and_mode = c.u8();
  const Bytes header = c.bytes(length_and_mode & 0x3F);
  if (!c.ok()) return drop(BleResult::Verdict::malformed, short_read);
  const Bytes adv_data = c.rest();

  ByteCursor h(header);
  const std::uint8_t flags = header.empty() ? 0 : h.u8();
  bool has_address = false;
  for (const auto& [flag, field_length] : kExtFields) {
    if ((flags & flag) == 0) continue;
    const Bytes field = h.bytes(field_length);
    if (!h.ok()) return drop(BleResult::Verdict::malformed, DropReason::ble_bad_header);
    if (flag == kExtAdvA) {
      advert.addr = device_address(field);
      advert.addr_random = tx_add;
      has_address = true;
    }
  }
  // Without AdvA (e.g. an ADV_EXT_IND that only points to its AUX_ADV_IND) nobody can be counted.
  if (!has_address) return drop(BleResult::Verdict::ignored, DropReason::ble_no_address);
  parse_advertising_data(adv_data, advert);
  return kAdvert;
}

BleResult parse_link_layer(Bytes bytes, const LinkContext& link) {
  ByteCursor c(bytes);
  const std::uint32_t access_address = c.le32();
  if (!c.ok()) return malformed(DropReason::ble_truncated);
  if (access_address != kBleAdvertisingAccessAddress || link.data_channel) {
    return ignored(DropReason::ble_not_advertising);
  }
  if (link.coded_phy) c.skip(1);
  const Bytes pdu = c.rest();
  const std::uint8_t header = c.u8();
  const std::uint8_t length = c.u8();
  if (!c.ok()) return malformed(DropReason::ble_truncated);

  BleResult r;
  r.advert.pdu_type = header & 0x0F;
  const bool tx_add = (header & 0x40) != 0;
  const bool rx_add = (header & 0x80) != 0;
  // The capture may cut the payload or the CRC; read only what is both declared and present.
  const Bytes payload = c.bytes(std::min<std::size_t>(length, c.remaining()));
  const bool payload_complete = payload.size() == length;
  if (c.has(kCrcLength)) {
    const std::uint32_t sent_low = c.le16();
    const std::uint32_t sent_high = c.u8();
    const std::uint32_t sent = sent_low | (sent_high << 16);
    r.advert.crc_ok = ble_crc24(pdu.first(2 + std::size_t{length}), kAdvertisingCrcInit) == sent;
  } else {
    r.advert.crc_ok = link.crc_checked;
  }

  // Where AdvA sits, and which header bit says whether it is random.
  std::size_t min_length = kAddressLength;
  std::size_t adv_a_offset = 0;
  bool adv_a_random = tx_add;
  bool has_ad_structures = false;
  switch (r.advert.pdu_type) {
    case ble_pdu::adv_ind:
    case ble_pdu::adv_nonconn_ind:
    case ble_pdu::adv_scan_ind:
    case ble_pdu::scan_rsp:
      has_ad_structures = true;
      break;
    case ble_pdu::adv_direct_ind:  // AdvA, TargetA
      min_length = 2 * kAddressLength;
      break;
    case ble_pdu::scan_req:  // ScanA, AdvA
      min_length = 2 * kAddressLength;
      adv_a_offset = kAddressLength;
      adv_a_random = rx_add;
      break;
    case ble_pdu::connect_ind:  // InitA, AdvA, 22 octets of LLData
      min_length = 2 * kAddressLength + 22;
      adv_a_offset = kAddressLength;
      adv_a_random = rx_add;
      break;
    case ble_pdu::adv_ext_ind:
    case ble_pdu::aux_connect_rsp: {
      const Outcome outcome = parse_extended(payload, payload_complete, tx_add, r.advert);
      if (outcome.verdict != BleResult::Verdict::advert) return verdict(outcome.verdict, outcome.reason);
      r.verdict = BleResult::Verdict::advert;
      return r;
    }
    default:  // reserved PDU types: noise that happened to match the access address
      return malformed(DropReason::ble_bad_header);
  }
  if (length < min_length) return malformed(DropReason::ble_bad_header);
  if (payload.size() < adv_a_offset + kAddressLength) return malformed(DropReason::ble_truncated);

  r.advert.addr = device_address(payload.subspan(adv_a_offset, kAddressLength));
  r.advert.addr_random = adv_a_random;
  if (has_ad_structures) parse_advertising_data(payload.subspan(kAddressLength), r.advert);
  r.verdict = BleResult::Verdict::advert;
  return r;
}

}  // namespace

std::uint32_t ble_crc24(std::span<const std::uint8_t> pdu, std::uint32_t crc_init) {
  // Bit-reversed LFSR: the register holds the spec's shift register mirrored, so bytes feed LSB first.
  constexpr std::uint32_t kReflectedPolynomial = 0xDA6000;
  std::uint32_t state = 0;
  for (int i = 0; i < 24; ++i) state |= ((crc_init >> i) & 1U) << (23 - i);
  for (std::uint8_t byte : pdu) {
    for (int bit = 0; bit < 8; ++bit) {
      const bool feedback = ((state ^ byte) & 1U) != 0;
      byte = static_cast<std::uint8_t>(byte >> 1);
      state >>= 1;
      if (feedback) state ^= kReflectedPolynomial;
    }
  }
  return state;
}

BleResult parse_ble_ll_phdr(std::span<const std::uint8_t> bytes) {
  ByteCursor c(bytes);
  const std::uint8_t rf_channel = c.u8();
  const auto signal_dbm = static_cast<std::int8_t>(c.u8());
  c.skip(1 + 1 + 4);  // noise power, access address offenses, reference access address
  const std::uint16_t flags = c.le16();
  if (!c.ok()) return malformed(DropReason::ble_truncated);

  LinkContext link;
  link.coded_phy = ((flags & kPhdrPhyMask) >> 14) == kPhdrPhyCoded;
  const unsigned pdu_kind = (flags & kPhdrPduTypeMask) >> 7;
  link.data_channel = pdu_kind != kPhdrPduAdvertisingOrData && pdu_kind != kPhdrPduAuxAdvertising &&
                      pdu_kind != kPhdrPduReserved;
  if ((flags & kPhdrCrcChecked) != 0) link.crc_checked = (flags & kPhdrCrcValid) != 0;

  BleResult r = parse_link_layer(bytes.subspan(kPhdrLength), link);
  if (rf_channel <= 39) r.advert.channel = rf_channel;
  if ((flags & kPhdrSignalValid) != 0) r.advert.rssi_dbm = signal_dbm;
  return r;
}

BleResult parse_ble_ll(std::span<const std::uint8_t> bytes) { return parse_link_layer(bytes, LinkContext{}); }

}  // namespace footfall::probe::parse
