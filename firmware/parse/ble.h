#pragma once
// Bluetooth LE advertising-channel PDUs, and the beacon formats found in them (iBeacon, Eddystone).
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/mac_address.h"
#include "firmware/parse/drop_reason.h"

namespace footfall::parse {

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
  // TLM (unencrypted)
  std::uint16_t battery_mv = 0;
  double temperature_c = 0;
  std::uint32_t adv_count = 0;
  std::uint32_t uptime_ds = 0;  // tenths of a second since power-on
};

struct BleAdvert {
  std::uint8_t pdu_type = 0;  // ADV_IND 0, ADV_DIRECT_IND 1, ADV_NONCONN_IND 2, SCAN_REQ 3, SCAN_RSP 4, CONNECT_IND 5, ADV_SCAN_IND 6
  MacAddress addr;            // advertiser (AdvA); for SCAN_REQ / CONNECT_IND the initiator/scanner
  bool addr_random = false;   // TxAdd
  std::optional<int> rssi_dbm;
  std::optional<unsigned> channel;  // RF channel 0..39 when the pseudo-header gives it
  std::optional<std::uint16_t> company_id;  // first manufacturer-specific data element
  std::optional<IBeacon> ibeacon;
  std::optional<Eddystone> eddystone;
};

struct BleResult {
  enum class Verdict : std::uint8_t { advert, ignored, malformed } verdict = Verdict::malformed;
  DropReason reason = DropReason::ble_truncated;
  BleAdvert advert;
};

// LINKTYPE_BLUETOOTH_LE_LL_WITH_PHDR (256): 10-byte pseudo-header then the link-layer packet.
BleResult parse_ble_ll_phdr(std::span<const std::uint8_t> bytes);
// LINKTYPE_BLUETOOTH_LE_LL (251) and PPI/DLT 147 payloads: access address then the PDU, no radio data.
BleResult parse_ble_ll(std::span<const std::uint8_t> bytes);

}  // namespace footfall::parse
