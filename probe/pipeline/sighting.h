#pragma once
// A parsed packet as the sighting presence tracking and batches see.
#include <cstdint>
#include <optional>

#include "common/records.h"
#include "probe/parse/packet.h"

namespace footfall::probe::pipeline {

// nullopt for dropped packets. The signal is clamped into int8 (radio headers can carry odd values).
std::optional<Sighting> to_sighting(const parse::ParsedPacket& packet, std::int64_t ts_ns);

}  // namespace footfall::probe::pipeline
