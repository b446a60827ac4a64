#include "aggregator/serve/site_report.h"

#include <map>

#include "aggregator/aggregate/figures.h"

namespace footfall::aggregator {

namespace {
constexpr TimeMs kDayMs = 86'400'000;
}

ReportDocument read_report_document(SiteStore& store, const SiteThresholds& thr, const std::string& tenant,
                                    const std::string& site, TimeMs from, TimeMs to, bool with_overlap) {
  std::vector<Visit> visits;
  store.for_each_visit(tenant, site, from - lookback_ms(thr), to, [&](const Visit& v) { visits.push_back(v); });
  const std::vector<Sale> sales = store.sales(tenant, site, from - lookback_ms(thr), to);
  ReportDocument doc = report_document(visits, sales, thr, from, to, tenant, site);
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
  if (by_site.size() > 1) doc.overlap = overlap_matrix(by_site, from, to, thr);
  return doc;
}

std::vector<bool> days_with_data(SiteStore& store, const std::string& tenant,
                                 const std::string& site, TimeMs from, TimeMs to) {
  std::vector<bool> seen(static_cast<std::size_t>(std::max<TimeMs>(0, (to - from + kDayMs - 1) / kDayMs)), false);
  const auto mark = [&](TimeMs at) {
    if (at < from || at >= to) return;
    seen[static_cast<std::size_t>((at - from) / kDayMs)] = true;
  };
  store.for_each_visit(tenant, site, from, to, [&](const Visit& v) { mark(v.arrival); });
  for (const OccupancySample& s : store.occupancy(tenant, site, from, to)) mark(s.at);
  return seen;
}

}  // namespace footfall::aggregator
