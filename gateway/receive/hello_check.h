#pragma once
// Is this Hello from a probe of this site, with its token? A pure check: no I/O, no logging.
#include <vector>

#include "common/wire/messages.h"
#include "gateway/config/gateway_config.h"

namespace footfall::gateway {

struct HelloVerdict {
  wire::RefuseReason refusal = wire::RefuseReason::none;  // none: accepted
  const ProbeAccount* account = nullptr;                  // set when accepted
  [[nodiscard]] bool accepted() const { return refusal == wire::RefuseReason::none; }
};

HelloVerdict check_hello(const std::vector<ProbeAccount>& probes, const wire::Hello& hello);

}  // namespace footfall::gateway
