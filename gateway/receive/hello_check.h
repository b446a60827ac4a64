#pragma once
// Is this Hello from a probe of this site, with its token? A pure check: no I/O, no logging.
#include <optional>
#include <string>
#include <vector>

#include "common/wire/messages.h"
#include "gateway/config/gateway_config.h"

namespace footfall::gateway {

struct HelloVerdict {
  wire::RefuseReason refusal = wire::RefuseReason::none;  // none: accepted
  const ProbeAccount* account = nullptr;                  // set when accepted
  [[nodiscard]] bool accepted() const { return refusal == wire::RefuseReason::none; }
};

// `certificate_name`: the subject CN of the client certificate the TLS handshake verified, when the gateway
// binds certificates to probes (listen.tls.client_cert_names_probe); nullopt when it does not or there is none.
// It is looked at only once id and token match, so a refusal for it tells nothing to who lacks the token.
HelloVerdict check_hello(const std::vector<ProbeAccount>& probes, const wire::Hello& hello,
                         const std::optional<std::string>& certificate_name = std::nullopt);

}  // namespace footfall::gateway
