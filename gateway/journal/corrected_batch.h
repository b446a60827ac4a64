#pragma once
// A journal record as the next stage wants it: the batch decoded, its probe times moved onto the
// gateway's clock when the probe's clock was off (correction_ns), capture times left as they are.
#include <optional>

#include "common/wire/codec.h"
#include "gateway/journal/journal.h"

namespace footfall::gateway {

// Decodes entry.frame with `decoder` (reset first) into `out` and applies the record's correction.
// The reason when the frame does not decode (it did when it was accepted: only rot or a version change).
std::optional<wire::BadReason> corrected_batch(const JournalEntry& entry, wire::Decoder& decoder, wire::Batch& out);

}  // namespace footfall::gateway
