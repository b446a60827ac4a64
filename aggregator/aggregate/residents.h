#pragma once
// Residents: devices present most of a local day (staff, the site's own computers and printers). A device
// (key_epoch, device) is a resident on local day D when the union of its visits' spans [arrival, departure],
// of any signal, covers at least resident_min_hours of D; each visit of it overlapping such a day is a
// resident visit, kept out of every visitor figure and counted apart (docs/metrics.md, "Residents").

#include <cstdint>
#include <vector>

#include "aggregator/aggregate/local_time.h"
#include "aggregator/aggregate/visit_table.h"

namespace footfall::aggregator {

// rows: sorted by arrival, devices numbered 0..devices-1. One flag per row, 1 for a resident visit.
// min_ms <= 0: the rule is off (no row is a resident visit).
std::vector<std::uint8_t> resident_visits(const std::vector<VisitRow>& rows, std::int32_t devices,
                                          const LocalClock& clock, TimeMs min_ms);

// resident_min_hours in milliseconds.
TimeMs resident_min_ms(const SiteThresholds& thr);

}  // namespace footfall::aggregator
