#include "gateway/receive/receive_counters.h"

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

ReceiveCounts ReceiveCounters::snapshot() const {
  ReceiveCounts c;
  c.connections_accepted = get(connections_accepted);
  c.connections_refused_max = get(connections_refused_max);
  c.connections_refused_fds = get(connections_refused_fds);
  c.connections_open = get(connections_open);
  c.sessions_established = get(sessions_established);
  c.spools_new = get(spools_new);
  for (std::size_t i = 0; i < hello_refused.size(); ++i) c.hello_refused[i] = get(hello_refused[i]);
  for (std::size_t i = 0; i < bad_frames.size(); ++i) c.bad_frames[i] = get(bad_frames[i]);
  for (std::size_t i = 0; i < closed.size(); ++i) c.closed[i] = get(closed[i]);
  c.batches_received = get(batches_received);
  c.batches_stored = get(batches_stored);
  c.batches_duplicate = get(batches_duplicate);
  c.batches_waiting_full = get(batches_waiting_full);
  c.events_stored = get(events_stored);
  c.sightings_stored = get(sightings_stored);
  c.heartbeats = get(heartbeats);
  c.acks_sent = get(acks_sent);
  c.commits = get(commits);
  return c;
}

}  // namespace footfall::gateway
