#pragma once
// Everything the report of one site shows for [from, to), typed; to_json gives the document that leaves the
// program (docs/schema/report-document.schema.json: report.json, and what the HTML and CSV report render).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/daily_alerts.h"
#include "aggregator/aggregate/figure_lists.h"
#include "aggregator/aggregate/figures.h"
#include "aggregator/aggregate/thresholds.h"
#include "aggregator/aggregate/window_figures.h"
#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

// Devices new in a local week (from its Monday) and how many of them came back within the returning window.
struct Cohort {
  std::int32_t week = 0;  // local day of the Monday
  std::int64_t visitors = 0;
  std::int64_t returned = 0;
  bool complete = false;  // the returning window of the whole week has passed before the end of the range
};

struct ReportDocument {
  std::string tenant;
  std::string site;
  std::int32_t from_day = 0;  // local days [from_day, to_day)
  std::int32_t to_day = 0;
  SiteThresholds thresholds;
  TimeMs generated_at = 0;
  WindowFigures summary;            // the whole range, full detail
  std::vector<WindowFigures> days;  // one per local day of the range
  std::vector<IntervalFigures> hours;
  OccupancyPoints occupancy;
  std::vector<Cohort> cohorts;
  std::vector<IndicatorAlert> alerts;
  std::optional<OverlapMatrix> overlap;  // set by the caller for a multi-site tenant

  LocalClock clock() const { return thresholds.clock(); }
};

// visits: the site's visits with arrival in [from - lookback_ms(thr), to), sorted by arrival (sorted here when
// not); the earlier ones feed only returning visitors and the alerts' baselines. from and to are widened to
// local day boundaries. No overlap: the caller sets it from overlap_matrix() for a multi-site tenant.
ReportDocument report_document(const std::vector<Visit>& visits, const std::vector<Sale>& sales,
                               const SiteThresholds& thr, TimeMs from, TimeMs to, const std::string& tenant,
                               const std::string& site);

nlohmann::json to_json(const ReportDocument& doc);

}  // namespace footfall::aggregator
