#pragma once
// The records a probe sends to its gateway: raw sightings (optional) and presence events.
// Shared by both ends; the wire protocol (common/wire/) encodes batches of them.
#include <cstdint>

#include "common/mac_address.h"

namespace footfall {

enum class SightingKind : std::uint8_t { probe_req = 0, probe_resp = 1, beacon = 2, ble_adv = 3 };

// One frame heard from one device by one probe.
struct Sighting {
  std::int64_t ts_ns = 0;          // probe clock, ns since the Unix epoch
  MacAddress mac;                  // transmitter
  SightingKind kind = SightingKind::probe_req;
  std::int8_t rssi_dbm = 0;        // valid when has_rssi
  bool has_rssi = false;
  std::uint16_t freq_mhz = 0;      // 0 when unknown
  std::uint16_t seq = 0;           // 802.11 sequence number; 0 for BLE
  std::uint64_t fingerprint = 0;   // information-element fingerprint of a probe request, else 0

  bool operator==(const Sighting&) const = default;
};

enum class PresenceKind : std::uint8_t { arrival = 0, update = 1, departure = 2 };

// Why a presence ended; none for arrivals and updates.
enum class DepartureCause : std::uint8_t { none = 0, silence = 1, evicted = 2, shutdown = 3 };

constexpr const char* to_string(DepartureCause c) {
  switch (c) {
    case DepartureCause::none: return "none";
    case DepartureCause::silence: return "silence";
    case DepartureCause::evicted: return "evicted";
    case DepartureCause::shutdown: return "shutdown";
  }
  return "?";
}

// A device's presence as one probe sees it: it arrived, is still here, or has left.
// Cumulative statistics cover every frame since arrival; the interval ones only the frames since this
// presence's previous event, so a receiver needs no earlier event to know what the last interval heard.
struct PresenceEvent {
  PresenceKind kind = PresenceKind::arrival;
  DepartureCause cause = DepartureCause::none;  // departures: why it ended; none otherwise
  std::int64_t ts_ns = 0;          // when the event happened on the probe clock (departure: last heard)
  MacAddress mac;
  bool randomized = false;         // locally administered address
  bool ble = false;                // heard over Bluetooth LE: a separate address space from WiFi
  std::uint64_t fingerprint = 0;
  std::int64_t first_seen_ns = 0;
  std::int64_t last_seen_ns = 0;
  std::uint32_t frames = 0;        // frames heard since arrival
  std::int8_t rssi_min = 0;
  std::int8_t rssi_max = 0;
  std::int8_t rssi_mean = 0;       // rounded mean of the dBm values
  std::int8_t interval_rssi_mean = 0;    // rounded mean dBm of the interval's frames; 0 if none carried a signal
  std::uint16_t strongest_freq_mhz = 0;  // channel on which it was heard loudest
  std::uint32_t dwell_s = 0;       // departure only: last_seen - first_seen, whole seconds
  std::uint32_t interval_frames = 0;     // frames heard since the previous event (arrival: its own frames)
  // Device linking (wire version 3): one device may use many random addresses.
  std::uint64_t device = 0;        // run-unique device number: the same for every address linked to it
  MacAddress previous_mac;         // the address the device used before `mac`; all zero when none
  std::uint16_t addresses = 0;     // addresses this device has used so far (1: none linked)

  bool operator==(const PresenceEvent&) const = default;
};

}  // namespace footfall
