#include "probe/pipeline/presence_json.h"

#include <cinttypes>
#include <cstdio>

namespace footfall::probe::pipeline {

namespace {
const char* kind_name(PresenceKind k) {
  switch (k) {
    case PresenceKind::arrival: return "arrival";
    case PresenceKind::update: return "update";
    case PresenceKind::departure: return "departure";
  }
  return "?";
}
}  // namespace

std::size_t write_presence_json(std::span<char> out, const PresenceEvent& e, presence::DepartureCause cause) {
  if (out.size() < kMaxPresenceJsonLine) return 0;
  char mac[18];
  *e.mac.write(mac) = '\0';
  int n = std::snprintf(out.data(), out.size(),
                        "{\"kind\":\"%s\",\"ts_ns\":%" PRId64 ",\"device\":\"%016" PRIx64 "\",\"mac\":\"%s\",\"randomized\":%s,\"fingerprint\":\"%016" PRIx64
                        "\",\"rssi_min\":%d,\"rssi_max\":%d,\"rssi_mean\":%d,\"strongest_freq_mhz\":%u,\"frames\":%" PRIu32
                        ",\"first_seen_ns\":%" PRId64 ",\"last_seen_ns\":%" PRId64,
                        kind_name(e.kind), e.ts_ns, e.device, mac, e.randomized ? "true" : "false", e.fingerprint, e.rssi_min,
                        e.rssi_max, e.rssi_mean, static_cast<unsigned>(e.strongest_freq_mhz), e.frames, e.first_seen_ns,
                        e.last_seen_ns);
  if (n < 0) return 0;
  auto used = static_cast<std::size_t>(n);
  if (e.previous_mac != MacAddress{}) {
    *e.previous_mac.write(mac) = '\0';
    n = std::snprintf(out.data() + used, out.size() - used, ",\"previous_mac\":\"%s\"", mac);
    if (n < 0) return 0;
    used += static_cast<std::size_t>(n);
  }
  n = std::snprintf(out.data() + used, out.size() - used, ",\"addresses\":%u", static_cast<unsigned>(e.addresses));
  if (n < 0) return 0;
  used += static_cast<std::size_t>(n);
  if (e.kind == PresenceKind::departure) {
    n = std::snprintf(out.data() + used, out.size() - used, ",\"dwell_s\":%" PRIu32 ",\"cause\":\"%s\"", e.dwell_s,
                      presence::to_string(cause));
    if (n < 0) return 0;
    used += static_cast<std::size_t>(n);
  }
  n = std::snprintf(out.data() + used, out.size() - used, "}\n");
  if (n < 0) return 0;
  return used + static_cast<std::size_t>(n);
}

}  // namespace footfall::probe::pipeline
