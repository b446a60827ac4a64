#pragma once
// Feed payloads -> model records, without I/O: topic and JSON text in, an IngestBatch or a ParseError out.
// A malformed payload is a value (reason + detail), never an exception: the caller counts it by reason and
// goes on. Every payload is checked against its schema (docs/schema/{visits,presence,probes,sales}.schema.json,
// see feed_schema.h) and against the rules a schema cannot say (a departure not before the arrival, a dwell no
// longer than the visit): a payload that breaks any of them is refused whole, so nothing a schema forbids is
// stored. Members a schema does not name are ignored where it allows them (additionalProperties).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "aggregator/ingest/ingest_batch.h"

namespace footfall::aggregator {

// Stable reasons, used as counter keys.
namespace parse_reason {
inline constexpr std::string_view bad_topic = "bad_topic";            // not footfall/v1/{tenant}/{site}/{leaf}
inline constexpr std::string_view too_large = "too_large";            // payload beyond max_payload_bytes
inline constexpr std::string_view not_json = "not_json";
inline constexpr std::string_view not_object = "not_object";
inline constexpr std::string_view missing_member = "missing_member";
inline constexpr std::string_view wrong_type = "wrong_type";           // a member of the wrong type
inline constexpr std::string_view out_of_range = "out_of_range";       // below a schema's minimum, above its maximum
inline constexpr std::string_view bad_pattern = "bad_pattern";         // a string outside its schema pattern
inline constexpr std::string_view not_allowed = "not_allowed";         // a value outside its schema enum
inline constexpr std::string_view unknown_member = "unknown_member";   // a member where the schema allows no other
inline constexpr std::string_view inconsistent = "inconsistent";       // members that contradict each other
inline constexpr std::string_view bad_timestamp = "bad_timestamp";
inline constexpr std::string_view topic_mismatch = "topic_mismatch";   // tenant/site of the payload != topic's
}  // namespace parse_reason

struct ParseError {
  std::string reason;  // one of parse_reason
  std::string detail;  // where: "visits[3].arrival: expected an ISO-8601 UTC timestamp"
};

using ParseResult = std::variant<IngestBatch, ParseError>;

inline constexpr std::size_t kMaxPayloadBytes = 16u << 20;

// "footfall/v1/{tenant}/{site}/{visits|presence|probes|sales|status}"; nullopt for anything else.
std::optional<TopicAddress> parse_topic(std::string_view topic);
// Is text a valid topic level for tenant / site: 1..64 of [A-Za-z0-9_.-].
bool valid_level(std::string_view text);

// Parses the payload of a message received on topic. status is not a batch: it yields bad_topic.
ParseResult parse_payload(std::string_view topic, std::string_view payload,
                          std::size_t max_payload_bytes = kMaxPayloadBytes);
ParseResult parse_payload(const TopicAddress& where, std::string_view payload,
                          std::size_t max_payload_bytes = kMaxPayloadBytes);

}  // namespace footfall::aggregator
