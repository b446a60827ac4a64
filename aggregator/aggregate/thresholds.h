#pragma once
// The per-site thresholds every figure depends on (docs/metrics.md defines each); one table, checked on load.

#include <string>

#include <nlohmann/json.hpp>

#include "aggregator/aggregate/local_time.h"

namespace footfall::aggregator {

struct SiteThresholds {
  int visitor_rssi_dbm = -65;          // a probe span counts toward a visitor when heard at least this loud
  std::string visitor_rssi_stat = "mean";  // which probe figure meets visitor_rssi_dbm: "mean" or "max"
  double visitor_min_dwell_s = 300;    // qualifying time (union of loud probe spans) that makes a visitor
  double engaged_dwell_s = 1200;       // a visitor visit this long is engaged (Activation)
  int engaged_min_zones = 2;           // ... or one through this many distinct zones
  int returning_window_days = 30;      // a visitor with a visitor visit this many days before is returning
  double refer_arrival_s = 120;        // refer estimate: new visitor arrived within this of a returning one
  double refer_departure_s = 300;      // ... and left within this of the same returning visitor
  double alert_drop = 0.30;            // alert when a daily indicator falls more than this below its baseline
  int alert_min_baseline_days = 4;     // same weekdays with data (of the four before) needed for a baseline
  std::string time_zone;               // tz database name ("Europe/Paris"): local days with summer time
  int utc_offset_min = 0;              // without time_zone: local time = UTC + this all year
  int occupancy_step_s = 300;          // occupancy sampling interval
  int report_occupancy_points = 2016;  // at most this many occupancy points in a report (steps are merged)
  double resident_min_hours = 4;       // a device present this long on a local day is a resident that day; 0: off

  static SiteThresholds from_json(const nlohmann::json& j);  // unknown key / bad value: invalid_argument naming it
  nlohmann::json to_json() const;
  // The site's clock: its time zone, or its fixed offset. Throws std::invalid_argument for an unknown zone.
  LocalClock clock() const;
};

}  // namespace footfall::aggregator
