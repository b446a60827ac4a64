#include "tests/support/schema_check.h"

#include <regex>
#include <set>

namespace footfall::test {
namespace {

using nlohmann::json;

const std::set<std::string> kKnown{"$schema", "$id", "$defs", "title", "description", "format", "type", "enum",
                                   "properties", "required", "additionalProperties", "items", "anyOf",
                                   "minimum", "maximum", "pattern", "$ref"};

bool has_type(const json& v, const std::string& t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "integer") return v.is_number_integer();
  if (t == "number") return v.is_number();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  return false;
}

void check(const json& root, const json& s, const json& v, const std::string& at, std::vector<std::string>& out) {
  for (const auto& [key, value] : s.items())
    if (!kKnown.count(key)) out.push_back(at + ": schema keyword '" + key + "' is not supported by the checker");
  if (s.contains("$ref")) {
    const std::string ref = s["$ref"].get<std::string>();
    const std::string prefix = "#/$defs/";
    if (ref.rfind(prefix, 0) != 0 || !root["$defs"].contains(ref.substr(prefix.size()))) {
      out.push_back(at + ": unresolved $ref " + ref);
      return;
    }
    check(root, root["$defs"][ref.substr(prefix.size())], v, at, out);
  }
  if (s.contains("type")) {
    bool ok = false;
    if (s["type"].is_string()) ok = has_type(v, s["type"]);
    else for (const auto& t : s["type"]) ok = ok || has_type(v, t);
    if (!ok) {
      out.push_back(at + ": expected type " + s["type"].dump() + ", got " + v.dump());
      return;
    }
  }
  if (s.contains("enum")) {
    bool ok = false;
    for (const auto& e : s["enum"]) ok = ok || e == v;
    if (!ok) out.push_back(at + ": " + v.dump() + " not in " + s["enum"].dump());
  }
  if (s.contains("anyOf")) {
    bool ok = false;
    for (const auto& alt : s["anyOf"]) {
      std::vector<std::string> sub;
      check(root, alt, v, at, sub);
      ok = ok || sub.empty();
    }
    if (!ok) out.push_back(at + ": matches no alternative of anyOf");
  }
  if (v.is_number()) {
    if (s.contains("minimum") && v.get<double>() < s["minimum"].get<double>()) out.push_back(at + ": below minimum");
    if (s.contains("maximum") && v.get<double>() > s["maximum"].get<double>()) out.push_back(at + ": above maximum");
  }
  if (v.is_string() && s.contains("pattern")) {
    if (!std::regex_search(v.get<std::string>(), std::regex(s["pattern"].get<std::string>())))
      out.push_back(at + ": " + v.dump() + " does not match " + s["pattern"].get<std::string>());
  }
  if (v.is_object()) {
    if (s.contains("required"))
      for (const auto& r : s["required"])
        if (!v.contains(r.get<std::string>())) out.push_back(at + ": missing required '" + r.get<std::string>() + "'");
    for (const auto& [key, value] : v.items()) {
      const std::string where = at + "/" + key;
      if (s.contains("properties") && s["properties"].contains(key)) {
        check(root, s["properties"][key], value, where, out);
      } else if (s.contains("additionalProperties")) {
        const json& extra = s["additionalProperties"];
        if (extra.is_boolean()) {
          if (!extra.get<bool>()) out.push_back(where + ": not allowed");
        } else {
          check(root, extra, value, where, out);
        }
      }
    }
  }
  if (v.is_array() && s.contains("items"))
    for (std::size_t i = 0; i < v.size(); ++i) check(root, s["items"], v[i], at + "/" + std::to_string(i), out);
}

}  // namespace

std::vector<std::string> schema_problems(const nlohmann::json& schema, const nlohmann::json& instance) {
  std::vector<std::string> out;
  check(schema, schema, instance, "", out);
  return out;
}

}  // namespace footfall::test
