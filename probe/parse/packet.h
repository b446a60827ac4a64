#pragma once
// One captured packet, whatever its link type, to at most one sighting: an 802.11 management frame
// or a BLE advert, with what the radio header said. The single entry point of the probe's parsing.
#include <cstdint>
#include <span>

#include "probe/parse/ble.h"
#include "probe/parse/dot11.h"
#include "probe/parse/drop_reason.h"
#include "probe/parse/radio_header.h"

namespace footfall::probe::parse {

struct ParsedPacket {
  enum class What : std::uint8_t { dot11, ble, dropped } what = What::dropped;
  DropReason reason = DropReason::not_management;  // when dropped
  RadioInfo radio;
  MgmtFrame dot11;  // when what == dot11
  BleAdvert ble;    // when what == ble
};

// Is this link type one we can decode?
bool supported_link_type(int link_type);

// `packet` is the captured bytes (caplen), `wire_length` the original length (len).
ParsedPacket parse_packet(int link_type, std::span<const std::uint8_t> packet, std::uint32_t wire_length,
                          bool want_ble);

// The same as parse_packet, into a packet the caller keeps across packets, so that the large result is not
// built and copied for every one. As with parse_packet, `dot11` and `ble` mean something only when `what`
// names them; the other one may still hold an earlier packet's values.
void parse_packet_into(ParsedPacket& out, int link_type, std::span<const std::uint8_t> packet,
                       std::uint32_t wire_length, bool want_ble);

}  // namespace footfall::probe::parse
