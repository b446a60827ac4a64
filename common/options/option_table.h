#pragma once
// One table of options per program (in the spirit of fluent-bit's config_map): each row is a key (dotted path), a
// type, a default, a range or the allowed values, help text and what a reload does with it. The shared engine
// reads a JSON file against a table (an unknown key, a duplicate key or a bad value is one error naming the key),
// prints the table for --help-config and compares two configs key by key. No iostreams: the probe links it.
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace footfall::options {

inline constexpr std::int64_t kNoMax = std::numeric_limits<std::int64_t>::max();

enum class Type : std::uint8_t {
  string,
  path,     // a string that names a file or folder
  boolean,
  integer,  // min..max
  number,   // min..max
  choice,   // one of `choices`; an enum field takes its index, a string field its text
  custom,   // the row reads its JSON itself (a list or a sub-table) and names its own keys
};

// What a reload (SIGHUP on the gateway) does with a key whose value changed.
enum class OnReload : std::uint8_t {
  applies,        // the running program takes the new value
  needs_restart,  // it keeps its value, and says so, until it restarts
};

// A value that passed its row's checks.
struct Value {
  std::string text;  // string, path, choice
  bool flag = false;
  std::int64_t integer = 0;
  double number = 0;
  std::size_t choice = 0;  // index into the row's choices
};

// Where a row's value lands in a program's config. The engine is shared and the configs are not, so the config is
// passed as void*; `field<...>()` below makes the three functions from member pointers.
struct Field {
  void (*store)(void* config, const Value& value) = nullptr;
  bool (*same)(const void* a, const void* b) = nullptr;
  void (*copy)(const void* from, void* to) = nullptr;
};

// custom rows: reads `value` into the config; returns "" or the problem with its key path ("probes[1].id: ...").
using CustomRead = std::string (*)(const nlohmann::json& value, void* config);

struct Option {
  std::string_view key{};         // dotted path, e.g. "spool.max_mb"
  Type type = Type::string;
  std::string_view default_text{};  // as written in the file; empty: required
  std::string_view help{};
  Field field{};
  std::int64_t min = 0;  // integer / number, inclusive
  std::int64_t max = 0;
  std::string_view choices{};  // choice: "a|b|c"
  OnReload reload = OnReload::needs_restart;
  bool non_empty = false;            // string / path
  std::string_view expected{};       // replaces the generated "expected ..." text of this row
  std::string_view type_text{};      // replaces the generated type column of --help-config
  std::string_view (*check)(const std::string& text) = nullptr;  // a further rule on a string: "" or the problem
  CustomRead read = nullptr;         // custom
};

// How a table words its errors. The probe's words and the gateway's predate the shared engine; tests, docs and
// operators' scripts quote both.
enum class Phrasing : std::uint8_t {
  words,     // expected integer from 1 to 65535 | expected integer >= 2 | expected one of "a" "b"
  brackets,  // expected an integer in [0, 65535] | expected a positive integer (at most 1024) | expected one of a, b
};

struct Table {
  std::string_view file{};  // "probe.json"
  std::span<const Option> rows{};
  Phrasing phrasing = Phrasing::brackets;
  std::string_view unknown_key = "unknown key";
  std::string_view top_not_object = "expected a JSON object at the top level";
  bool json_error_byte = true;  // "not valid JSON (byte 12)"
  bool comments = false;        // allow // and /* */
  std::span<const std::string_view> help_footer{};  // lines printed after the rows
};

[[nodiscard]] const Option* find_option(const Table& table, std::string_view key);

// Reads `json_text` into `config` (which holds the defaults); returns "" or "<label>: <problem naming the key>".
[[nodiscard]] std::string read_erased(const Table& table, std::string_view json_text, std::string_view label,
                                      void* config);

// The keys of the rows whose values differ between two configs.
[[nodiscard]] std::vector<const Option*> changed_erased(const Table& table, const void* a, const void* b);

// Copies the value of every row that a reload applies from `from` into `to`.
void take_reloadable_erased(const Table& table, const void* from, void* to);

// "<file> options (key | type | default | meaning):", one line per row ("  key | type | default | help", and
// " [reload]" when a reload applies it), then the footer.
[[nodiscard]] std::string help_text(const Table& table);

template <class Config>
std::string read(const Table& table, std::string_view json_text, std::string_view label, Config& config) {
  return read_erased(table, json_text, label, &config);
}
template <class Config>
std::vector<const Option*> changed(const Table& table, const Config& a, const Config& b) {
  return changed_erased(table, &a, &b);
}
template <class Config>
void take_reloadable(const Table& table, const Config& from, Config& to) {
  take_reloadable_erased(table, &from, &to);
}

namespace detail {

template <class M>
struct member_of;
template <class T, class C>
struct member_of<T C::*> {
  using type = C;
};

template <auto... Members, class Config>
auto& at(Config& config) {
  return (config .* ... .* Members);
}

template <class T>
void assign(T& to, const Value& v) {
  if constexpr (std::is_same_v<T, bool>) to = v.flag;
  else if constexpr (std::is_enum_v<T>) to = static_cast<T>(v.choice);
  else if constexpr (std::is_integral_v<T>) to = static_cast<T>(v.integer);
  else if constexpr (std::is_floating_point_v<T>) to = static_cast<T>(v.number);
  else if constexpr (std::is_assignable_v<T&, const std::string&>) to = v.text;  // std::string, std::filesystem::path
  // else: a custom row's field (a list, a sub-table), which its own read function fills
}

}  // namespace detail

// The field a row writes, as a path of member pointers from the config: field<&Config::tls, &Tls::cert_file>().
template <auto First, auto... Rest>
constexpr Field field() {
  using Config = typename detail::member_of<decltype(First)>::type;
  return {
      [](void* c, const Value& v) { detail::assign(detail::at<First, Rest...>(*static_cast<Config*>(c)), v); },
      [](const void* a, const void* b) {
        return detail::at<First, Rest...>(*static_cast<const Config*>(a)) ==
               detail::at<First, Rest...>(*static_cast<const Config*>(b));
      },
      [](const void* from, void* to) {
        detail::at<First, Rest...>(*static_cast<Config*>(to)) =
            detail::at<First, Rest...>(*static_cast<const Config*>(from));
      },
  };
}

}  // namespace footfall::options
