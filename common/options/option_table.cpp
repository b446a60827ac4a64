#include "common/options/option_table.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

namespace footfall::options {

namespace {

using nlohmann::json;

bool is_section(const Table& table, std::string_view path) {
  return std::any_of(table.rows.begin(), table.rows.end(), [&](const Option& o) {
    return o.key.size() > path.size() && o.key.starts_with(path) && o.key[path.size()] == '.';
  });
}

std::vector<std::string_view> split_choices(std::string_view choices) {
  std::vector<std::string_view> out;
  while (!choices.empty()) {
    const auto bar = choices.find('|');
    out.push_back(choices.substr(0, bar));
    if (bar == std::string_view::npos) break;
    choices.remove_prefix(bar + 1);
  }
  return out;
}

std::string range_words(const Option& o, std::string_view what) {
  if (o.min == 1 && o.max == kNoMax) return "expected a positive " + std::string(what);
  if (o.max == kNoMax) return "expected " + std::string(what) + " >= " + std::to_string(o.min);
  return "expected " + std::string(what) + " from " + std::to_string(o.min) + " to " + std::to_string(o.max);
}

std::string range_brackets(const Option& o, std::string_view what) {
  if (o.min == 1) return "expected a positive " + std::string(what) + " (at most " + std::to_string(o.max) + ")";
  const bool vowel = !what.empty() && std::string_view("aeiou").find(what.front()) != std::string_view::npos;
  return std::string(vowel ? "expected an " : "expected a ") + std::string(what) + " in [" + std::to_string(o.min) +
         ", " + std::to_string(o.max) + "]";
}

// What a value of this row must be, as the error says it.
std::string expected_text(const Table& table, const Option& o) {
  if (!o.expected.empty()) return std::string(o.expected);
  const bool words = table.phrasing == Phrasing::words;
  switch (o.type) {
    case Type::string: return o.non_empty ? "expected a non-empty string" : "expected a string";
    case Type::path: return o.non_empty ? "expected a non-empty path" : "expected a path (or \"\")";
    case Type::boolean: return "expected true or false";
    case Type::integer: return words ? range_words(o, "integer") : range_brackets(o, "integer");
    case Type::number: return words ? range_words(o, "number") : range_brackets(o, "number");
    case Type::choice: {
      std::string out = "expected one of";
      const char* separator = " ";
      for (const auto c : split_choices(o.choices)) {
        out += separator;
        out += words ? "\"" + std::string(c) + "\"" : std::string(c);
        if (!words) separator = ", ";
      }
      return out;
    }
    case Type::custom: return {};
  }
  return {};
}

// Checks one value against its row; false when it does not fit.
bool check_value(const Option& o, const json& v, Value& out, std::string& problem) {
  switch (o.type) {
    case Type::string:
    case Type::path:
      if (!v.is_string()) return false;
      out.text = v.get<std::string>();
      if (o.non_empty && out.text.empty()) return false;
      if (o.check != nullptr) {
        if (const auto p = o.check(out.text); !p.empty()) {
          problem = p;
          return false;
        }
      }
      return true;
    case Type::boolean:
      if (!v.is_boolean()) return false;
      out.flag = v.get<bool>();
      return true;
    case Type::integer:
      if (!v.is_number_integer()) return false;
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(kNoMax)) return false;
      out.integer = v.get<std::int64_t>();
      return out.integer >= o.min && out.integer <= o.max;
    case Type::number:
      if (!v.is_number()) return false;
      out.number = v.get<double>();
      return out.number >= static_cast<double>(o.min) && out.number <= static_cast<double>(o.max);
    case Type::choice: {
      if (!v.is_string()) return false;
      out.text = v.get<std::string>();
      const auto choices = split_choices(o.choices);
      const auto it = std::find(choices.begin(), choices.end(), out.text);
      out.choice = static_cast<std::size_t>(it - choices.begin());
      return it != choices.end();
    }
    case Type::custom: return false;
  }
  return false;
}

std::string walk(const Table& table, const json& object, const std::string& prefix, void* config) {
  for (const auto& [key, value] : object.items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    if (const Option* o = find_option(table, path)) {
      if (o->type == Type::custom) {
        if (auto e = o->read(value, config); !e.empty()) return e;
        continue;
      }
      Value checked;
      std::string problem;
      if (!check_value(*o, value, checked, problem))
        return path + ": " + (problem.empty() ? expected_text(table, *o) : problem);
      o->field.store(config, checked);
    } else if (is_section(table, path)) {
      if (!value.is_object()) return path + ": expected an object";
      if (auto e = walk(table, value, path, config); !e.empty()) return e;
    } else {
      return path + ": " + std::string(table.unknown_key);
    }
  }
  return {};
}

// Watches the parser's events for a key written twice in one object (the DOM would silently keep the last one).
class DuplicateKeys {
 public:
  bool on_event(json::parse_event_t event, const json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: levels_.push_back({}); break;
      case json::parse_event_t::array_start: levels_.push_back({.array = true}); break;
      case json::parse_event_t::key: {
        Level& top = levels_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second && first_.empty()) first_ = path();
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        levels_.pop_back();
        element_done();
        break;
      case json::parse_event_t::value: element_done(); break;
    }
    return true;
  }
  // The path of the first key seen twice ("probes[1].id"), or "".
  [[nodiscard]] const std::string& first() const { return first_; }

 private:
  struct Level {
    bool array = false;
    std::size_t index = 0;  // array: the element being read
    std::string key{};      // object: the key being read
    std::set<std::string> keys{};
  };

  void element_done() {
    if (!levels_.empty() && levels_.back().array) ++levels_.back().index;
  }

  [[nodiscard]] std::string path() const {
    std::string out;
    for (const Level& l : levels_) {
      if (l.array) {
        out += "[" + std::to_string(l.index) + "]";
      } else {
        if (!out.empty()) out += ".";
        out += l.key;
      }
    }
    return out;
  }

  std::vector<Level> levels_;
  std::string first_;
};

std::string type_column(const Option& o) {
  if (!o.type_text.empty()) return std::string(o.type_text);
  switch (o.type) {
    case Type::string: return "string";
    case Type::path: return "path";
    case Type::boolean: return "boolean";
    case Type::integer:
    case Type::number: {
      std::string out = o.type == Type::integer ? "integer " : "number ";
      return out + (o.max == kNoMax ? ">=" + std::to_string(o.min)
                                    : std::to_string(o.min) + ".." + std::to_string(o.max));
    }
    case Type::choice: return std::string(o.choices);
    case Type::custom: return "object";
  }
  return {};
}

}  // namespace

const Option* find_option(const Table& table, std::string_view key) {
  const auto it = std::find_if(table.rows.begin(), table.rows.end(), [&](const Option& o) { return o.key == key; });
  return it == table.rows.end() ? nullptr : &*it;
}

std::string read_erased(const Table& table, std::string_view json_text, std::string_view label, void* config) {
  const std::string prefix = std::string(label) + ": ";
  DuplicateKeys duplicates;
  const json::parser_callback_t watch = [&duplicates](int, json::parse_event_t event, json& parsed) {
    return duplicates.on_event(event, parsed);
  };
  json doc;
  try {
    doc = json::parse(json_text, watch, /*allow_exceptions=*/true, table.comments);
  } catch (const json::parse_error& e) {
    return prefix + "not valid JSON" + (table.json_error_byte ? " (byte " + std::to_string(e.byte) + ")" : "");
  } catch (const json::out_of_range&) {  // a number beyond a double: the parser throws this, not parse_error
    return prefix + "not valid JSON (a number out of range)";
  }
  if (!duplicates.first().empty()) return prefix + "duplicate key '" + duplicates.first() + "'";
  if (!doc.is_object()) return prefix + std::string(table.top_not_object);
  if (auto e = walk(table, doc, "", config); !e.empty()) return prefix + e;
  return {};
}

std::vector<const Option*> changed_erased(const Table& table, const void* a, const void* b) {
  std::vector<const Option*> out;
  for (const Option& o : table.rows)
    if (o.field.same != nullptr && !o.field.same(a, b)) out.push_back(&o);
  return out;
}

void take_reloadable_erased(const Table& table, const void* from, void* to) {
  for (const Option& o : table.rows)
    if (o.reload == OnReload::applies && o.field.copy != nullptr) o.field.copy(from, to);
}

std::string help_text(const Table& table) {
  std::string out = std::string(table.file) + " options (key | type | default | meaning):\n";
  for (const Option& o : table.rows) {
    out += "  " + std::string(o.key) + " | " + type_column(o) + " | " +
           (o.default_text.empty() ? std::string("(required)") : std::string(o.default_text)) + " | " +
           std::string(o.help) + (o.reload == OnReload::applies ? " [reload]" : "") + "\n";
  }
  for (const auto line : table.help_footer) out += std::string(line) + "\n";
  return out;
}

}  // namespace footfall::options
