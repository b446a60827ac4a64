#include "aggregator/publish/occupancy_publisher.h"

#include "aggregator/ingest/iso_time.h"

namespace footfall::aggregator {

std::string occupancy_topic(const SiteKey& site) {
  return "footfall/v1/" + site.tenant + "/" + site.site + "/occupancy";
}

nlohmann::json occupancy_message(const OccupancySample& sample, TimeMs published_at) {
  nlohmann::json zones = nlohmann::json::object();
  for (const auto& [zone, count] : sample.zones) zones[zone] = count;
  return nlohmann::json{{"tenant", sample.tenant},
                        {"site", sample.site},
                        {"at", format_iso8601_utc(sample.at)},
                        {"total", sample.total},
                        {"zones", std::move(zones)},
                        {"published_at", format_iso8601_utc(published_at)}};
}

void OccupancyPublisher::publish(std::map<SiteKey, OccupancySample> newest, TimeMs now) {
  for (auto& [site, sample] : newest) {
    auto p = pending_.find(site);
    if (p == pending_.end()) {
      pending_.emplace(site, std::move(sample));
    } else if (sample.at >= p->second.at) {
      p->second = std::move(sample);
    }
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    const auto last = published_at_.find(it->first);
    if (last != published_at_.end() && it->second.at <= last->second) {
      if (it->second.at < last->second) ++counters_.older;  // equal: the value already published, read again
      it = pending_.erase(it);
      continue;
    }
    if (!sink_(occupancy_topic(it->first), occupancy_message(it->second, now).dump(), true)) {
      ++counters_.refused;
      ++it;
      continue;
    }
    ++counters_.published;
    published_at_[it->first] = it->second.at;
    it = pending_.erase(it);
  }
}

}  // namespace footfall::aggregator
