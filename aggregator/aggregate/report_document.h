#pragma once
// Everything the report of one site shows for [from, to), as one JSON document (docs/schema/report-document.schema.json).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/thresholds.h"
#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

// visits: the site's visits with arrival in [from - lookback_ms(thr), to), sorted by arrival (sorted here when
// not); the earlier ones feed only returning visitors and the alerts' baselines. from and to are widened to
// local day boundaries. "overlap" is null: the caller sets it from overlap_matrix() for a multi-site tenant.
nlohmann::json report_document(const std::vector<Visit>& visits, const std::vector<Sale>& sales,
                               const SiteThresholds& thr, TimeMs from, TimeMs to, const std::string& tenant,
                               const std::string& site);

}  // namespace footfall::aggregator
