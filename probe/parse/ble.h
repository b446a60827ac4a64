#pragma once
// Bluetooth LE advertising-channel PDUs, and the beacon formats found in them (iBeacon, Eddystone).
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/mac_address.h"
#include "probe/parse/drop_reason.h"

namespace footfall::probe::parse {

// Every advertising-channel packet carries this access address; any other one is a connection.
inline constexpr std::uint32_t kBleAdvertisingAccessAddress = 0x8E89BED6;

// Advertising-channel PDU types (Core spec Vol 6 Part B 2.3); 3 and 5 also stand for AUX_SCAN_REQ and
// AUX_CONNECT_REQ on secondary channels, 7 for every extended advertising PDU (ADV_EXT_IND, AUX_ADV_IND, ...).
namespace ble_pdu {
inline constexpr std::uint8_t adv_ind = 0;
inline constexpr std::uint8_t adv_direct_ind = 1;
inline constexpr std::uint8_t adv_nonconn_ind = 2;
inline constexpr std::uint8_t scan_req = 3;
inline constexpr std::uint8_t scan_rsp = 4;
inline constexpr std::uint8_t connect_ind = 5;
inline constexpr std::uint8_t adv_scan_ind = 6;
inline constexpr std::uint8_t adv_ext_ind = 7;
inline constexpr std::uint8_t aux_connect_rsp = 8;
}  // namespace ble_pdu

struct IBeacon {
  std::array<std::uint8_t, 16> uuid{};
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  std::int8_t measured_power = 0;  // dBm at 1 m
};

struct Eddystone {
  enum class Frame : std::uint8_t { uid = 0x00, url = 0x10, tlm = 0x20, eid = 0x30 } frame = Frame::uid;
  std::int8_t tx_power = 0;                 // UID, URL, EID: dBm at 0 m
  std::array<std::uint8_t, 10> namespace_id{};  // UID
  std::array<std::uint8_t, 6> instance_id{};    // UID
  std::string url;                          // URL, expanded
  // TLM (unencrypted, version 0 only)
  std::uint16_t battery_mv = 0;  // 0 when the beacon does not measure it
  double temperature_c = 0;      // NaN when the beacon reports 0x8000 (not supported)
  std::uint32_t adv_count = 0;
  std::uint32_t uptime_ds = 0;  // tenths of a second since power-on
  std::array<std::uint8_t, 8> eid{};  // EID: the rotating ephemeral identifier
};

struct BleAdvert {
  std::uint8_t pdu_type = 0;  // see ble_pdu: ADV_IND 0, ADV_DIRECT_IND 1, ADV_NONCONN_IND 2, SCAN_REQ 3, SCAN_RSP 4,
                              // CONNECT_IND 5, ADV_SCAN_IND 6, extended 7, AUX_CONNECT_RSP 8
  MacAddress addr;            // always the advertiser (AdvA), also for SCAN_REQ / CONNECT_IND where ScanA / InitA
                              // come first; shown most significant octet first, as Wireshark does
  bool addr_random = false;   // AdvA is a random address: TxAdd, or RxAdd for SCAN_REQ / CONNECT_IND
  std::optional<int> rssi_dbm;
  std::optional<unsigned> channel;  // RF channel 0..39 (0 = 2402 MHz) when the pseudo-header gives it
  std::optional<std::uint16_t> company_id;  // first manufacturer-specific data element
  std::optional<IBeacon> ibeacon;
  std::optional<Eddystone> eddystone;
  // CRC-24 over header and payload; unset when the capture cut the CRC and no pseudo-header checked it.
  // Adverts with a bad CRC are still returned (as Wireshark shows them); callers decide whether to trust them.
  std::optional<bool> crc_ok;
  bool ad_malformed = false;  // an AD structure ran past the payload: the ones before it were kept
};

struct BleResult {
  enum class Verdict : std::uint8_t { advert, ignored, malformed } verdict = Verdict::malformed;
  DropReason reason = DropReason::ble_truncated;
  BleAdvert advert;
};

// Verdicts: an advert for every advertising-channel PDU whose AdvA could be read, also when its CRC fails or an
// AD structure is broken (see crc_ok, ad_malformed); ignored ble_not_advertising for other access addresses and
// for extended PDUs without AdvA (an ADV_EXT_IND whose advertiser is only named in the auxiliary packet);
// malformed ble_bad_header for reserved PDU types and lengths too short for the PDU type; ble_truncated when the
// capture ends before AdvA.

// LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR (256): 10-byte pseudo-header then the link-layer packet.
BleResult parse_ble_ll_phdr(std::span<const std::uint8_t> bytes);
// LINKTYPE_BLUETOOTH_LE_LL (251) and PPI/DLT 147 payloads: access address then the PDU, no radio data.
BleResult parse_ble_ll(std::span<const std::uint8_t> bytes);

// Bluetooth LE CRC-24 (polynomial 0x00065B, bits sent least significant first) over `pdu`, from `crc_init`
// (0x555555 on advertising channels); the result compares with the 3 CRC octets read little-endian.
std::uint32_t ble_crc24(std::span<const std::uint8_t> pdu, std::uint32_t crc_init);

}  // namespace footfall::probe::parse
