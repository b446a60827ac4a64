// libFuzzer entry for the three config loaders: one selector byte picks probe.json, gateway.json or
// aggregator.json (modulo 3), the rest is the file's text. Any text must give a config or one error line that
// names the file, never a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "aggregator/config/aggregator_config.h"
#include "gateway/config/gateway_config.h"
#include "probe/config/probe_config.h"

namespace {

void require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

template <typename Config>
void check(const std::variant<Config, std::string>& r, std::string_view label) {
  if (const auto* error = std::get_if<std::string>(&r))
    require(error->starts_with(label) && error->size() > label.size(), "an error that does not name the file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      const auto r = footfall::probe::config::parse_probe_config(text, "probe.json");
      require(r.config.has_value() != !r.error.empty(), "a probe config and an error, or neither");
      if (!r.config) require(r.error.starts_with("probe.json"), "an error that does not name the file");
      break;
    }
    case 1: check(footfall::gateway::parse_config(text, "gateway.json"), "gateway.json"); break;
    default: check(footfall::aggregator::parse_config(text, "aggregator.json"), "aggregator.json"); break;
  }
  return 0;
}
