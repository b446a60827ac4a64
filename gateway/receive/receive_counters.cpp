#include "gateway/receive/receive_counters.h"

#include <nlohmann/json.hpp>

namespace footfall::gateway {

std::string_view to_string(CloseReason r) {
  constexpr std::array<std::string_view, kCloseReasonCount> names{
#define FOOTFALL_X(name) #name,
      FOOTFALL_SESSION_CLOSE_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
  };
  const auto i = static_cast<std::size_t>(r);
  return i < names.size() ? names[i] : std::string_view{"unknown"};
}

nlohmann::json ReceiveCounters::to_json() const {
  nlohmann::json refused = nlohmann::json::object();
  for (std::size_t i = 1; i < hello_refused.size(); ++i)
    if (get(hello_refused[i]) != 0)
      refused[std::string(wire::to_string(static_cast<wire::RefuseReason>(i)))] = get(hello_refused[i]);
  nlohmann::json bad = nlohmann::json::object();
  for (std::size_t i = 0; i < bad_frames.size(); ++i)
    if (get(bad_frames[i]) != 0) bad[std::string(wire::to_string(static_cast<wire::BadReason>(i)))] = get(bad_frames[i]);
  nlohmann::json closes_by = nlohmann::json::object();
  for (std::size_t i = 0; i < closed.size(); ++i)
    if (get(closed[i]) != 0) closes_by[std::string(to_string(static_cast<CloseReason>(i)))] = get(closed[i]);
  return {
      {"connections_accepted", get(connections_accepted)},
      {"connections_refused_max", get(connections_refused_max)},
      {"connections_open", get(connections_open)},
      {"sessions_established", get(sessions_established)},
      {"hello_refused", std::move(refused)},
      {"bad_frames", std::move(bad)},
      {"sessions_closed", std::move(closes_by)},
      {"batches_received", get(batches_received)},
      {"batches_stored", get(batches_stored)},
      {"batches_duplicate", get(batches_duplicate)},
      {"batches_waiting_full", get(batches_waiting_full)},
      {"events_stored", get(events_stored)},
      {"sightings_stored", get(sightings_stored)},
      {"heartbeats", get(heartbeats)},
      {"acks_sent", get(acks_sent)},
      {"commits", get(commits)},
  };
}

nlohmann::json ReloadCounters::to_json() const {
  return {
      {"reloads_ok", ok},
      {"reloads_failed", failed},
      {"last_reload_ns", last_ns},
      {"last_error", last_error},
      {"needs_restart", needs_restart},
  };
}

}  // namespace footfall::gateway
