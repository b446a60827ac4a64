// The sales, metrics and alerts schemas against their examples and against messages built by the code.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "aggregator/ingest/iso_time.h"
#include "aggregator/ingest/payload_parser.h"
#include "aggregator/publish/figures_publisher.h"
#include "aggregator/publish/occupancy_publisher.h"
#include "tests/support/schema_check.h"

using namespace footfall::aggregator;

namespace {

nlohmann::json doc(const std::string& rel) {
  std::ifstream in(std::string(FOOTFALL_SOURCE_DIR) + "/docs/schema/" + rel);
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

void conforms(const nlohmann::json& schema, const nlohmann::json& instance) {
  const auto problems = footfall::test::schema_problems(schema, instance);
  for (const auto& p : problems) MESSAGE(p);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("examples conform to the aggregator's schemas") {
  conforms(doc("sales.schema.json"), doc("examples/sales.json"));
  conforms(doc("metrics.schema.json"), doc("examples/metrics-day.json"));
  conforms(doc("alerts.schema.json"), doc("examples/alerts.json"));
}

TEST_CASE("messages the publisher builds conform") {
  const IngestBatch b = std::get<IngestBatch>(parse_payload(
      "footfall/v1/acme/mall-7/visits", doc("examples/visits.json").dump()));
  const SiteThresholds thr = SiteThresholds::from_json({{"utc_offset_min", 120}});
  const SiteKey site{"acme", "mall-7"};
  const TimeMs now = *parse_iso8601_utc("2024-05-01T10:16:00.031Z");
  for (const Period p : {Period::hour, Period::day, Period::week, Period::month}) {
    const TimeMs start = period_start_containing(p, now, thr);
    const auto msg = metrics_message(site, p, start, period_end(p, start, thr), now, false,
                                     period_figures(b.visits, {}, thr, p, start));
    conforms(doc("metrics.schema.json"), msg);
    CHECK(metrics_topic(site, p) == std::string("footfall/v1/acme/mall-7/metrics/") + period_name(p));
  }
  CHECK(metrics_message(site, Period::day, 0, 0, 0, false, {})["start"] == "1970-01-01T00:00:00.000Z");
  conforms(doc("alerts.schema.json"),
           alert_message(site, now, now, {{"indicator", "visitors"}, {"value", 1}, {"baseline", 10}}));
  CHECK(alerts_topic(site) == "footfall/v1/acme/mall-7/alerts");
}

TEST_CASE("occupancy: the retained message conforms; never older than what was published; refused, sent again") {
  conforms(doc("occupancy.schema.json"), doc("examples/occupancy.json"));
  const IngestBatch b = std::get<IngestBatch>(parse_payload(
      "footfall/v1/acme/mall-7/presence", doc("examples/presence.json").dump()));
  REQUIRE(b.occupancy);
  const SiteKey site{"acme", "mall-7"};
  const TimeMs now = *parse_iso8601_utc("2024-05-01T10:15:05.912Z");
  const nlohmann::json msg = occupancy_message(*b.occupancy, now);
  conforms(doc("occupancy.schema.json"), msg);
  CHECK(msg == doc("examples/occupancy.json"));
  CHECK(occupancy_topic(site) == "footfall/v1/acme/mall-7/occupancy");

  std::vector<std::pair<std::string, nlohmann::json>> sent;
  bool accept = true;
  OccupancyPublisher publisher([&](const std::string& topic, const std::string& payload, bool retained) {
    CHECK(retained);
    if (accept) sent.emplace_back(topic, nlohmann::json::parse(payload));
    return accept;
  });
  OccupancySample first = *b.occupancy;
  OccupancySample later = first;
  later.at += 5'000;
  later.total = 12;
  OccupancySample other = first;
  other.site = "mall-8";
  publisher.publish({{site, later}, {{"acme", "mall-8"}, other}}, now);
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].second.at("total") == 12);
  CHECK(sent[1].first == "footfall/v1/acme/mall-8/occupancy");
  publisher.publish({{site, first}}, now);  // a batch redelivered late: the retained value does not go back
  CHECK(sent.size() == 2);
  CHECK(publisher.counters().older == 1);
  accept = false;
  OccupancySample newer = later;
  newer.at += 1'000;
  newer.total = 13;
  publisher.publish({{site, newer}}, now);
  CHECK(publisher.counters().refused == 1);
  accept = true;
  publisher.publish({}, now + 1'000);  // the refused one goes out on the next call
  REQUIRE(sent.size() == 3);
  CHECK(sent[2].second.at("total") == 13);
  CHECK(publisher.counters().published == 3);
}
