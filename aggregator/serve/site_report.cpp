#include "aggregator/serve/site_report.h"

#include <algorithm>
#include <map>

#include "aggregator/aggregate/figures.h"

namespace footfall::aggregator {

ReportDocument read_report_document(SiteStore& store, const SiteThresholds& thr, const std::string& tenant,
                                    const std::string& site, TimeMs from, TimeMs to, bool with_overlap,
                                    const std::function<void(const std::string&)>& progress) {
  const auto say = [&](const std::string& what) {
    if (progress) progress(what);
  };
  std::vector<Visit> visits;
  store.for_each_visit(tenant, site, from - lookback_ms(thr), to, [&](const Visit& v) { visits.push_back(v); });
  const std::vector<Sale> sales = store.sales(tenant, site, from - lookback_ms(thr), to);
  say("read " + std::to_string(visits.size()) + " visits and " + std::to_string(sales.size()) + " sales of " + tenant +
      "/" + site);
  ReportDocument doc = report_document(visits, sales, thr, from, to, tenant, site);
  say("figures of " + std::to_string(doc.days.size()) + " days");
  if (!with_overlap) return doc;
  // Cross-site overlap: this site's visitors also seen at the tenant's other sites over the same days.
  std::map<std::string, std::vector<Visit>> by_site;
  for (const SiteKey& other : store.sites()) {
    if (other.tenant != tenant) continue;
    auto& list = by_site[other.site];
    if (other.site == site) {  // already read, with the look-back before `from`
      for (const Visit& v : visits)
        if (v.arrival >= from) list.push_back(v);
      continue;
    }
    store.for_each_visit(tenant, other.site, from, to, [&](const Visit& v) { list.push_back(v); });
  }
  if (by_site.size() > 1) {
    doc.overlap = overlap_matrix(by_site, from, to, thr);
    say("overlap with " + std::to_string(by_site.size() - 1) + " other sites");
  }
  return doc;
}

std::vector<bool> days_with_data(SiteStore& store, const SiteThresholds& thr, const std::string& tenant,
                                 const std::string& site, TimeMs from, TimeMs to) {
  const std::vector<TimeMs> starts = thr.clock().day_starts(from, to);
  std::vector<bool> seen(starts.size(), false);
  const auto mark = [&](TimeMs at) {
    if (at < from || at >= to || starts.empty()) return;
    const auto day = std::upper_bound(starts.begin(), starts.end(), at) - starts.begin() - 1;
    if (day >= 0) seen[static_cast<std::size_t>(day)] = true;
  };
  store.for_each_visit(tenant, site, from, to, [&](const Visit& v) { mark(v.arrival); });
  for (const OccupancySample& s : store.occupancy(tenant, site, from, to)) mark(s.at);
  return seen;
}

}  // namespace footfall::aggregator
