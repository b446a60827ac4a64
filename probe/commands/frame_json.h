#pragma once
// One sighting as one line of JSON (the `footfall-probe frames` contract), written by hand into a
// caller's buffer: no allocation, no streams, so output keeps up with millions of frames a second.
#include <cstddef>
#include <cstdint>
#include <span>

#include "probe/parse/packet.h"

namespace footfall::probe::commands {

// No line is longer than this (SSIDs and Eddystone URLs are capped well below it).
inline constexpr std::size_t kMaxFrameJsonLine = 4096;

// Writes one JSON object and a '\n' for an 802.11 frame or BLE advert (`packet.what` != dropped).
// `out` must hold at least kMaxFrameJsonLine bytes. Returns the number of bytes written
// (0 for a dropped packet or a buffer too small).
std::size_t write_frame_json(std::span<char> out, std::uint64_t frame_number, std::int64_t ts_ns,
                             const parse::ParsedPacket& packet);

}  // namespace footfall::probe::commands
