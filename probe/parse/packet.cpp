#include "probe/parse/packet.h"

namespace footfall::probe::parse {
namespace {

// `fcs_known`: the link type says whether an FCS is attached (radiotap, PPI). Plain 802.11, prism and AVS
// say nothing, so a trailing CRC that checks is taken as the FCS: otherwise it would be read as an element
// and change the device's fingerprint (a false match has odds of 1 in 2^32).
void take_dot11(ParsedPacket& out, std::span<const std::uint8_t> frame, bool cut_by_snaplen, bool fcs_known) {
  const bool fcs_at_end = fcs_known ? out.radio.fcs_at_end : dot11_fcs_valid(frame);
  out.radio.fcs_at_end = fcs_at_end;
  const std::optional<DropReason> reason = parse_dot11_into(frame, fcs_at_end, out.dot11);
  if (!reason) {
    out.what = ParsedPacket::What::dot11;
  } else if (!is_malformed(*reason)) {
    out.reason = *reason;
  } else {
    // A frame the capture cut short is the capture's doing, not the sender's: keep the two apart.
    out.reason = cut_by_snaplen ? DropReason::snaplen_truncated : *reason;
  }
}

// An 802.11 frame behind a radio header, whose values are already in out.radio.
void take_radio_dot11(ParsedPacket& out, std::span<const std::uint8_t> frame, bool cut_by_snaplen, bool fcs_known) {
  if (out.radio.bad_fcs) {
    // The receiver says the frame is corrupt: its addresses cannot be trusted, and counting them would
    // invent devices.
    out.reason = DropReason::bad_fcs;
    return;
  }
  take_dot11(out, frame, cut_by_snaplen, fcs_known);
}

void take_ble(ParsedPacket& out, const BleResult& r, bool cut_by_snaplen) {
  switch (r.verdict) {
    case BleResult::Verdict::advert:
      out.what = ParsedPacket::What::ble;
      out.ble = r.advert;
      // PPI-wrapped BLE has no pseudo-header of its own: the radio values come from PPI.
      if (!out.ble.rssi_dbm) out.ble.rssi_dbm = out.radio.rssi_dbm;
      return;
    case BleResult::Verdict::ignored:
      out.reason = r.reason;
      return;
    case BleResult::Verdict::malformed:
      out.reason = cut_by_snaplen ? DropReason::snaplen_truncated : r.reason;
      return;
  }
}

}  // namespace

bool supported_link_type(int link_type) {
  switch (static_cast<LinkType>(link_type)) {
    case LinkType::ieee802_11:
    case LinkType::prism:
    case LinkType::radiotap:
    case LinkType::ppi:
    case LinkType::avs:
    case LinkType::ble_ll:
    case LinkType::ble_ll_phdr:
      return true;
    default:
      return false;
  }
}

ParsedPacket parse_packet(int link_type, std::span<const std::uint8_t> packet, std::uint32_t wire_length,
                          bool want_ble) {
  ParsedPacket out;
  parse_packet_into(out, link_type, packet, wire_length, want_ble);
  return out;
}

void parse_packet_into(ParsedPacket& out, int link_type, std::span<const std::uint8_t> packet,
                       std::uint32_t wire_length, bool want_ble) {
  out.what = ParsedPacket::What::dropped;
  out.reason = DropReason::not_management;
  out.radio = RadioInfo{};
  const bool cut_by_snaplen = wire_length > packet.size();

  if (static_cast<LinkType>(link_type) == LinkType::radiotap) {
    // What monitor interfaces give: read straight into `out`, with no header result in between.
    std::span<const std::uint8_t> frame;
    if (const auto reason = parse_radiotap_into(packet, out.radio, frame)) {
      out.radio = RadioInfo{};
      out.reason = cut_by_snaplen ? DropReason::snaplen_truncated : *reason;
      return;
    }
    take_radio_dot11(out, frame, cut_by_snaplen, true);
    return;
  }

  RadioHeaderResult header;
  switch (static_cast<LinkType>(link_type)) {
    case LinkType::ieee802_11:
      take_dot11(out, packet, cut_by_snaplen, false);
      return;
    case LinkType::ble_ll_phdr:
    case LinkType::ble_ll:
      if (!want_ble) {
        out.reason = DropReason::ble_not_wanted;
        return;
      }
      take_ble(out,
               static_cast<LinkType>(link_type) == LinkType::ble_ll_phdr ? parse_ble_ll_phdr(packet)
                                                                          : parse_ble_ll(packet),
               cut_by_snaplen);
      return;
    case LinkType::ppi: header = parse_ppi(packet); break;
    case LinkType::prism: header = parse_prism(packet); break;
    case LinkType::avs: header = parse_avs(packet); break;
    default:
      // The capture layer refuses unsupported link types before any packet is read.
      out.reason = DropReason::not_management;
      return;
  }

  if (!header.ok) {
    out.reason = cut_by_snaplen ? DropReason::snaplen_truncated : header.reason;
    return;
  }
  out.radio = header.radio;

  if (header.inner_link_type == static_cast<int>(LinkType::user0_ble)) {
    if (!want_ble) {
      out.reason = DropReason::ble_not_wanted;
      return;
    }
    take_ble(out, parse_ble_ll(header.payload), cut_by_snaplen);
    return;
  }
  take_radio_dot11(out, header.payload, cut_by_snaplen, static_cast<LinkType>(link_type) == LinkType::ppi);
}

}  // namespace footfall::probe::parse
