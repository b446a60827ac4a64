#include "gateway/journal/corrected_batch.h"

namespace footfall::gateway {

std::optional<wire::BadReason> corrected_batch(const JournalEntry& entry, wire::Decoder& decoder, wire::Batch& out) {
  decoder.reset();
  wire::Message message;
  const auto result = decoder.parse(entry.frame, message);
  if (result.status == wire::ParseStatus::bad) return result.reason;
  if (result.status != wire::ParseStatus::good || result.consumed != entry.frame.size() ||
      !std::holds_alternative<wire::Batch>(message))
    return wire::BadReason::truncated_body;
  out = std::move(std::get<wire::Batch>(message));
  const std::int64_t shift = entry.meta.correction_ns;
  if (shift != 0) {
    for (PresenceEvent& e : out.body.events) {
      e.ts_ns += shift;
      e.first_seen_ns += shift;
      e.last_seen_ns += shift;
    }
    for (Sighting& s : out.body.sightings) s.ts_ns += shift;
  }
  return std::nullopt;
}

}  // namespace footfall::gateway
