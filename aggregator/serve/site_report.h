#pragma once
// The report document of one site for a range of local days, read through the store interface (SQLite or
// PostgreSQL): what the report command writes and what the dashboard shows.
#include <functional>
#include <string>
#include <vector>

#include "aggregator/aggregate/report_document.h"
#include "aggregator/aggregate/thresholds.h"
#include "aggregator/store/site_store.h"

namespace footfall::aggregator {

// [from, to) in UTC ms at local day boundaries. with_overlap: also the share of visitors seen at the tenant's
// other sites (reads their visits too).
// progress, when given, hears each stage done ("read 48211 visits and 912 sales of acme/mall-7", ...).
ReportDocument read_report_document(SiteStore& store, const SiteThresholds& thr, const std::string& tenant,
                                    const std::string& site, TimeMs from, TimeMs to, bool with_overlap,
                                    const std::function<void(const std::string&)>& progress = {});

// One flag per local day of [from, to): true when the store holds a visit or an occupancy sample of the site
// that day. A day without either had its gateway (or every probe) off: its figures are missing, not zero.
// [from, to) are local day starts of thr's clock (a day of 23 or 25 hours counts as one).
std::vector<bool> days_with_data(SiteStore& store, const SiteThresholds& thr, const std::string& tenant,
                                 const std::string& site, TimeMs from, TimeMs to);

}  // namespace footfall::aggregator
