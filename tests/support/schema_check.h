#pragma once
// A small JSON Schema checker for the keywords docs/schema uses (type, enum, properties, required,
// additionalProperties, items, anyOf, minimum, maximum, pattern, $ref into $defs). An unknown keyword is
// reported, so a schema cannot quietly outgrow the checker.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace footfall::test {

// Problems found, each with its JSON pointer; empty when the instance conforms.
std::vector<std::string> schema_problems(const nlohmann::json& schema, const nlohmann::json& instance);

}  // namespace footfall::test
