#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "aggregator/aggregate/thresholds.h"

using footfall::aggregator::SiteThresholds;

namespace {

std::string error_of(const nlohmann::json& j) {
  try {
    (void)SiteThresholds::from_json(j);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("thresholds: defaults, round trip and overrides") {
  const SiteThresholds d = SiteThresholds::from_json(nlohmann::json::object());
  CHECK(d.visitor_rssi_dbm == -65);
  CHECK(d.visitor_min_dwell_s == 300);
  CHECK(d.returning_window_days == 30);
  CHECK(d.alert_drop == doctest::Approx(0.30));
  const SiteThresholds back = SiteThresholds::from_json(d.to_json());
  CHECK(back.to_json() == d.to_json());

  const auto t = SiteThresholds::from_json(
      {{"visitor_rssi_dbm", -70}, {"visitor_min_dwell_s", 120}, {"utc_offset_min", 120}, {"visitor_rssi_stat", "max"}});
  CHECK(t.visitor_rssi_dbm == -70);
  CHECK(t.visitor_min_dwell_s == 120);
  CHECK(t.utc_offset_min == 120);
  CHECK(t.visitor_rssi_stat == "max");
  CHECK(t.engaged_dwell_s == 1200);  // untouched keys keep their defaults
}

TEST_CASE("thresholds: unknown keys and bad values name the key") {
  CHECK(error_of({{"visitor_rsi_dbm", -60}}).find("visitor_rsi_dbm") != std::string::npos);
  CHECK(error_of({{"visitor_rsi_dbm", -60}}).find("unknown") != std::string::npos);
  CHECK(error_of({{"visitor_rssi_dbm", "-60"}}).find("visitor_rssi_dbm") != std::string::npos);
  CHECK(error_of({{"visitor_rssi_dbm", -60.5}}).find("visitor_rssi_dbm") != std::string::npos);
  CHECK(error_of({{"returning_window_days", 0}}).find("returning_window_days") != std::string::npos);
  CHECK(error_of({{"alert_drop", 1.5}}).find("alert_drop") != std::string::npos);
  CHECK(error_of({{"utc_offset_min", 900}}).find("utc_offset_min") != std::string::npos);
  CHECK(error_of({{"occupancy_step_s", 0}}).find("occupancy_step_s") != std::string::npos);
  CHECK(error_of({{"visitor_min_dwell_s", -1}}).find("visitor_min_dwell_s") != std::string::npos);
  CHECK(error_of({{"visitor_rssi_stat", "median"}}).find("visitor_rssi_stat") != std::string::npos);
  CHECK(error_of({{"engaged_min_zones", true}}).find("engaged_min_zones") != std::string::npos);
  CHECK(error_of(nlohmann::json::array()).find("object") != std::string::npos);
  CHECK(error_of({{"visitor_rssi_dbm", -60}}).empty());
}
