// libFuzzer entry for the aggregator's feed payload parser: one selector byte picks the feed (visits, presence,
// probes, sales; modulo 4), the rest is the payload. Any input must give a batch or a reason, never a crash; a
// payload that parses must conform to its published schema, and its visits must hold what the schema cannot
// say (departure not before arrival, dwell within the visit), since whatever parses is stored.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "aggregator/ingest/feed_schema.h"
#include "aggregator/ingest/payload_parser.h"

using namespace footfall::aggregator;

namespace {

void require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

constexpr FeedKind kFeeds[] = {FeedKind::visits, FeedKind::presence, FeedKind::probes, FeedKind::sales};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const FeedKind kind = kFeeds[data[0] % 4];
  const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  const TopicAddress where{"acme", "mall-7", kind};
  const ParseResult r = parse_payload(where, payload, 1u << 20);
  if (const auto* bad = std::get_if<ParseError>(&r)) {
    require(!bad->reason.empty() && !bad->detail.empty(), "a refusal without reason or detail");
    return 0;
  }
  const IngestBatch& b = std::get<IngestBatch>(r);
  require(b.kind == kind, "batch of another feed");
  require(b.tenant == "acme" && b.site == "mall-7", "batch of another site than its topic's");
  const auto doc = nlohmann::json::parse(payload, nullptr, false);
  require(!doc.is_discarded(), "parsed a payload that is not JSON");
  require(!feed_schema(kind).check(doc), "parsed a payload its schema forbids");
  for (const Visit& v : b.visits) {
    require(v.departure >= v.arrival, "a visit that departs before it arrives");
    require(v.dwell_s >= 0 && v.dwell_s <= static_cast<double>(v.departure - v.arrival) / 1000.0 + 0.001,
            "a dwell outside the visit");
    require(!v.visit_id.empty(), "a visit without id");
  }
  return 0;
}
