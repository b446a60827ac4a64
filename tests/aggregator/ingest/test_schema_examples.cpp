// The sales, metrics and alerts schemas against their examples and against messages built by the code.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "aggregator/ingest/iso_time.h"
#include "aggregator/ingest/payload_parser.h"
#include "aggregator/publish/figures_publisher.h"
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
