#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>

#include "aggregator/aggregate/figures.h"
#include "tests/aggregator/aggregate/test_aggregate_visits.h"

using namespace footfall::aggregator;
using namespace footfall::aggregator::testing;
using nlohmann::json;

namespace {

std::int64_t n(const json& j, const char* key) { return j.at(key).get<std::int64_t>(); }

json day_figures(std::vector<Visit> visits, const SiteThresholds& thr = {}, TimeMs start = may_1,
                 const std::vector<Sale>& sales = {}) {
  std::sort(visits.begin(), visits.end(), [](const Visit& a, const Visit& b) { return a.arrival < b.arrival; });
  return period_figures(visits, sales, thr, Period::day, start);
}

json bucket(const json& figures, const std::string& name) {
  for (const auto& b : figures.at("dwell_histogram")) {
    if (b.at("bucket") == name) return b;
  }
  FAIL("no bucket " << name);
  return {};
}

}  // namespace

TEST_CASE("visitor threshold: signal exactly at the level and qualifying time exactly the minimum") {
  const TimeMs t = may_1 + 10 * hour;
  const auto f = day_figures({
      visit("a1", t, t + 5 * minute, -65),               // exactly -65 dBm for exactly 300 s: visitor
      visit("a2", t, t + 5 * minute - 1, -65),           // 1 ms short: bounce
      visit("a3", t, t + 30 * minute, -65.01),           // a hair below the level for long: passer-by, no bounce
  });
  CHECK(n(f, "awareness") == 3);
  CHECK(n(f, "visitors") == 1);
  CHECK(n(f, "acquisition") == 1);
  CHECK(n(f, "passers_by") == 2);
  CHECK(n(f, "bounces") == 1);
  CHECK(f.at("capture_rate").get<double>() == doctest::Approx(1.0 / 3));
  CHECK(f.at("bounce_rate").get<double>() == doctest::Approx(0.5));
}

TEST_CASE("visitor threshold: the union of the loud probe spans counts, weak probes do not") {
  const TimeMs t = may_1 + 10 * hour;
  auto overlapping = visit("u1", t, t + 20 * minute);
  overlapping.probes = {probe(t, t + 200'000, -50), probe(t + 100'000, t + 350'000, -60, "food"),
                        probe(t, t + 20 * minute, -80, "street")};
  auto gap_enough = visit("u2", t, t + 20 * minute);
  gap_enough.probes = {probe(t, t + 150'000, -50), probe(t + 200'000, t + 350'000, -50, "food")};  // 150+150 s
  auto gap_short = visit("u3", t, t + 20 * minute);
  gap_short.probes = {probe(t, t + 150'000, -50), probe(t + 200'000, t + 349'999, -50, "food")};
  auto weak_only = visit("u4", t, t + 60 * minute);
  weak_only.probes = {probe(t, t + 60 * minute, -80)};
  const auto f = day_figures({overlapping, gap_enough, gap_short, weak_only});
  CHECK(n(f, "visitors") == 2);
  CHECK(n(f, "bounces") == 1);
  CHECK(n(f, "passers_by") == 2);

  SiteThresholds by_max;
  by_max.visitor_rssi_stat = "max";  // rssi_max of the weak probe is -75: still below
  by_max.visitor_rssi_dbm = -75;
  CHECK(n(day_figures({weak_only}, by_max), "visitors") == 1);
}

TEST_CASE("dwell histogram: lower bound included, exactly 5 minutes is 5-15") {
  SiteThresholds thr;
  thr.visitor_min_dwell_s = 60;
  const TimeMs t = may_1 + 9 * hour;
  const auto f = day_figures({visit("d1", t, t + 5 * minute - 1), visit("d2", t, t + 5 * minute),
                              visit("d3", t, t + 15 * minute), visit("d4", t, t + 120 * minute - 1),
                              visit("d5", t, t + 120 * minute), visit("d6", t, t + 59'999)},
                             thr);
  CHECK(n(bucket(f, "<5"), "visitors") == 1);
  CHECK(n(bucket(f, "5-15"), "visitors") == 1);
  CHECK(n(bucket(f, "15-30"), "visitors") == 1);
  CHECK(n(bucket(f, "60-120"), "visitors") == 1);
  CHECK(n(bucket(f, ">120"), "visitors") == 1);
  CHECK(n(bucket(f, "<5"), "bounces") == 1);  // d6: 59.999 s loud
  CHECK(f.at("dwell_histogram").size() == 6);
  CHECK(f.at("dwell_median_min").get<double>() == doctest::Approx(15.0));
}

TEST_CASE("a device with several visits counts once; frequency counts its visits") {
  const TimeMs t = may_1 + 8 * hour;
  auto passing = visit("m1", t, t + minute, -80);
  const auto f = day_figures({passing, visitor("m1", t + 2 * hour, 10), visitor("m2", t, 10),
                              visitor("m2", t + 3 * hour, 10), visitor("m2", t + 5 * hour, 40),
                              visit("m3", t, t + minute, -80), visit("m3", t + hour, t + hour + minute, -80)});
  CHECK(n(f, "awareness") == 3);
  CHECK(n(f, "visitors") == 2);
  CHECK(n(f, "passers_by") == 1);
  CHECK(n(f, "visitor_visits") == 4);
  CHECK(n(f, "detected_visits") == 7);
  CHECK(n(f, "activation") == 1);  // m2's 40-minute visit
  CHECK(f.at("frequency") == json::parse(R"([{"visits":1,"devices":1},{"visits":3,"devices":1}])"));
}

TEST_CASE("engaged: dwell exactly engaged_dwell_s or enough zones") {
  const TimeMs t = may_1 + 8 * hour;
  const auto f = day_figures({visitor("e1", t, 20), visitor("e2", t, 19),
                              visit("e3", t, t + 6 * minute, -50, 1, {"entrance", "food"})});
  CHECK(n(f, "activation") == 2);
  CHECK(f.at("activation_rate").get<double>() == doctest::Approx(2.0 / 3));
}

TEST_CASE("a visit spanning midnight counts on its arrival day and is present after midnight") {
  const TimeMs late = may_1 + 23 * hour + 50 * minute;
  const std::vector<Visit> visits = {visitor("n1", late, 30)};
  const auto first = day_figures(visits);
  CHECK(n(first, "visitors") == 1);
  const auto second = day_figures(visits, {}, may_1 + day);
  CHECK(n(second, "visitors") == 0);
  CHECK(n(second, "peak_occupancy") == 1);  // still there at 00:00
  CHECK(second.at("occupancy").at(0).at("devices") == 1);
  CHECK(second.at("occupancy").at(0).at("at") == "2024-05-02T00:00");
  CHECK(second.at("occupancy").at(4).at("devices") == 1);   // 00:20, the departure: still present
  CHECK(second.at("occupancy").at(5).at("devices") == 0);
}

TEST_CASE("period boundaries in local time") {
  SiteThresholds east;
  east.utc_offset_min = 120;
  CHECK(period_start_containing(Period::day, may_1 + 22 * hour + 30 * minute, east) == may_1 + 22 * hour);
  CHECK(period_start_containing(Period::day, may_1 + 21 * hour + 59 * minute, east) == may_1 - 2 * hour);
  CHECK(period_start_containing(Period::week, may_1 + 10 * hour, east) == may_1 - 2 * day - 2 * hour);  // Mon 29 Apr
  CHECK(period_start_containing(Period::month, may_1 + 30 * day + 22 * hour + 30 * minute, east) ==
        may_1 + 30 * day + 22 * hour);  // local 1 June 00:30
  CHECK(period_end(Period::month, may_1 + 30 * day + 22 * hour, east) == may_1 + 60 * day + 22 * hour);  // 1 July
  CHECK(period_end(Period::month, may_1 - 2 * hour, east) == may_1 + 31 * day - 2 * hour);
  SiteThresholds west;
  west.utc_offset_min = -300;
  CHECK(period_start_containing(Period::day, may_1 + 3 * hour, west) == may_1 - day + 5 * hour);
  SiteThresholds india;
  india.utc_offset_min = 330;
  CHECK(period_start_containing(Period::hour, may_1 + 10 * hour + 10 * minute, india) == may_1 + 9 * hour + 30 * minute);

  // A visit just before local midnight belongs to the day before; one at midnight to the day.
  const std::vector<Visit> visits = {visitor("p1", may_1 + 22 * hour - 1, 10), visitor("p2", may_1 + 22 * hour, 10)};
  const auto f = period_figures(visits, {}, east, Period::day, may_1 + 22 * hour);
  CHECK(n(f, "visitors") == 1);
  CHECK(f.at("local_start") == "2024-05-02T00:00");
  CHECK(f.at("intervals").size() == 24);
  CHECK(f.at("intervals").at(0).at("visitors") == 1);
  CHECK(f.at("peak_hour") == 0);
  const auto before = period_figures(visits, {}, east, Period::day, may_1 - 2 * hour);
  CHECK(n(before, "visitors") == 1);
  CHECK(before.at("peak_hour") == 23);
}

TEST_CASE("returning: earlier day within the window, same key epoch only") {
  const TimeMs t = may_1 + 10 * hour;
  std::vector<Visit> visits = {
      visitor("r1", t, 10), visitor("r1", t + 9 * day, 10),                // back after 9 days: returning
      visitor("r2", t, 10), visitor("r2", t + 9 * day, 10, 2),             // same pseudonym, other epoch: new
      visitor("r3", t + 9 * day - hour, 10), visitor("r3", t + 9 * day, 10),  // twice the same day: new
      visitor("r4", t - 21 * day, 10), visitor("r4", t + 9 * day, 10),     // exactly 30 days: returning
      visitor("r5", t - 22 * day, 10), visitor("r5", t + 9 * day, 10),     // 31 days: new
  };
  const auto f = day_figures(visits, {}, may_1 + 9 * day);
  CHECK(n(f, "visitors") == 5);
  CHECK(n(f, "returning_visitors") == 2);
  CHECK(n(f, "new_visitors") == 3);
  CHECK(f.at("retain_rate").get<double>() == doctest::Approx(0.4));
  SiteThresholds short_window;
  short_window.returning_window_days = 5;
  CHECK(n(day_figures(visits, short_window, may_1 + 9 * day), "returning_visitors") == 0);
}

TEST_CASE("refer estimate: new visitors arriving and leaving with a returning one") {
  const TimeMs t = may_1 + 10 * hour;
  std::vector<Visit> visits = {
      visitor("ret", t - 2 * day, 10),
      visitor("ret", t, 30),                                         // returning today, 10:00-10:30
      visit("n1", t + 120'000, t + 30 * minute + 300'000),           // +120 s, +300 s: a pair (bounds included)
      visit("n2", t + 121'000, t + 30 * minute),                     // arrived 121 s later
      visit("n3", t - 60'000, t + 30 * minute + 301'000),            // left 301 s later
      visit("n4", t - 120'000, t + 30 * minute - 300'000),           // -120 s, -300 s: a pair
  };
  const auto f = day_figures(visits);
  CHECK(n(f, "returning_visitors") == 1);
  CHECK(n(f, "new_visitors") == 4);
  CHECK(n(f, "refer_estimate") == 2);
}

TEST_CASE("occupancy: both ends of a visit count, peak exact") {
  const TimeMs t = may_1 + 10 * hour;
  const auto f = day_figures({visitor("o1", t, 30), visitor("o2", t + 10 * minute, 10), visitor("o3", t + 20 * minute, 20)});
  CHECK(n(f, "peak_occupancy") == 3);
  CHECK(f.at("peak_occupancy_at") == "2024-05-01T10:20");
  const auto& occ = f.at("occupancy");
  CHECK(occ.size() == 288);
  const std::int64_t expected[] = {1, 1, 2, 2, 3, 2, 2, 1, 1, 0};  // 10:00, 10:05, ... 10:45
  for (int k = 0; k < 10; ++k) CHECK(occ.at(120 + k).at("devices") == expected[k]);
  CHECK(f.at("intervals").at(10).at("occupancy_max") == 3);
  CHECK(f.at("intervals").at(11).at("occupancy_max") == 0);
}

TEST_CASE("zone flow: consecutive zones of the strongest-zone path, entry and exit") {
  const TimeMs t = may_1 + 10 * hour;
  auto v = visitor("z1", t, 30);
  v.zones = {"entrance", "food", "shoes"};
  v.entry_zone = "entrance";
  v.exit_zone = "shoes";
  v.strongest_zone = {{t, "entrance"}, {t + minute, "entrance"}, {t + 2 * minute, "food"}, {t + 3 * minute, "shoes"}};
  auto w = visitor("z2", t, 30);
  w.zones = {"entrance", "food"};
  w.entry_zone = "entrance";
  w.exit_zone = "entrance";
  w.strongest_zone.clear();  // no path: the first-entered order
  const auto f = day_figures({v, w, visit("z3", t, t + minute, -80, 1, {"street"})});
  const auto& flow = f.at("zone_flow");
  CHECK(flow.at("transitions") ==
        json::parse(R"([{"from":"entrance","to":"food","count":2},{"from":"food","to":"shoes","count":1}])"));
  CHECK(flow.at("entry") == json::parse(R"([{"zone":"entrance","count":2}])"));
  CHECK(flow.at("exit") == json::parse(R"([{"zone":"entrance","count":1},{"zone":"shoes","count":1}])"));
}

TEST_CASE("revenue figures from the period's sales") {
  const TimeMs t = may_1 + 10 * hour;
  std::vector<Sale> sales = {{"acme", "mall-7", "s1", t, 30.0}, {"acme", "mall-7", "s2", t + hour, 20.0},
                             {"acme", "mall-7", "s3", may_1 + day, 99.0}};  // next day
  const auto f = day_figures({visitor("v1", t, 10), visitor("v2", t, 10), visitor("v3", t, 10), visitor("v4", t, 10)},
                             {}, may_1, sales);
  CHECK(n(f, "transactions") == 2);
  CHECK(f.at("revenue").get<double>() == doctest::Approx(50.0));
  CHECK(f.at("conversion").get<double>() == doctest::Approx(0.5));
  CHECK(f.at("revenue_per_visitor").get<double>() == doctest::Approx(12.5));
  const auto empty = day_figures({}, {}, may_1, {});
  CHECK(empty.at("conversion").is_null());
  CHECK(empty.at("capture_rate").is_null());
  CHECK(empty.at("peak_hour").is_null());
}

TEST_CASE("peak hour: the local hour with most visitor arrivals, earliest on a tie") {
  const TimeMs t = may_1;
  const auto f = day_figures({visitor("h1", t + 9 * hour, 10), visitor("h2", t + 14 * hour, 10),
                              visitor("h3", t + 14 * hour + 59 * minute, 10), visitor("h4", t + 17 * hour, 10),
                              visitor("h5", t + 17 * hour + minute, 10)});
  CHECK(f.at("peak_hour") == 14);
}

TEST_CASE("daily alerts: a drop past alert_drop against the same weekday of the four weeks before") {
  const TimeMs today = may_1 + 28 * day;
  auto site = [&](int visitors_today, int weeks_with_data) {
    std::vector<Visit> visits;
    for (int w = 4; w >= 1; --w) {
      if (w > weeks_with_data) continue;
      for (int i = 0; i < 10; ++i) visits.push_back(visitor("w" + std::to_string(w) + "-" + std::to_string(i),
                                                            today - w * 7 * day + 10 * hour + i * minute, 10));
    }
    for (int i = 0; i < visitors_today; ++i) {
      visits.push_back(visitor("t-" + std::to_string(i), today + 10 * hour + i * minute, 10));
    }
    return visits;
  };
  auto indicator = [](const std::vector<IndicatorAlert>& alerts, const std::string& name) {
    for (const auto& a : alerts) {
      if (a.indicator == name) return to_json(a);
    }
    return json();
  };
  CHECK(indicator(daily_alerts(site(7, 4), {}, {}, today), "acquisition").is_null());  // exactly -30 %: not past
  const auto raised = daily_alerts(site(6, 4), {}, {}, today);
  const auto a = indicator(raised, "acquisition");
  REQUIRE(a.is_object());
  CHECK(a.at("date") == "2024-05-29");
  CHECK(a.at("value").get<double>() == 6);
  CHECK(a.at("baseline").get<double>() == 10);
  CHECK(a.at("change").get<double>() == doctest::Approx(-0.4));
  CHECK(a.at("threshold").get<double>() == doctest::Approx(0.3));
  CHECK(a.at("baseline_dates").size() == 4);
  CHECK(indicator(raised, "awareness").is_object());
  CHECK(indicator(raised, "capture_rate").is_null());  // 1.0 as always
  CHECK(indicator(daily_alerts(site(6, 3), {}, {}, today), "acquisition").is_null());  // baseline of 3 days only
  SiteThresholds lenient;
  lenient.alert_min_baseline_days = 3;
  CHECK(indicator(daily_alerts(site(6, 3), {}, lenient, today), "acquisition").is_object());
}

TEST_CASE("overlap matrix: same pseudonym and epoch at both sites") {
  const TimeMs t = may_1 + 10 * hour;
  std::map<std::string, std::vector<Visit>> by_site = {
      {"a", {visitor("x", t, 10), visitor("y", t, 10), visit("q", t, t + minute, -80)}},
      {"b", {visitor("y", t + hour, 10), visitor("z", t, 10), visitor("x", t, 10, 2)}},
      {"c", {}}};
  const json m = to_json(overlap_matrix(by_site, may_1, may_1 + day, {}));
  CHECK(m.at("sites") == json::parse(R"(["a","b","c"])"));
  CHECK(m.at("visitors") == json::parse("[2,3,0]"));
  CHECK(m.at("shared") == json::parse("[[2,1,0],[1,3,0],[0,0,0]]"));
  CHECK(m.at("matrix")[0][1].get<double>() == doctest::Approx(0.5));
  CHECK(m.at("matrix")[1][0].get<double>() == doctest::Approx(1.0 / 3));
  CHECK(m.at("matrix")[2][0].is_null());
}

TEST_CASE("input order does not matter") {
  std::vector<Visit> visits;
  for (int i = 0; i < 200; ++i) {
    visits.push_back(visitor("s" + std::to_string(i % 37), may_1 - 3 * day + i * 37 * minute, 5 + i % 50));
  }
  std::vector<Visit> shuffled = visits;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(7));
  json a = period_figures(visits, {}, {}, Period::day, may_1);
  json b = period_figures(shuffled, {}, {}, Period::day, may_1);
  CHECK(a == b);
  CHECK(lookback_ms({}) == 31 * day);
}

TEST_CASE("hour, week and month periods: intervals and the period's visits only") {
  SiteThresholds thr;
  thr.utc_offset_min = 120;
  std::vector<Visit> visits = {visitor("k1", may_1 - 3 * hour, 10),       // local 30 Apr 23:00: April
                               visitor("k2", may_1 - 2 * hour, 10),       // local 1 May 00:00: May
                               visitor("k3", may_1 + 5 * day + 9 * hour, 10),
                               visitor("k4", may_1 + 30 * day + 21 * hour + 59 * minute, 10),  // local 31 May 23:59
                               visitor("k5", may_1 + 30 * day + 22 * hour, 10)};               // local 1 June
  const TimeMs month = period_start_containing(Period::month, may_1 + 10 * day, thr);
  CHECK(month == may_1 - 2 * hour);
  const auto m = period_figures(visits, {}, thr, Period::month, month);
  CHECK(m.at("period") == "month");
  CHECK(m.at("interval") == "day");
  CHECK(m.at("intervals").size() == 31);
  CHECK(m.at("visitors") == 3);
  CHECK(m.at("end_ms") == may_1 + 31 * day - 2 * hour);

  const TimeMs week = period_start_containing(Period::week, may_1 + 10 * hour, thr);
  const auto w = period_figures(visits, {}, thr, Period::week, week);
  CHECK(w.at("intervals").size() == 7);
  CHECK(w.at("local_start") == "2024-04-29T00:00");
  CHECK(w.at("visitors") == 2);  // k1 and k2 (Monday 29 April to Sunday 5 May)
  CHECK(w.at("intervals").at(1).at("visitors") == 1);  // k1 on Tuesday 30 April
  CHECK(w.at("intervals").at(2).at("visitors") == 1);  // k2 on Wednesday 1 May

  const auto h = period_figures(visits, {}, thr, Period::hour, period_start_containing(Period::hour, may_1 - 2 * hour, thr));
  CHECK(h.at("visitors") == 1);
  CHECK(h.at("intervals").size() == 1);
  CHECK(h.at("occupancy").size() == 12);
}
