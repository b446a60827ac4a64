#pragma once
// The published payload schemas (docs/schema/{visits,presence,probes,sales}.schema.json, compiled into the
// program) as a validator, without I/O. It knows the keywords the schemas use: type, required, properties,
// additionalProperties, items, anyOf, enum, minimum, maximum, pattern (anchored; classes, literals, '.', and the
// quantifiers ? * + {n} {n,} {n,m}) and $ref into $defs; format date-time is checked by its pattern here and
// by the parser's calendar. A schema with any other keyword or pattern syntax does not compile, so a schema
// change cannot silently outrun the validator.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "aggregator/ingest/ingest_batch.h"

namespace footfall::aggregator {

// The subset of ECMA-262 regular expressions the schemas use, matched on code points in linear time.
class SchemaPattern {
 public:
  // nullopt when the pattern uses syntax outside the subset.
  static std::optional<SchemaPattern> compile(std::string_view pattern);
  [[nodiscard]] bool matches(std::string_view utf8) const;

 private:
  struct Atom {
    std::vector<std::pair<char32_t, char32_t>> ranges;  // empty with any: '.'
    bool any = false;
    std::uint32_t min = 1;
    std::uint32_t max = 1;  // kUnbounded for * and +
  };
  static constexpr std::uint32_t kUnbounded = 0xffffffffu;
  std::vector<Atom> atoms_;
  std::vector<std::uint32_t> first_state_;  // state index of (atom i, count 0); the last entry is "matched"
};

struct SchemaViolation {
  std::string keyword;  // the rule broken: required, type, anyOf, enum, minimum, maximum, pattern, additionalProperties
  std::string path;     // "visits[3].dwell_s"; "" for the payload itself
  std::string detail;   // "-900 is below the minimum 0"
  bool timestamp = false;  // the value is where the schema wants a date-time
};

class JsonSchema {
 public:
  // Throws std::invalid_argument naming where the schema uses what the validator does not know.
  explicit JsonSchema(const nlohmann::json& schema);
  ~JsonSchema();
  JsonSchema(JsonSchema&&) noexcept;
  JsonSchema& operator=(JsonSchema&&) noexcept;

  // The first violation found, or nullopt when value conforms.
  [[nodiscard]] std::optional<SchemaViolation> check(const nlohmann::json& value) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

// The schema text of a feed as published in docs/schema (status has none here: it is not a batch).
std::string_view feed_schema_text(FeedKind kind);
// The compiled schema of a feed, built on first use. Throws std::invalid_argument as JsonSchema does.
const JsonSchema& feed_schema(FeedKind kind);

}  // namespace footfall::aggregator
