#include "aggregator/ingest/feed_schema.h"

#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace footfall::aggregator {

namespace {

using nlohmann::json;

// One UTF-8 code point from text at i (advancing i); a byte that starts no valid sequence stands for itself.
char32_t next_code_point(std::string_view text, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  std::size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xe ? 3 : (b0 >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || i + len > text.size()) {
    ++i;
    return b0;
  }
  char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1f) : len == 3 ? (b0 & 0x0f) : (b0 & 0x07);
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) {
      ++i;
      return b0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  i += len;
  return cp;
}

bool is_line_terminator(char32_t c) { return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029; }

}  // namespace

// --- patterns ---------------------------------------------------------------------------------------------

std::optional<SchemaPattern> SchemaPattern::compile(std::string_view p) {
  if (p.size() < 2 || p.front() != '^' || p.back() != '$') return std::nullopt;  // only anchored patterns
  p = p.substr(1, p.size() - 2);
  if (!p.empty() && p.back() == '\\') return std::nullopt;  // the '$' was escaped
  SchemaPattern out;
  std::size_t i = 0;
  const auto special = [](char c) { return std::string_view("()|*+?{}[]^$\\.").find(c) != std::string_view::npos; };
  const auto read_literal = [&](char32_t& c) -> bool {  // one class member or literal, escapes resolved
    if (p[i] == '\\') {
      if (i + 1 >= p.size()) return false;
      const char e = p[i + 1];
      if (!special(e) && e != '-' && e != '/') return false;  // \d, \w, \s, \b ...: not in the subset
      c = static_cast<unsigned char>(e);
      i += 2;
      return true;
    }
    c = next_code_point(p, i);
    return true;
  };
  while (i < p.size()) {
    Atom atom;
    if (p[i] == '[') {
      ++i;
      if (i < p.size() && p[i] == '^') return std::nullopt;  // negated classes: not in the subset
      while (i < p.size() && p[i] != ']') {
        char32_t lo = 0;
        if (!read_literal(lo)) return std::nullopt;
        char32_t hi = lo;
        if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
          ++i;
          if (!read_literal(hi) || hi < lo) return std::nullopt;
        }
        atom.ranges.emplace_back(lo, hi);
      }
      if (i >= p.size() || atom.ranges.empty()) return std::nullopt;
      ++i;  // ']'
    } else if (p[i] == '.') {
      atom.any = true;
      ++i;
    } else if (p[i] == '\\' || !special(p[i])) {
      char32_t c = 0;
      if (!read_literal(c)) return std::nullopt;
      atom.ranges.emplace_back(c, c);
    } else {
      return std::nullopt;  // groups, alternation, a quantifier with nothing before it, inner anchors
    }
    if (i < p.size()) {
      const char q = p[i];
      if (q == '?' || q == '*' || q == '+') {
        atom.min = q == '+' ? 1 : 0;
        atom.max = q == '?' ? 1 : kUnbounded;
        ++i;
      } else if (q == '{') {
        const auto close = p.find('}', i);
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view body = p.substr(i + 1, close - i - 1);
        const auto comma = body.find(',');
        const auto number = [](std::string_view s, std::uint32_t& n) {
          if (s.empty() || s.size() > 6) return false;
          n = 0;
          for (char c : s) {
            if (c < '0' || c > '9') return false;
            n = n * 10 + static_cast<std::uint32_t>(c - '0');
          }
          return true;
        };
        if (!number(body.substr(0, comma), atom.min)) return std::nullopt;
        if (comma == std::string_view::npos) atom.max = atom.min;
        else if (comma + 1 == body.size()) atom.max = kUnbounded;
        else if (!number(body.substr(comma + 1), atom.max) || atom.max < atom.min) return std::nullopt;
        i = close + 1;
      }
      if (i < p.size() && (p[i] == '?' || p[i] == '*' || p[i] == '+' || p[i] == '{'))
        return std::nullopt;  // lazy or stacked quantifiers
    }
    out.atoms_.push_back(std::move(atom));
  }
  std::uint32_t states = 0;
  for (const Atom& a : out.atoms_) {
    out.first_state_.push_back(states);
    states += (a.max == kUnbounded ? a.min : a.max) + 1;
  }
  out.first_state_.push_back(states);
  return out;
}

bool SchemaPattern::matches(std::string_view text) const {
  // A set of (atom, repetitions so far) states advanced one code point at a time: no backtracking.
  const std::size_t n = first_state_.back() + 1;
  // Scratch kept per thread: a payload has thousands of strings to match.
  thread_local std::vector<std::uint8_t> on;
  thread_local std::vector<std::uint8_t> next;
  thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> live;
  thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> live_next;
  on.assign(n, 0);
  next.assign(n, 0);
  live.clear();
  live_next.clear();
  const auto enter = [&](std::vector<std::uint8_t>& set, std::vector<std::pair<std::uint32_t, std::uint32_t>>& list,
                         std::uint32_t atom, std::uint32_t count) {
    while (true) {
      const std::uint32_t s = first_state_[atom] + count;
      if (set[s]) return;
      set[s] = 1;
      list.emplace_back(atom, count);
      if (atom == atoms_.size() || count < atoms_[atom].min) return;
      ++atom;  // enough repetitions: the next atom may start
      count = 0;
    }
  };
  enter(on, live, 0, 0);
  std::size_t i = 0;
  while (i < text.size()) {
    if (live.empty()) return false;
    const char32_t c = next_code_point(text, i);
    for (const auto& [atom, count] : live) {
      if (atom == atoms_.size()) continue;
      const Atom& a = atoms_[atom];
      if (a.max != kUnbounded && count >= a.max) continue;
      bool hit = a.any ? !is_line_terminator(c) : false;
      for (const auto& [lo, hi] : a.ranges) hit = hit || (c >= lo && c <= hi);
      if (!hit) continue;
      enter(next, live_next, atom, a.max == kUnbounded ? std::min(count + 1, a.min) : count + 1);
    }
    for (const auto& [atom, count] : live) on[first_state_[atom] + count] = 0;
    live.clear();
    std::swap(on, next);
    std::swap(live, live_next);
  }
  return on[first_state_.back()] != 0;
}

// --- schemas -----------------------------------------------------------------------------------------------

namespace {

enum TypeBit : unsigned { t_object = 1, t_array = 2, t_string = 4, t_integer = 8, t_number = 16, t_boolean = 32,
                          t_null = 64 };

unsigned type_bit(const std::string& name) {
  if (name == "object") return t_object;
  if (name == "array") return t_array;
  if (name == "string") return t_string;
  if (name == "integer") return t_integer;
  if (name == "number") return t_number;
  if (name == "boolean") return t_boolean;
  if (name == "null") return t_null;
  return 0;
}

bool has_type(unsigned types, const json& v) {
  if (v.is_object()) return types & t_object;
  if (v.is_array()) return types & t_array;
  if (v.is_string()) return types & t_string;
  if (v.is_boolean()) return types & t_boolean;
  if (v.is_null()) return types & t_null;
  if (v.is_number_integer()) return types & (t_integer | t_number);
  if (v.is_number_float()) return (types & t_number) && std::isfinite(v.get<double>());
  return false;
}

std::string type_names(unsigned types) {
  std::string out;
  for (const char* name : {"object", "array", "string", "integer", "number", "boolean", "null"}) {
    if (!(types & type_bit(name))) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return "expected " + (out.empty() ? std::string("nothing") : out);
}

std::string number_text(double d) {
  json j = d;
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) j = static_cast<std::int64_t>(d);
  return j.dump();
}

// Where a value sits, built into a string only when something is wrong there.
struct PathLink {
  const PathLink* parent = nullptr;
  std::string_view key;  // a member name, or empty with an index
  std::size_t index = 0;
  bool is_index = false;
};

std::string render(const PathLink* at) {
  std::vector<const PathLink*> chain;
  for (; at != nullptr; at = at->parent) chain.push_back(at);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const PathLink& l = **it;
    if (l.is_index) {
      out += "[" + std::to_string(l.index) + "]";
      continue;
    }
    if (!out.empty()) out += '.';
    // A member name comes from the sender: keep the log line short and printable.
    for (std::size_t i = 0; i < l.key.size() && i < 64; ++i) {
      const char c = l.key[i];
      out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    if (l.key.size() > 64) out += "...";
  }
  return out;
}

}  // namespace

struct JsonSchema::Compiled {
  struct Node {
    int ref = -1;
    unsigned types = 0;  // 0: any
    std::vector<std::string> required;
    std::map<std::string, int, std::less<>> properties;
    bool extra_allowed = true;
    int extra = -1;  // additionalProperties as a schema
    int items = -1;
    std::vector<int> any_of;
    std::optional<json> enumeration;
    std::optional<double> minimum;
    std::optional<double> maximum;
    std::optional<SchemaPattern> pattern;
    std::string pattern_text;
    bool date_time = false;
  };
  std::vector<Node> nodes;
  std::map<std::string, int> defs;

  int compile(const json& root, const json& s, const std::string& at);
  std::optional<SchemaViolation> check(int node, const json& v, const PathLink* at) const;
};

int JsonSchema::Compiled::compile(const json& root, const json& s, const std::string& at) {
  const auto fail = [&](const std::string& what) { throw std::invalid_argument("schema " + at + ": " + what); };
  if (!s.is_object()) fail("expected an object");
  const int index = static_cast<int>(nodes.size());
  nodes.emplace_back();
  Node node;
  for (const auto& [key, value] : s.items()) {
    const std::string here = at + "/" + key;
    if (key == "$schema" || key == "$id" || key == "title" || key == "description") continue;
    if (key == "$defs") {
      if (at != "#") fail("$defs below the root");
      continue;
    }
    if (key == "format") {
      if (value != "date-time") fail("format " + value.dump() + " is not known");
      node.date_time = true;
    } else if (key == "$ref") {
      const std::string ref = value.is_string() ? value.get<std::string>() : std::string();
      const std::string prefix = "#/$defs/";
      if (!ref.starts_with(prefix)) fail("$ref " + value.dump() + " does not point into $defs");
      const std::string name = ref.substr(prefix.size());
      const auto known = defs.find(name);
      if (known != defs.end()) {
        node.ref = known->second;
      } else {
        const auto def = root.find("$defs");
        if (def == root.end() || !def->contains(name)) fail("$ref " + ref + " is not defined");
        const int d = static_cast<int>(nodes.size());
        defs[name] = d;  // before compiling, so a definition may refer to itself
        node.ref = compile(root, (*def)[name], "#/$defs/" + name);
        if (node.ref != d) fail("internal: definition index");
      }
    } else if (key == "type") {
      const auto add = [&](const json& t) {
        const unsigned bit = t.is_string() ? type_bit(t.get<std::string>()) : 0;
        if (bit == 0) fail("type " + t.dump() + " is not known");
        node.types |= bit;
      };
      if (value.is_array()) {
        for (const json& t : value) add(t);
      } else {
        add(value);
      }
    } else if (key == "required") {
      if (!value.is_array()) fail("required is not an array");
      for (const json& r : value) {
        if (!r.is_string()) fail("required names a non-string");
        node.required.push_back(r.get<std::string>());
      }
    } else if (key == "properties") {
      if (!value.is_object()) fail("properties is not an object");
      for (const auto& [name, sub] : value.items()) node.properties[name] = compile(root, sub, here + "/" + name);
    } else if (key == "additionalProperties") {
      if (value.is_boolean()) node.extra_allowed = value.get<bool>();
      else node.extra = compile(root, value, here);
    } else if (key == "items") {
      node.items = compile(root, value, here);
    } else if (key == "anyOf") {
      if (!value.is_array() || value.empty()) fail("anyOf is not a non-empty array");
      for (std::size_t i = 0; i < value.size(); ++i) node.any_of.push_back(compile(root, value[i], here + "/" + std::to_string(i)));
    } else if (key == "enum") {
      if (!value.is_array()) fail("enum is not an array");
      node.enumeration = value;
    } else if (key == "minimum" || key == "maximum") {
      if (!value.is_number()) fail(key + " is not a number");
      (key == "minimum" ? node.minimum : node.maximum) = value.get<double>();
    } else if (key == "pattern") {
      node.pattern_text = value.is_string() ? value.get<std::string>() : std::string();
      node.pattern = SchemaPattern::compile(node.pattern_text);
      if (!node.pattern) fail("pattern " + value.dump() + " uses syntax the validator does not know");
    } else {
      fail("keyword '" + key + "' is not known to the validator");
    }
  }
  nodes[static_cast<std::size_t>(index)] = std::move(node);
  return index;
}

std::optional<SchemaViolation> JsonSchema::Compiled::check(int index, const json& v, const PathLink* at) const {
  const Node& n = nodes[static_cast<std::size_t>(index)];
  const auto violation = [&](const char* keyword, std::string detail) {
    return SchemaViolation{keyword, render(at), std::move(detail), n.date_time};
  };
  if (n.ref >= 0) {
    if (auto bad = check(n.ref, v, at)) return bad;
  }
  if (n.types != 0 && !has_type(n.types, v)) return violation("type", type_names(n.types));
  if (v.is_number_float() && !std::isfinite(v.get<double>())) return violation("type", "expected a finite number");
  if (!n.any_of.empty()) {
    std::optional<SchemaViolation> only;  // the violation of the one form whose type fits, if just one does
    int fitting = 0;
    bool matched = false;
    for (int alt : n.any_of) {
      auto bad = check(alt, v, at);
      if (!bad) {
        matched = true;
        break;
      }
      if (bad->keyword != "type" || bad->path != render(at)) {
        ++fitting;
        only = std::move(bad);
      }
    }
    if (!matched) {
      if (fitting == 1) return only;
      return violation("anyOf", "matches none of the allowed forms");
    }
  }
  if (n.enumeration) {
    bool found = false;
    for (const json& e : *n.enumeration) found = found || e == v;
    if (!found) {
      // The value may be anything the sender chose: only a short one is quoted.
      const std::string shown = v.is_string() && v.get_ref<const std::string&>().size() <= 32 ? v.dump() : "the value";
      return violation("enum", shown + " is not one of " + n.enumeration->dump());
    }
  }
  if (v.is_number()) {
    const double d = v.get<double>();
    if (n.minimum && d < *n.minimum)
      return violation("minimum", number_text(d) + " is below the minimum " + number_text(*n.minimum));
    if (n.maximum && d > *n.maximum)
      return violation("maximum", number_text(d) + " is above the maximum " + number_text(*n.maximum));
  }
  if (v.is_string() && n.pattern && !n.pattern->matches(v.get_ref<const std::string&>())) {
    // Not quoted: a value refused here may be the MAC address that must never reach a log.
    return violation("pattern", "a string of " + std::to_string(v.get_ref<const std::string&>().size()) +
                                    " bytes does not match " + n.pattern_text);
  }
  if (v.is_object()) {
    for (const std::string& r : n.required) {
      if (!v.contains(r)) {
        const PathLink member{at, r};
        return SchemaViolation{"required", render(&member), "missing", false};
      }
    }
    for (const auto& [key, value] : v.items()) {
      const PathLink member{at, key};
      const auto prop = n.properties.find(key);
      if (prop != n.properties.end()) {
        if (auto bad = check(prop->second, value, &member)) return bad;
      } else if (n.extra >= 0) {
        if (auto bad = check(n.extra, value, &member)) return bad;
      } else if (!n.extra_allowed) {
        return SchemaViolation{"additionalProperties", render(&member), "not a member the schema allows", false};
      }
    }
  }
  if (v.is_array() && n.items >= 0) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      const PathLink item{at, {}, i, true};
      if (auto bad = check(n.items, v[i], &item)) return bad;
    }
  }
  return std::nullopt;
}

JsonSchema::JsonSchema(const json& schema) : compiled_(std::make_unique<Compiled>()) {
  compiled_->compile(schema, schema, "#");
}
JsonSchema::~JsonSchema() = default;
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;

std::optional<SchemaViolation> JsonSchema::check(const json& value) const { return compiled_->check(0, value, nullptr); }

const JsonSchema& feed_schema(FeedKind kind) {
  static std::once_flag once;
  static std::map<FeedKind, JsonSchema> schemas;
  std::call_once(once, [] {
    for (FeedKind k : {FeedKind::visits, FeedKind::presence, FeedKind::probes, FeedKind::sales})
      schemas.emplace(k, JsonSchema(json::parse(feed_schema_text(k))));
  });
  const auto it = schemas.find(kind);
  if (it == schemas.end()) throw std::invalid_argument("no schema for " + std::string(to_string(kind)));
  return it->second;
}

}  // namespace footfall::aggregator
