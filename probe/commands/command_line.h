#pragma once
// The probe's command line: one subcommand, its options and flags, checked before the command runs; --help
// prints the subcommand's options and its footer.
//
// Not CLI11, which the gateway and the aggregator use: CLI11 is built on iostreams, and in the static probe
// those bring libstdc++'s locales along, about 0.4 MB of the 3 MB budget (docs/cross-builds.md, "Static probe").
// Parsing does no I/O; CommandLine::parse prints help and errors to the streams it is given.
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace footfall::probe::commands {

class Option {
 public:
  // Takes one value: empty when accepted, otherwise why not ("is not a number").
  using Assign = std::function<std::string(std::string_view value)>;

  Option(std::string_view names, std::string value_name, std::string help, Assign assign);

  Option& required();
  Option& needs(const Option& other);     // given only together with `other`
  Option& excludes(Option& other);        // never together with `other` (both ways)

  [[nodiscard]] std::size_t count() const { return count_; }
  [[nodiscard]] bool takes_value() const { return !value_name_.empty(); }
  [[nodiscard]] bool named(std::string_view name) const;
  [[nodiscard]] const std::string& long_name() const { return names_.back(); }  // for messages
  [[nodiscard]] std::string help_line() const;

 private:
  friend class Subcommand;

  std::vector<std::string> names_;  // "-r", "--read"
  std::string value_name_;          // empty for a flag
  std::string help_;
  Assign assign_;
  bool required_ = false;
  std::vector<const Option*> needs_;
  std::vector<const Option*> excludes_;
  std::size_t count_ = 0;
};

// Value parsers for Option: each stores the value it accepts.
Option::Assign text(std::string& target);
Option::Assign text(std::optional<std::string>& target);  // "" is a value too
Option::Assign one_of(std::string& target, std::vector<std::string> choices);
Option::Assign existing_file(std::string& target);
Option::Assign whole_number(std::int64_t& target, std::int64_t min, std::int64_t max);
Option::Assign whole_number(std::optional<std::int64_t>& target, std::int64_t min, std::int64_t max);
Option::Assign whole_number(std::uint64_t& target, std::uint64_t min,
                            std::uint64_t max = std::numeric_limits<std::uint64_t>::max());
Option::Assign whole_number(int& target, int min, int max);
Option::Assign number(double& target, double min, double max);
Option::Assign positive_number(double& target);  // > 0

class Subcommand {
 public:
  Subcommand(std::string program, std::string name, std::string summary, std::string footer);

  // `names`: "-r,--read" or "--ble". `value_name` shows in the help: "FILE".
  Option& option(std::string_view names, std::string value_name, std::string help, Option::Assign assign);
  Option& flag(std::string_view names, std::string help, bool& target);
  // At least one of the two must be given.
  void require_one_of(const Option& a, const Option& b);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& summary() const { return summary_; }
  [[nodiscard]] std::string help() const;

  // Parses the arguments after the subcommand's name. Empty when they are accepted; otherwise the first
  // problem, naming the option. `help_asked` is set on -h / --help (the rest is then not checked).
  std::string parse(const std::vector<std::string_view>& args, bool& help_asked);

 private:
  Option* find(std::string_view name);
  [[nodiscard]] std::string check_relations() const;

  std::string program_;
  std::string name_;
  std::string summary_;
  std::string footer_;
  std::deque<Option> options_;  // a deque: options keep their address as more are added
  std::vector<std::pair<const Option*, const Option*>> one_of_;
};

class CommandLine {
 public:
  // `version` is printed by --version as "<program> <version>".
  CommandLine(std::string program, std::string description, std::string version = {});

  Subcommand& add(std::string name, std::string summary, std::string footer = {});
  // --help-config before any command prints what `table` returns (the config file's options table).
  void help_config(std::function<std::string()> table) { help_config_ = std::move(table); }

  struct Outcome {
    const Subcommand* chosen = nullptr;  // null: do not run anything, exit with `exit_status`
    int exit_status = 0;                 // 0 after --help; 2 on a usage error
  };
  // Help goes to `out`; usage errors go to `err`, one line naming the problem and one pointing at --help.
  Outcome parse(int argc, const char* const* argv, std::FILE* out, std::FILE* err);

  [[nodiscard]] std::string help() const;

 private:
  std::string program_;
  std::string description_;
  std::string version_;
  std::function<std::string()> help_config_;
  std::deque<Subcommand> subcommands_;
};

}  // namespace footfall::probe::commands
