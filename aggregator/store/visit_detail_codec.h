#pragma once
// The nested parts of a visit (zones, strongest-zone path, per-probe signals) in one compact blob for the
// store: varints and time deltas from the arrival, strings length-prefixed. Decoding a blob is several
// times faster than parsing the same parts as JSON text (docs/aggregator.md has the figures) and a third
// of the size. Version byte first, so the layout can change with a migration.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

inline constexpr std::uint8_t kVisitDetailVersion = 1;

void encode_visit_detail(const Visit& v, std::vector<std::uint8_t>& out);
// Fills v.zones, v.strongest_zone and v.probes (v.arrival must be set); false on a damaged blob.
bool decode_visit_detail(std::span<const std::uint8_t> blob, Visit& v);

// An occupancy sample as both stores keep it (its zones as a JSON object text); a zones text that does not
// parse gives no zones.
OccupancySample occupancy_sample(std::string_view tenant, std::string_view site, TimeMs at, std::int64_t total,
                                 std::string_view zones_json);

}  // namespace footfall::aggregator
