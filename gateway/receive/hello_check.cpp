#include "gateway/receive/hello_check.h"

#include <algorithm>

namespace footfall::gateway {

namespace {

// Compares every byte whatever the first difference, so timing does not reveal a token prefix.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
  return diff == 0;
}

}  // namespace

HelloVerdict check_hello(const std::vector<ProbeAccount>& probes, const wire::Hello& hello,
                         const std::optional<std::string>& certificate_name) {
  const auto it = std::find_if(probes.begin(), probes.end(), [&](const ProbeAccount& p) { return p.id == hello.probe_id; });
  if (it == probes.end()) return {wire::RefuseReason::unknown_probe, nullptr};
  if (!same_secret(hello.token, it->token)) return {wire::RefuseReason::bad_token, nullptr};
  // A certificate copied from another probe (or the probe's token in another box) must not pass as this probe.
  if (certificate_name && *certificate_name != hello.probe_id) return {wire::RefuseReason::certificate_mismatch, nullptr};
  return {wire::RefuseReason::none, &*it};
}

}  // namespace footfall::gateway
