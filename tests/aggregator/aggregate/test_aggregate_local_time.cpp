// Local time in a named zone (Europe/Paris, from the system's tz database): both changes of the year.
// 2026-03-29: 02:00 CET becomes 03:00 CEST at 01:00 UTC (a day of 23 hours);
// 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC (a day of 25 hours).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>

#include "aggregator/aggregate/figures.h"
#include "aggregator/aggregate/local_time.h"
#include "aggregator/aggregate/report_document.h"
#include "tests/aggregator/aggregate/test_aggregate_visits.h"

using namespace footfall::aggregator;
using namespace footfall::aggregator::testing;
using nlohmann::json;

namespace {

// ms of a UTC date and hour.
TimeMs utc(int y, unsigned m, unsigned d, int h, int min = 0) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
  return day.time_since_epoch().count() * (24 * hour) + h * hour + min * minute;
}

SiteThresholds paris() {
  return SiteThresholds::from_json({{"time_zone", "Europe/Paris"}});
}

std::vector<Visit> sorted(std::vector<Visit> v) {
  std::sort(v.begin(), v.end(), [](const Visit& a, const Visit& b) { return a.arrival < b.arrival; });
  return v;
}

std::vector<std::string> starts_of(const json& intervals) {
  std::vector<std::string> out;
  for (const auto& i : intervals) out.push_back(i.at("start").get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("time zone: the system's tz database knows Europe/Paris") {
  if (find_time_zone("Europe/Paris") == nullptr) {
    FAIL("no Europe/Paris in the tz database: install tzdata (/usr/share/zoneinfo)");
  }
  CHECK(find_time_zone("Europe/Atlantis") == nullptr);
}

TEST_CASE("spring: the local day of 29 March 2026 lasts 23 hours") {
  const SiteThresholds thr = paris();
  const LocalClock clock = thr.clock();
  CHECK(clock.offset_ms(utc(2026, 3, 29, 0, 59)) == 60 * minute);
  CHECK(clock.offset_ms(utc(2026, 3, 29, 1)) == 120 * minute);
  const TimeMs start = period_start_containing(Period::day, utc(2026, 3, 29, 12), thr);
  CHECK(start == utc(2026, 3, 28, 23));
  CHECK(period_end(Period::day, start, thr) == utc(2026, 3, 29, 22));
  CHECK(clock.local_minute(utc(2026, 3, 29, 1)) == "2026-03-29T03:00");

  // 23:30 local (21:30 UTC) is still the 29th; 00:10 local on the 30th (22:10 UTC) is not.
  const auto visits = sorted({visitor("late", utc(2026, 3, 29, 21, 30), 10), visitor("next", utc(2026, 3, 29, 22, 10), 10),
                              visitor("early", utc(2026, 3, 28, 23, 5), 10)});
  const json f = period_figures(visits, {}, thr, Period::day, start);
  CHECK(f.at("visitors") == 2);
  CHECK(f.at("local_start") == "2026-03-29T00:00");
  CHECK(f.at("time_zone") == "Europe/Paris");
  CHECK(f.at("utc_offset_min") == 60);
  const auto starts = starts_of(f.at("intervals"));
  REQUIRE(starts.size() == 23);
  CHECK(starts[1] == "2026-03-29T01:00");
  CHECK(starts[2] == "2026-03-29T03:00");  // 02:00 does not exist
  CHECK(starts.back() == "2026-03-29T23:00");
  CHECK(f.at("intervals").at(0).at("visitors") == 1);
  CHECK(f.at("intervals").at(22).at("visitors") == 1);
  CHECK(f.at("peak_hour") == 0);
}

TEST_CASE("autumn: the local day of 25 October 2026 lasts 25 hours, 02:00 comes twice") {
  const SiteThresholds thr = paris();
  const TimeMs start = period_start_containing(Period::day, utc(2026, 10, 25, 12), thr);
  CHECK(start == utc(2026, 10, 24, 22));
  CHECK(period_end(Period::day, start, thr) == utc(2026, 10, 25, 23));

  // The two local 02:00 hours are two hours: each its own hour period.
  const TimeMs first = period_start_containing(Period::hour, utc(2026, 10, 25, 0, 30), thr);
  const TimeMs second = period_start_containing(Period::hour, utc(2026, 10, 25, 1, 30), thr);
  CHECK(first == utc(2026, 10, 25, 0));
  CHECK(second == utc(2026, 10, 25, 1));
  CHECK(period_end(Period::hour, first, thr) == second);

  const auto visits = sorted({visitor("cest", utc(2026, 10, 25, 0, 30), 10), visitor("cet", utc(2026, 10, 25, 1, 30), 10),
                              visitor("late", utc(2026, 10, 25, 22, 50), 5)});
  const json f = period_figures(visits, {}, thr, Period::day, start);
  CHECK(f.at("visitors") == 3);
  const json& intervals = f.at("intervals");
  REQUIRE(intervals.size() == 25);
  CHECK(intervals.at(2).at("start") == "2026-10-25T02:00");
  CHECK(intervals.at(2).at("utc_offset_min") == 120);
  CHECK(intervals.at(3).at("start") == "2026-10-25T02:00");
  CHECK(intervals.at(3).at("utc_offset_min") == 60);
  CHECK(intervals.at(2).at("visitors") == 1);
  CHECK(intervals.at(3).at("visitors") == 1);
  CHECK(intervals.at(24).at("start") == "2026-10-25T23:00");
  CHECK(intervals.at(24).at("visitors") == 1);
}

TEST_CASE("weeks and months across the changes start at local midnight") {
  const SiteThresholds thr = paris();
  // The week of Monday 23 March 2026 ends on Monday 30 March, local midnight in summer time: 167 hours.
  const TimeMs week = period_start_containing(Period::week, utc(2026, 3, 29, 12), thr);
  CHECK(week == utc(2026, 3, 22, 23));
  CHECK(period_end(Period::week, week, thr) == utc(2026, 3, 29, 22));
  const json wf = period_figures({}, {}, thr, Period::week, week);
  CHECK(starts_of(wf.at("intervals")) ==
        std::vector<std::string>{"2026-03-23T00:00", "2026-03-24T00:00", "2026-03-25T00:00", "2026-03-26T00:00",
                                 "2026-03-27T00:00", "2026-03-28T00:00", "2026-03-29T00:00"});
  // October: from 1 October in summer time to 1 November in winter time.
  const TimeMs october = period_start_containing(Period::month, utc(2026, 10, 31, 22, 30), thr);  // 23:30 local
  CHECK(october == utc(2026, 9, 30, 22));
  CHECK(period_end(Period::month, october, thr) == utc(2026, 10, 31, 23));
  const json mf = period_figures({}, {}, thr, Period::month, october);
  REQUIRE(mf.at("intervals").size() == 31);
  CHECK(mf.at("intervals").at(30).at("start") == "2026-10-31T00:00");
  CHECK(period_start_containing(Period::month, utc(2026, 3, 1, 0), thr) == utc(2026, 2, 28, 23));
  CHECK(period_end(Period::month, utc(2026, 2, 28, 23), thr) == utc(2026, 3, 31, 22));
}

TEST_CASE("a zone whose midnight is skipped: the day starts when the clocks jump") {
  // America/Santiago moves from -04 to -03 at local midnight (2026-09-06 00:00 -> 01:00).
  const date::time_zone* zone = find_time_zone("America/Santiago");
  if (zone == nullptr) {
    MESSAGE("skipped: no America/Santiago in the tz database");
    return;
  }
  const LocalClock clock(*zone);
  const std::int32_t day = clock.day_of(utc(2026, 9, 6, 12));
  CHECK(LocalClock::date(day) == "2026-09-06");
  CHECK(clock.day_start(day) == utc(2026, 9, 6, 4));
  CHECK(clock.local_minute(clock.day_start(day)) == "2026-09-06T01:00");
  CHECK(clock.day_of(clock.day_start(day) - 1) == day - 1);
  CHECK(clock.day_start(day + 1) - clock.day_start(day) == 23 * hour);
}

TEST_CASE("report document over both changes: days of 23 and 25 hours, as many hourly rows") {
  const SiteThresholds thr = paris();
  for (const auto& [from, to, first_length, hours] :
       {std::tuple{utc(2026, 3, 27, 23), utc(2026, 3, 30, 22), 23.0, 71}, std::tuple{utc(2026, 10, 23, 22), utc(2026, 10, 26, 23), 25.0, 73}}) {
    CAPTURE(from);
    const std::vector<Visit> visits =
        sorted({visitor("a", from + 30 * minute, 10), visitor("b", to - 30 * minute, 10)});
    const ReportDocument doc = report_document(visits, {}, thr, from, to, "acme", "mall-7");
    const json j = to_json(doc);
    REQUIRE(j.at("days").size() == 3);
    CHECK(j.at("days").at(0).at("length_h") == 24.0);
    CHECK(j.at("days").at(1).at("length_h") == first_length);
    CHECK(j.at("days").at(2).at("length_h") == 24.0);
    CHECK(j.at("days").at(0).at("visitors") == 1);
    CHECK(j.at("days").at(2).at("visitors") == 1);
    CHECK(j.at("hours").size() == static_cast<std::size_t>(hours));
    CHECK(j.at("time_zone") == "Europe/Paris");
    CHECK(j.at("thresholds").at("time_zone") == "Europe/Paris");
    CHECK_FALSE(j.at("thresholds").contains("utc_offset_min"));
    CHECK(SiteThresholds::from_json(j.at("thresholds")).time_zone == "Europe/Paris");
  }
}

TEST_CASE("thresholds: time_zone or utc_offset_min, errors name the key") {
  const auto error_of = [](const json& j) {
    try {
      (void)SiteThresholds::from_json(j);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error_of({{"time_zone", "Europe/Atlantis"}}).starts_with("thresholds: time_zone: unknown time zone"));
  CHECK(error_of({{"time_zone", 1}}).starts_with("thresholds: time_zone: "));
  CHECK(error_of({{"time_zone", "Europe/Paris"}, {"utc_offset_min", 60}}).starts_with("thresholds: utc_offset_min: "));
  CHECK(error_of({{"utc_offset_min", 60}}).empty());
  // A fixed offset keeps working: no summer time.
  SiteThresholds fixed;
  fixed.utc_offset_min = 60;
  CHECK(period_end(Period::day, period_start_containing(Period::day, utc(2026, 10, 25, 12), fixed), fixed) -
            period_start_containing(Period::day, utc(2026, 10, 25, 12), fixed) ==
        24 * hour);
  SiteThresholds unknown;
  unknown.time_zone = "Mars/Olympus";
  CHECK_THROWS_AS((void)unknown.clock(), std::invalid_argument);
}
