#include "probe/pipeline/sighting.h"

#include <algorithm>

namespace footfall::probe::pipeline {

namespace {

SightingKind kind_of(parse::MgmtKind k) {
  switch (k) {
    case parse::MgmtKind::probe_req: return SightingKind::probe_req;
    case parse::MgmtKind::probe_resp: return SightingKind::probe_resp;
    case parse::MgmtKind::beacon: return SightingKind::beacon;
  }
  return SightingKind::beacon;
}

void set_radio(Sighting& s, std::optional<int> rssi, std::optional<unsigned> freq) {
  if (rssi) {
    s.has_rssi = true;
    s.rssi_dbm = static_cast<std::int8_t>(std::clamp(*rssi, -128, 127));
  }
  if (freq && *freq <= 0xffff) s.freq_mhz = static_cast<std::uint16_t>(*freq);
}

}  // namespace

std::optional<Sighting> to_sighting(const parse::ParsedPacket& packet, std::int64_t ts_ns) {
  Sighting s;
  s.ts_ns = ts_ns;
  switch (packet.what) {
    case parse::ParsedPacket::What::dropped: return std::nullopt;
    case parse::ParsedPacket::What::dot11:
      s.kind = kind_of(packet.dot11.kind);
      s.mac = packet.dot11.sa;
      s.seq = packet.dot11.seq;
      s.fingerprint = packet.dot11.ie_fingerprint;
      set_radio(s, packet.radio.rssi_dbm, packet.radio.freq_mhz);
      return s;
    case parse::ParsedPacket::What::ble: {
      s.kind = SightingKind::ble_adv;
      s.mac = packet.ble.addr;
      // BLE channel 0..39 maps to 2402 + 2 * channel MHz.
      std::optional<unsigned> freq;
      if (packet.ble.channel) freq = 2402 + 2 * *packet.ble.channel;
      set_radio(s, packet.ble.rssi_dbm ? packet.ble.rssi_dbm : packet.radio.rssi_dbm, freq);
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace footfall::probe::pipeline
