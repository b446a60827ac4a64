#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "aggregator/aggregate/figures.h"
#include "aggregator/aggregate/report_document.h"
#include "tests/aggregator/aggregate/test_aggregate_visits.h"
#include "tests/support/schema_check.h"

using namespace footfall::aggregator;
using namespace footfall::aggregator::testing;
using nlohmann::json;

namespace {

// Two weeks from Wednesday 1 May 2024 at UTC+2, with four Wednesdays of baseline before.
struct Scenario {
  SiteThresholds thr;
  std::vector<Visit> visits;
  std::vector<Sale> sales;
  TimeMs from = may_1 - 2 * hour;            // local 2024-05-01 00:00
  TimeMs to = may_1 + 14 * day - 2 * hour;   // local 2024-05-15 00:00

  Scenario() {
    thr.utc_offset_min = 120;
    for (int w = 4; w >= 1; --w) {
      for (int i = 0; i < 10; ++i) {
        visits.push_back(visitor("b" + std::to_string(w) + "x" + std::to_string(i), may_1 - w * 7 * day + 8 * hour + i * minute, 10));
      }
    }
    visits.push_back(visitor("c1", may_1 + 8 * hour, 10));              // new on Wed 1 May ...
    visits.push_back(visitor("c2", may_1 + day + 8 * hour, 40));        // new on Thu 2 May, never back
    visits.push_back(visitor("c1", may_1 + 2 * day + 8 * hour, 10));    // ... back on Fri 3 May
    visits.push_back(visitor("c3", may_1 + 5 * day + 8 * hour, 10));    // new on Mon 6 May: next cohort
    visits.push_back(visit("p1", may_1 + 8 * hour, may_1 + 8 * hour + minute, -85));  // a passer-by
    visits.push_back(visitor("c1", may_1 + 13 * day + 21 * hour + 30 * minute, 10));  // local Tue 14 May 23:30
    std::sort(visits.begin(), visits.end(), [](const Visit& a, const Visit& b) { return a.arrival < b.arrival; });
    sales = {{"acme", "mall-7", "s1", may_1 + 9 * hour, 12.5}};
  }
};

json schema() {
  std::ifstream in(FOOTFALL_SOURCE_DIR "/docs/schema/report-document.schema.json");
  REQUIRE(in.good());
  return json::parse(in);
}

}  // namespace

TEST_CASE("report document: conforms to docs/schema/report-document.schema.json") {
  const Scenario s;
  const json doc = to_json(report_document(s.visits, s.sales, s.thr, s.from, s.to, "acme", "mall-7"));
  const auto problems = footfall::test::schema_problems(schema(), doc);
  for (const auto& p : problems) MESSAGE(p);
  CHECK(problems.empty());
  CHECK(doc.at("format") == "footfall-report/1");
  CHECK(doc.at("from") == "2024-05-01");
  CHECK(doc.at("to") == "2024-05-15");
  CHECK(doc.at("last_day") == "2024-05-14");
  CHECK(doc.at("days").size() == 14);
  CHECK(doc.at("hours").size() == 14 * 24);
  CHECK(doc.at("hours").at(0).at("start") == "2024-05-01T00:00");
  CHECK(doc.at("overlap").is_null());
  // 14 days of 5-minute samples are 4032: merged by two to stay within 2016 points.
  CHECK(doc.at("occupancy").size() == 2016);
  CHECK(doc.at("occupancy_step_s") == 600);
}

TEST_CASE("report document: summary, days, funnel and cohorts agree with the visits") {
  const Scenario s;
  const json doc = to_json(report_document(s.visits, s.sales, s.thr, s.from, s.to, "acme", "mall-7"));
  const auto& sum = doc.at("summary");
  CHECK(sum.at("awareness") == 4);
  CHECK(sum.at("visitors") == 3);
  CHECK(sum.at("visitor_visits") == 5);
  CHECK(sum.at("passers_by") == 1);
  CHECK(sum.at("activation") == 1);  // c2's 40 minutes
  CHECK(sum.at("transactions") == 1);
  CHECK(sum.at("returning_visitors") == 1);  // c1, back on 3 May
  CHECK(sum.at("new_visitors") == 2);
  CHECK(doc.at("funnel").at(1).at("value") == 3);
  CHECK(doc.at("funnel").at(2).at("rate").get<double>() == doctest::Approx(1.0 / 3));
  CHECK(doc.at("frequency") == json::parse(R"([{"visits":1,"devices":2},{"visits":3,"devices":1}])"));

  const auto& days = doc.at("days");
  CHECK(days.at(0).at("date") == "2024-05-01");
  CHECK(days.at(0).at("visitors") == 1);
  CHECK(days.at(2).at("returning_visitors") == 1);  // c1 on 3 May
  CHECK(days.at(13).at("visitors") == 1);           // 23:30 local on 14 May, 21:30 UTC
  CHECK(days.at(13).at("peak_hour") == 23);
  CHECK(doc.at("new_vs_returning").at(2) == json::parse(R"({"date":"2024-05-03","new":0,"returning":1})"));

  const auto& cohorts = doc.at("retention").at("cohorts");
  REQUIRE(cohorts.size() == 2);
  CHECK(cohorts.at(0).at("cohort") == "2024-04-29");
  CHECK(cohorts.at(0).at("visitors") == 2);
  CHECK(cohorts.at(0).at("returned") == 1);
  CHECK(cohorts.at(0).at("rate").get<double>() == doctest::Approx(0.5));
  CHECK(cohorts.at(0).at("complete") == false);
  CHECK(cohorts.at(1).at("cohort") == "2024-05-06");
  CHECK(cohorts.at(1).at("visitors") == 1);
  CHECK(cohorts.at(1).at("returned") == 0);

  // Wednesday 1 May: one visitor against ten on each of the four Wednesdays before.
  bool raised = false;
  for (const auto& a : doc.at("alerts")) {
    if (a.at("indicator") == "acquisition" && a.at("date") == "2024-05-01") {
      raised = true;
      CHECK(a.at("baseline").get<double>() == 10);
    }
  }
  CHECK(raised);
  // The same alerts as daily_alerts for the day.
  const auto direct = daily_alerts(s.visits, s.sales, s.thr, s.from);
  std::size_t on_first_day = 0;
  for (const auto& a : doc.at("alerts")) on_first_day += a.at("date") == "2024-05-01" ? 1U : 0U;
  CHECK(direct.size() == on_first_day);
}

TEST_CASE("report document: no visits at all") {
  const json doc = to_json(report_document({}, {}, {}, may_1, may_1 + day, "acme", "empty"));
  CHECK(footfall::test::schema_problems(schema(), doc).empty());
  CHECK(doc.at("summary").at("awareness") == 0);
  CHECK(doc.at("summary").at("capture_rate").is_null());
  CHECK(doc.at("alerts").empty());
  CHECK(doc.at("dwell_histogram").size() == 6);
}
