#include "gateway/health/probe_health.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace footfall::gateway {

ProbeHealth& ProbeHealthBook::probe(const std::string& id) {
  auto it = probes_.find(id);
  if (it == probes_.end()) it = probes_.emplace(id, ProbeHealth(ClockOffset(clock_window_, clock_tolerance_ns_))).first;
  return it->second;
}

nlohmann::json ProbeHealthBook::to_json(const ProbeHealth& h) {
  nlohmann::json clock = {{"replay", h.replay}, {"samples", h.clock.samples()},
                          {"tolerance_ns", h.clock.tolerance_ns()}};
  const auto offset = h.clock.offset_ns();
  clock["offset_ns"] = offset ? nlohmann::json(*offset) : nlohmann::json(nullptr);
  clock["correction_ns"] = h.replay ? 0 : h.clock.correction_ns();
  nlohmann::json doc = {
      {"zone", h.zone},
      {"connected", h.connected},
      {"peer", h.peer},
      {"software_version", h.software_version},
      {"sessions", h.sessions},
      {"connected_since_ns", h.connected_since_ns},
      {"last_frame_ns", h.last_frame_ns},
      {"clock", std::move(clock)},
      {"batches_stored", h.batches_stored},
      {"batches_duplicate", h.batches_duplicate},
      {"events_stored", h.events_stored},
      {"sightings_stored", h.sightings_stored},
      {"last_batch_seq", h.last_batch_seq},
      {"acked_through", h.acked_through},
  };
  if (h.has_heartbeat) {
    const wire::Heartbeat& hb = h.heartbeat;
    doc["heartbeat"] = {
        {"received_ns", h.last_heartbeat_ns},
        {"capture_received", hb.capture_received},
        {"capture_dropped", hb.capture_dropped},
        {"capture_if_dropped", hb.capture_if_dropped},
        {"parse_drops", hb.parse_drops},
        {"cpu_permille", hb.cpu_permille},
        {"rss_bytes", hb.rss_bytes},
        {"spool_records", hb.spool_records},
        {"spool_bytes", hb.spool_bytes},
        {"spool_full_drop_records", hb.spool_full_drop_records},
        {"spool_full_drop_bytes", hb.spool_full_drop_bytes},
        {"probe_clock_ns", hb.probe_clock_ns},
        {"uptime_ns", hb.uptime_ns},
    };
  } else {
    doc["heartbeat"] = nullptr;
  }
  return doc;
}

std::string ProbeHealthBook::summary_line(std::string_view id, const ProbeHealth& h) {
  char offset[64] = "offset=unknown";
  if (h.replay) {
    std::snprintf(offset, sizeof offset, "offset=replay");
  } else if (const auto o = h.clock.offset_ns()) {
    std::snprintf(offset, sizeof offset, "offset=%+.3fs%s", static_cast<double>(*o) / 1e9,
                  h.clock.correction_ns() != 0 ? " (corrected)" : "");
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "probe %.*s %s %s %s batches=%llu dup=%llu events=%llu acked_through=%llu spool=%llu "
                "capture_drops=%llu parse_drops=%llu",
                static_cast<int>(id.size()), id.data(), h.connected ? "up" : "down", h.peer.empty() ? "-" : h.peer.c_str(),
                offset, static_cast<unsigned long long>(h.batches_stored),
                static_cast<unsigned long long>(h.batches_duplicate), static_cast<unsigned long long>(h.events_stored),
                static_cast<unsigned long long>(h.acked_through),
                static_cast<unsigned long long>(h.has_heartbeat ? h.heartbeat.spool_records : 0),
                static_cast<unsigned long long>(h.has_heartbeat ? h.heartbeat.capture_dropped + h.heartbeat.capture_if_dropped : 0),
                static_cast<unsigned long long>(h.has_heartbeat ? h.heartbeat.parse_drops : 0));
  return line;
}

}  // namespace footfall::gateway
