#pragma once
// Visitor-flow figures and 3A3R indicators of one site for a period; every figure is defined in docs/metrics.md.
// Pure computation: visits and sales in; period figures as JSON (the metrics payload), alerts and overlap as
// values that to_json turns into their published objects.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/daily_alerts.h"
#include "aggregator/aggregate/thresholds.h"
#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

enum class Period { hour, day, week, month };

const char* period_name(Period p);

// How far before a period the visits must reach: the returning window, or four weeks and a day for the
// alerts' baseline, whichever is longer, plus a day for local-day alignment.
TimeMs lookback_ms(const SiteThresholds& thr);

// Start of the local hour / day / week (Monday) / month containing t, in UTC ms.
TimeMs period_start_containing(Period p, TimeMs t, const SiteThresholds& thr);
// End (excluded) of the period starting at period_start.
TimeMs period_end(Period p, TimeMs period_start, const SiteThresholds& thr);

struct VisitTable;
class SalesLedger;
class WindowScratch;

// One site's visits and sales made ready once (its visit table), then the figures of any number of periods
// and the alerts of any number of days from it: building the table from every visit of the lookback costs more
// than all the windows computed from it, so the publisher builds it once per site and recompute.
// visits: all visits of ONE site with arrival in [earliest start - lookback_ms(thr), latest end).
class SiteFigures {
 public:
  SiteFigures(const std::vector<Visit>& visits, const std::vector<Sale>& sales, const SiteThresholds& thr);
  ~SiteFigures();
  SiteFigures(const SiteFigures&) = delete;
  SiteFigures& operator=(const SiteFigures&) = delete;
  nlohmann::json period(Period p, TimeMs period_start);
  std::vector<IndicatorAlert> alerts(TimeMs day_start);

 private:
  SiteThresholds thr_;
  std::unique_ptr<VisitTable> table_;
  std::unique_ptr<SalesLedger> ledger_;
  std::unique_ptr<WindowScratch> scratch_;
};

// visits: all visits of ONE site with arrival in [period_start - lookback_ms(thr), period_end), sorted by
// arrival (sorted here when not). Sales of the site, any range (only the period's count).
nlohmann::json period_figures(const std::vector<Visit>& visits, const std::vector<Sale>& sales,
                              const SiteThresholds& thr, Period p, TimeMs period_start);

// Alerts of the local day starting at day_start: each daily indicator against the mean of the same weekday
// in the four weeks before. visits as for period_figures with the day as the period.
std::vector<IndicatorAlert> daily_alerts(const std::vector<Visit>& visits, const std::vector<Sale>& sales,
                                         const SiteThresholds& thr, TimeMs day_start);

// Visitors shared between the sites of one tenant: same (key_epoch, device), all sites judged alike.
struct OverlapMatrix {
  std::vector<std::string> sites;
  std::vector<std::size_t> visitors;             // distinct visitors per site
  std::vector<std::vector<std::size_t>> shared;  // shared[i][k]: visitors of site i also visitors of site k
};

// The overlap object of the report document; matrix[i][k] = shared[i][k] / visitors[i] (null without visitors).
nlohmann::json to_json(const OverlapMatrix& overlap);

// Cross-site overlap of one tenant in [from, to): share of site A's visitors also visitors of site B
// (same (key_epoch, device)), all sites judged with thr; each site's residents are no visitors of it.
OverlapMatrix overlap_matrix(const std::map<std::string, std::vector<Visit>>& visits_by_site, TimeMs from,
                             TimeMs to, const SiteThresholds& thr);

}  // namespace footfall::aggregator
