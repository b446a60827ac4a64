#pragma once
// What the presence tests share: a tracker config without updates, and the counter invariants every run keeps.
#include <doctest/doctest.h>

#include "probe/presence/presence_tracker.h"

namespace footfall::probe::presence::testing {

inline PresenceConfig no_updates() {
  PresenceConfig c;
  c.update_interval_ns = 0;
  return c;
}

inline void check_balanced(const PresenceTracker& t) {
  const auto& c = t.counters();
  CHECK(c.sightings_in == c.ignored_kind + c.late + c.below_floor + c.heard);
  CHECK(c.arrivals == c.departures + c.devices);
  CHECK(c.devices == t.size());
  CHECK(c.heard == c.current_address + c.link.known_addresses + c.link.new_addresses);
  CHECK(c.arrivals == c.link.new_addresses - c.link.linked_sequence - c.link.linked_signal + c.link.overlap_splits);
}

}  // namespace footfall::probe::presence::testing
