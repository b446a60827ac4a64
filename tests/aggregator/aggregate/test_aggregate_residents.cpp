// Residents: a device present resident_min_hours of a local day is kept out of every visitor figure and
// counted apart (docs/metrics.md, "Residents"). Visits are built here, so every answer is known by construction.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "aggregator/aggregate/figures.h"
#include "aggregator/aggregate/report_document.h"
#include "aggregator/aggregate/thresholds.h"
#include "tests/aggregator/aggregate/test_aggregate_visits.h"

using namespace footfall::aggregator;
using namespace footfall::aggregator::testing;
using nlohmann::json;

namespace {

std::int64_t n(const json& j, const char* key) { return j.at(key).get<std::int64_t>(); }

json day_figures(std::vector<Visit> visits, const SiteThresholds& thr = {}, TimeMs start = may_1) {
  std::sort(visits.begin(), visits.end(), [](const Visit& a, const Visit& b) { return a.arrival < b.arrival; });
  return period_figures(visits, {}, thr, Period::day, start);
}

SiteThresholds with_resident_hours(double hours) {
  SiteThresholds thr;
  thr.resident_min_hours = hours;
  return thr;
}

std::string error_of(const json& thresholds) {
  try {
    (void)SiteThresholds::from_json(thresholds);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// A staff phone at the counter 08:00-17:00 (9 h), a shopper 10:00-13:00 (3 h, two zones), a passer-by at 10:05.
std::vector<Visit> shop_day() {
  const TimeMs d = may_1;
  return {visit("staff", d + 8 * hour, d + 17 * hour, -45, 1, {"counter"}),
          visit("shopper", d + 10 * hour, d + 13 * hour, -50, 1, {"entrance", "food"}),
          visit("passer", d + 10 * hour + 5 * minute, d + 10 * hour + 6 * minute, -85)};
}

}  // namespace

TEST_CASE("residents: 9 h a day is a resident and no visitor, 3 h is a visitor") {
  const json f = day_figures(shop_day());
  CHECK(n(f, "residents") == 1);
  CHECK(n(f, "visitors") == 1);
  CHECK(n(f, "awareness") == 2);  // the shopper and the passer-by
  CHECK(n(f, "passers_by") == 1);
  CHECK(n(f, "new_visitors") == 1);
  CHECK(n(f, "detected_visits") == 2);
  CHECK(f.at("dwell_mean_min").get<double>() == doctest::Approx(180.0));  // the shopper's dwell only
  CHECK(n(f, "peak_occupancy") == 2);                                       // 10:05, the staff phone not counted
  CHECK(f.at("peak_occupancy_at") == "2024-05-01T10:05");
  CHECK(f.at("frequency") == json::array({{{"visits", 1}, {"devices", 1}}}));
  const json& flow = f.at("zone_flow");
  REQUIRE(flow.at("entry").size() == 1);
  CHECK(flow.at("entry").at(0).at("zone") == "entrance");  // no "counter": the resident's zone is not in the flow
  CHECK(flow.at("transitions").size() == 1);
  for (const auto& point : f.at("occupancy")) CHECK(point.at("devices").get<int>() <= 2);
  for (const auto& interval : f.at("intervals")) CHECK(interval.at("visitors").get<int>() <= 1);

  // The rule off: the staff phone is one more visitor, and present in the occupancy.
  const json off = day_figures(shop_day(), with_resident_hours(0));
  CHECK(n(off, "residents") == 0);
  CHECK(n(off, "visitors") == 2);
  CHECK(n(off, "awareness") == 3);
  CHECK(n(off, "peak_occupancy") == 3);
}

TEST_CASE("residents: resident_min_hours decides, exactly at the threshold is a resident") {
  CHECK(n(day_figures(shop_day(), with_resident_hours(9)), "residents") == 1);   // 9 h present, 9 h needed
  const json ten = day_figures(shop_day(), with_resident_hours(10));
  CHECK(n(ten, "residents") == 0);
  CHECK(n(ten, "visitors") == 2);
  const json three = day_figures(shop_day(), with_resident_hours(3));           // the shopper's 3 h too
  CHECK(n(three, "residents") == 2);
  CHECK(n(three, "visitors") == 0);
  CHECK(n(three, "passers_by") == 1);
  CHECK(three.at("dwell_mean_min").is_null());
  CHECK(n(day_figures(shop_day(), with_resident_hours(3.01)), "visitors") == 1);
}

TEST_CASE("residents: the union of a device's visits on the day counts, overlaps once, gaps not at all") {
  const TimeMs d = may_1;
  // Morning and afternoon with a lunch break: 4 h + 4 h 30 min = 8.5 h in two visits, each under 5 h.
  const std::vector<Visit> split = {visit("clerk", d + 8 * hour, d + 12 * hour),
                                    visit("clerk", d + 13 * hour, d + 17 * hour + 30 * minute)};
  CHECK(n(day_figures(split, with_resident_hours(5)), "residents") == 1);
  CHECK(n(day_figures(split, with_resident_hours(5)), "visitors") == 0);
  CHECK(n(day_figures(split, with_resident_hours(8.6)), "visitors") == 1);
  // Two overlapping visits 08:00-12:00 and 09:00-13:00: 8 h summed, 5 h covered.
  const std::vector<Visit> overlapping = {visit("pc", d + 8 * hour, d + 12 * hour),
                                          visit("pc", d + 9 * hour, d + 13 * hour)};
  CHECK(n(day_figures(overlapping, with_resident_hours(5)), "residents") == 1);
  CHECK(n(day_figures(overlapping, with_resident_hours(6)), "residents") == 0);
  CHECK(n(day_figures(overlapping, with_resident_hours(6)), "visitors") == 1);
}

TEST_CASE("residents: decided per local day; a visit overlapping a resident day is a resident visit") {
  const TimeMs d = may_1;
  // Night shift 22:00-07:00: 2 h on 1 May, 7 h on 2 May. Resident on 2 May, so its visit is no visitor on 1 May.
  // A shopper with the same pseudonym and key epoch (a long rotation) on 3 May for 1 h is a visitor that day.
  const std::vector<Visit> visits = {visit("guard", d + 22 * hour, d + day + 7 * hour),
                                     visitor("guard", d + 2 * day + 15 * hour, 60)};
  const json first = day_figures(visits);
  CHECK(n(first, "visitors") == 0);
  CHECK(n(first, "residents") == 1);  // present on 1 May with a resident visit
  const json second = day_figures(visits, {}, d + day);
  CHECK(n(second, "residents") == 1);
  CHECK(n(second, "peak_occupancy") == 0);
  const json third = day_figures(visits, {}, d + 2 * day);
  CHECK(n(third, "residents") == 0);
  CHECK(n(third, "visitors") == 1);
  CHECK(n(third, "returning_visitors") == 0);  // its earlier visit was a resident's, never a visitor visit

  // Local days: at UTC+2 the shift is 00:00-09:00 local on 2 May, nothing on 1 May.
  SiteThresholds east;
  east.utc_offset_min = 120;
  const json local = period_figures(visits, {}, east, Period::day, d + day - 2 * hour);
  CHECK(n(local, "residents") == 1);
  CHECK(n(period_figures(visits, {}, east, Period::day, d - 2 * hour), "residents") == 0);
}

TEST_CASE("residents: one pseudonym in two key epochs is two devices") {
  const TimeMs d = may_1;
  // 3 h of epoch 1 and 3 h of epoch 2 on one day: neither device reaches 4 h.
  const std::vector<Visit> visits = {visitor("rotating", d + 6 * hour, 180, 1),
                                     visitor("rotating", d + 9 * hour, 180, 2)};
  const json f = day_figures(visits);
  CHECK(n(f, "residents") == 0);
  CHECK(n(f, "visitors") == 2);
}

TEST_CASE("residents: present in an hour counts in that hour's residents") {
  const std::vector<Visit> visits = shop_day();
  const json nine = period_figures(visits, {}, {}, Period::hour, may_1 + 9 * hour);
  CHECK(n(nine, "residents") == 1);
  CHECK(n(nine, "awareness") == 0);
  const json evening = period_figures(visits, {}, {}, Period::hour, may_1 + 18 * hour);
  CHECK(n(evening, "residents") == 0);
  const json week = period_figures(visits, {}, {}, Period::week, period_start_containing(Period::week, may_1, {}));
  CHECK(n(week, "residents") == 1);
  CHECK(n(week, "visitors") == 1);
}

TEST_CASE("residents: kept out of the cross-site overlap") {
  const TimeMs d = may_1;
  std::map<std::string, std::vector<Visit>> by_site = {
      {"a", {visit("tech", d + 7 * hour, d + 16 * hour), visitor("guest", d + 10 * hour, 30)}},
      {"b", {visitor("tech", d + 17 * hour, 30), visitor("guest", d + 12 * hour, 30)}}};
  const OverlapMatrix m = overlap_matrix(by_site, d, d + day, SiteThresholds{});
  REQUIRE(m.sites == std::vector<std::string>{"a", "b"});
  CHECK(m.visitors == std::vector<std::size_t>{1, 2});  // the technician is a resident of a, a visitor of b
  CHECK(m.shared[0][1] == 1);
  CHECK(m.shared[1][0] == 1);
}

TEST_CASE("residents: per day in the report document") {
  const TimeMs d = may_1;
  std::vector<Visit> visits;
  for (int k = 0; k < 3; ++k) {
    const TimeMs day_start = d + k * day;
    for (int s = 0; s <= k; ++s) {
      visits.push_back(visit("staff" + std::to_string(s), day_start + 8 * hour, day_start + 17 * hour));
    }
    visits.push_back(visitor("shopper" + std::to_string(k), day_start + 11 * hour, 45));
  }
  std::sort(visits.begin(), visits.end(), [](const Visit& a, const Visit& b) { return a.arrival < b.arrival; });
  const json doc = to_json(report_document(visits, {}, SiteThresholds{}, d, d + 3 * day, "acme", "mall-7"));
  REQUIRE(doc.at("days").size() == 3);
  for (int k = 0; k < 3; ++k) {
    CHECK(n(doc.at("days").at(k), "residents") == k + 1);
    CHECK(n(doc.at("days").at(k), "visitors") == 1);
  }
  CHECK(n(doc.at("summary"), "residents") == 3);  // staff0..2 under one key epoch: distinct devices of the range
  CHECK(n(doc.at("summary"), "visitors") == 3);
  CHECK(doc.at("thresholds").at("resident_min_hours") == 4);
  for (const auto& c : doc.at("retention").at("cohorts")) CHECK(c.at("visitors").get<int>() == 3);
}

TEST_CASE("residents: a bad resident_min_hours is refused, naming the key") {
  CHECK(error_of({{"resident_min_hours", 25}}).find("resident_min_hours") != std::string::npos);
  CHECK(error_of({{"resident_min_hours", -1}}).find("resident_min_hours") != std::string::npos);
  CHECK(error_of({{"resident_min_hours", "4"}}).find("resident_min_hours") != std::string::npos);
  CHECK(error_of({{"resident_min_hours", 2.5}}).empty());
  CHECK(SiteThresholds::from_json({{"resident_min_hours", 2.5}}).resident_min_hours == doctest::Approx(2.5));
}
