#pragma once
// A hand-made report document: one week (Monday 23 to Sunday 29 November 2026) of a shopping mall, with
// a busy weekend, a rainy Wednesday that raises alerts, five zones and two sister sites. Made here so the
// report tests do not depend on the aggregation code.
#include <cmath>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace footfall::test {

inline nlohmann::json mall_week_document(const std::string& site = "Riverside Mall") {
  using nlohmann::json;
  // Visitors per day, Monday first; Wednesday is the rainy day.
  const int visitors[7] = {1840, 1910, 1020, 2050, 2480, 3620, 3310};
  const int passers[7] = {5200, 5350, 4100, 5500, 6400, 8900, 8100};
  const char* dates[7] = {"2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29"};
  // Share of a day's arrivals per opening hour 09..20.
  const double profile[12] = {0.03, 0.05, 0.07, 0.10, 0.11, 0.09, 0.08, 0.09, 0.11, 0.12, 0.09, 0.06};

  json days = json::array();
  json hours = json::array();
  json occupancy = json::array();
  json new_vs_returning = json::array();
  int total_visitors = 0, total_passers = 0, total_tx = 0;
  double total_revenue = 0;
  for (int d = 0; d < 7; ++d) {
    const int v = visitors[d];
    const int returning = v * (18 + d) / 100;
    const int tx = v * 31 / 100;
    const double revenue = tx * (38.5 + d * 1.7);
    total_visitors += v;
    total_passers += passers[d];
    total_tx += tx;
    total_revenue += revenue;
    days.push_back({{"date", dates[d]}, {"awareness", v + passers[d]}, {"acquisition", v}, {"activation", v * 46 / 100},
                    {"capture_rate", static_cast<double>(v) / (v + passers[d])}, {"activation_rate", 0.46},
                    {"retain_rate", static_cast<double>(returning) / v}, {"transactions", tx}, {"revenue", revenue},
                    {"conversion", static_cast<double>(tx) / v}, {"revenue_per_visitor", revenue / v},
                    {"refer_estimate", v / 40}, {"passers_by", passers[d]}, {"visitors", v}, {"bounces", v / 9},
                    {"new_visitors", v - returning}, {"returning_visitors", returning},
                    {"dwell_mean_min", 41.5 + d}, {"dwell_median_min", 28.0 + d * 0.5}, {"peak_hour", d >= 5 ? 15 : 13},
                    {"peak_occupancy", v / 5}});
    new_vs_returning.push_back({{"date", dates[d]}, {"new", v - returning}, {"returning", returning}});
    for (int h = 0; h < 24; ++h) {
      char start[32];
      std::snprintf(start, sizeof start, "%sT%02d:00", dates[d], h);
      const bool open = h >= 9 && h <= 20;
      const double share = open ? profile[h - 9] : 0.0;
      hours.push_back({{"start", start}, {"passers_by", static_cast<int>(passers[d] * share)},
                       {"visitors", static_cast<int>(v * share)}, {"arrivals", static_cast<int>(v * share * 1.04)},
                       {"occupancy_max", static_cast<int>(v * share * 1.9)}});
      for (int q = 0; q < 60; q += 30) {
        char at[32];
        std::snprintf(at, sizeof at, "%sT%02d:%02d", dates[d], h, q);
        const double t = h + q / 60.0;
        const double bell = open ? std::exp(-std::pow((t - (d >= 5 ? 15.5 : 14.0)) / 3.2, 2.0)) : 0.0;
        occupancy.push_back({{"at", at}, {"devices", static_cast<int>(std::lround(v / 5.0 * bell))}});
      }
    }
  }
  json summary = days[4];
  summary.erase("date");
  summary["awareness"] = total_visitors + total_passers;
  summary["acquisition"] = 15230;
  summary["visitors"] = 15230;  // distinct over the week: some came on several days
  summary["passers_by"] = total_passers;
  summary["capture_rate"] = static_cast<double>(total_visitors) / (total_visitors + total_passers);
  summary["activation"] = 7006;
  summary["transactions"] = total_tx;
  summary["revenue"] = total_revenue;
  summary["conversion"] = static_cast<double>(total_tx) / 15230;
  summary["revenue_per_visitor"] = total_revenue / 15230;
  summary["returning_visitors"] = 2890;
  summary["new_visitors"] = 15230 - 2890;
  summary["retain_rate"] = 2890.0 / 15230;
  summary["refer_estimate"] = 412;
  summary["peak_hour"] = 15;
  summary["peak_occupancy"] = 724;
  summary["peak_occupancy_at"] = "2026-11-28T15:30";

  return json{
      {"format", "footfall-report/1"},
      {"tenant", "Acme Retail Properties"},
      {"site", site},
      {"from", "2026-11-23"},
      {"to", "2026-11-30"},
      {"last_day", "2026-11-29"},
      {"utc_offset_min", 60},
      {"generated_at", "2026-11-30T06:00:00.000Z"},
      {"thresholds", {{"visitor_rssi_dbm", -75}, {"visitor_min_dwell_s", 300}, {"engaged_dwell_s", 1200},
                      {"engaged_min_zones", 3}, {"returning_window_days", 30}, {"alert_drop", 0.3}}},
      {"summary", summary},
      {"days", days},
      {"hours", hours},
      {"occupancy_step_s", 1800},
      {"occupancy", occupancy},
      {"dwell_histogram", json::array({{{"bucket", "<5"}, {"visitors", 0}, {"bounces", 1810}},
                                       {{"bucket", "5-15"}, {"visitors", 3120}, {"bounces", 0}},
                                       {{"bucket", "15-30"}, {"visitors", 4410}, {"bounces", 0}},
                                       {{"bucket", "30-60"}, {"visitors", 5230}, {"bounces", 0}},
                                       {{"bucket", "60-120"}, {"visitors", 2380}, {"bounces", 0}},
                                       {{"bucket", ">120"}, {"visitors", 1080}, {"bounces", 0}}})},
      {"funnel", json::array({{{"stage", "Awareness"}, {"value", total_visitors + total_passers}, {"rate", nullptr}},
                              {{"stage", "Acquisition"}, {"value", 15230},
                               {"rate", 15230.0 / (total_visitors + total_passers)}},
                              {{"stage", "Activation"}, {"value", 7006}, {"rate", 7006.0 / 15230}}})},
      {"retention", {{"rate", 2890.0 / 15230}, {"window_days", 30},
                     {"cohorts", json::array({{{"cohort", "2026-11-23"}, {"visitors", 12340}, {"returned", 1630},
                                               {"rate", 1630.0 / 12340}, {"complete", false}}})}}},
      {"frequency", json::array({{{"visits", 1}, {"devices", 12100}}, {{"visits", 2}, {"devices", 2310}},
                                 {{"visits", 3}, {"devices", 640}}, {{"visits", 4}, {"devices", 180}}})},
      {"zone_flow",
       {{"transitions", json::array({{{"from", "north-entrance"}, {"to", "atrium"}, {"count", 6120}},
                                     {{"from", "atrium"}, {"to", "fashion"}, {"count", 4210}},
                                     {{"from", "atrium"}, {"to", "food-court"}, {"count", 3980}},
                                     {{"from", "fashion"}, {"to", "food-court"}, {"count", 2050}},
                                     {{"from", "south-entrance"}, {"to", "atrium"}, {"count", 5400}},
                                     {{"from", "food-court"}, {"to", "south-entrance"}, {"count", 3310}},
                                     {{"from", "fashion"}, {"to", "north-entrance"}, {"count", 1900}},
                                     {{"from", "atrium"}, {"to", "electronics"}, {"count", 1750}},
                                     {{"from", "electronics"}, {"to", "north-entrance"}, {"count", 1430}}})},
        {"entry", json::array({{{"zone", "north-entrance"}, {"count", 8300}}, {{"zone", "south-entrance"}, {"count", 6930}}})},
        {"exit", json::array({{{"zone", "south-entrance"}, {"count", 7900}}, {{"zone", "north-entrance"}, {"count", 7330}}})}}},
      {"new_vs_returning", new_vs_returning},
      {"alerts", json::array({{{"date", "2026-11-25"}, {"indicator", "acquisition"}, {"value", 1020}, {"baseline", 1895.5},
                               {"change", 1020 / 1895.5 - 1}, {"threshold", 0.3}},
                              {{"date", "2026-11-25"}, {"indicator", "revenue"}, {"value", 12800.4},
                               {"baseline", 23010.0}, {"change", 12800.4 / 23010.0 - 1}, {"threshold", 0.3}}})},
      {"overlap", {{"sites", json::array({site, "Harbour Outlet", "City Arcade"})},
                   {"visitors", json::array({15230, 8400, 5100})},
                   {"matrix", json::array({json::array({1.0, 0.12, 0.05}), json::array({0.21, 1.0, 0.08}),
                                           json::array({0.15, 0.13, 1.0})})}}},
  };
}

}  // namespace footfall::test
