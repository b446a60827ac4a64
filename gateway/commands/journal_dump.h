#pragma once
// `footfall-gateway journal`: every held event (and sighting) of the journal as one JSON object per
// line, times corrected for the probe's clock offset, for operators and tests.
#include <iosfwd>

#include "gateway/config/gateway_config.h"

namespace footfall::gateway {

// Exit status: 0 when the whole journal was read, 1 when it cannot be opened (e.g. a gateway holds it).
int dump_journal(const GatewayConfig& config, std::ostream& out, std::ostream& err);

}  // namespace footfall::gateway
