#pragma once
// One presence event as one line of JSON (the `footfall-probe presence` output), written into a caller's buffer.
#include <cstddef>
#include <span>

#include "common/records.h"
#include "probe/presence/presence_tracker.h"

namespace footfall::probe::pipeline {

inline constexpr std::size_t kMaxPresenceJsonLine = 512;

// Fields: kind, ts_ns, device (16 hex digits), mac, randomized, fingerprint (16 hex digits), rssi_min, rssi_max, rssi_mean,
// strongest_freq_mhz, frames, first_seen_ns, last_seen_ns, previous_mac (only when the device has one),
// addresses; departures add dwell_s and cause.
// Returns the bytes written, '\n' included (0 when `out` is below kMaxPresenceJsonLine).
std::size_t write_presence_json(std::span<char> out, const PresenceEvent& event, presence::DepartureCause cause);

}  // namespace footfall::probe::pipeline
