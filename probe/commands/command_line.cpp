#include "probe/commands/command_line.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace footfall::probe::commands {

namespace {

constexpr std::size_t kNameColumn = 30;  // help: option names, then their help from this column

std::string quoted(std::string_view value) { return "\"" + std::string(value) + "\""; }

// "0.1", "3600". printf and strtod, not to_chars / from_chars for doubles: their tables would add 150 KB to the
// static probe, and the probe never leaves the C locale.
std::string shortest(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

template <typename T>
std::optional<T> parse_whole(std::string_view value) {
  T v{};
  const auto* end = value.data() + value.size();
  const auto r = std::from_chars(value.data(), end, v);
  if (r.ec != std::errc{} || r.ptr != end) return std::nullopt;
  return v;
}

template <typename T>
std::string check_whole(std::string_view value, T min, T max, T& out) {
  const auto v = parse_whole<T>(value);
  if (!v) return quoted(value) + " is not a whole number";
  if (*v < min || *v > max) {
    return quoted(value) + " is outside " + std::to_string(min) +
           (max == std::numeric_limits<T>::max() ? " and up" : ".." + std::to_string(max));
  }
  out = *v;
  return {};
}

std::string check_number(std::string_view value, double& out) {
  const std::string text(value);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  // strtod also takes leading blanks and hex floats; a command line value is plain decimal.
  const bool plain = !text.empty() && text.find_first_not_of("0123456789.eE+-") == std::string::npos;
  if (!plain || end != text.c_str() + text.size() || !std::isfinite(v)) return quoted(value) + " is not a number";
  out = v;
  return {};
}

}  // namespace

Option::Option(std::string_view names, std::string value_name, std::string help, Assign assign)
    : value_name_(std::move(value_name)), help_(std::move(help)), assign_(std::move(assign)) {
  while (!names.empty()) {
    const auto comma = names.find(',');
    names_.emplace_back(names.substr(0, comma));
    names.remove_prefix(comma == std::string_view::npos ? names.size() : comma + 1);
  }
}

Option& Option::required() {
  required_ = true;
  return *this;
}

Option& Option::needs(const Option& other) {
  needs_.push_back(&other);
  return *this;
}

Option& Option::excludes(Option& other) {
  excludes_.push_back(&other);
  other.excludes_.push_back(this);
  return *this;
}

bool Option::named(std::string_view name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

std::string Option::help_line() const {
  std::string line = "  ";
  for (std::size_t i = 0; i < names_.size(); ++i) line += (i == 0 ? "" : ",") + names_[i];
  if (takes_value()) line += " " + value_name_;
  line.resize(std::max(line.size() + 2, kNameColumn), ' ');
  line += help_;
  if (required_) line += " (required)";
  for (const Option* o : needs_) line += " (needs " + o->long_name() + ")";
  for (const Option* o : excludes_) line += " (not with " + o->long_name() + ")";
  return line + "\n";
}

Option::Assign text(std::string& target) {
  return [&target](std::string_view v) {
    target = std::string(v);
    return std::string();
  };
}

Option::Assign text(std::optional<std::string>& target) {
  return [&target](std::string_view v) {
    target = std::string(v);
    return std::string();
  };
}

Option::Assign one_of(std::string& target, std::vector<std::string> choices) {
  return [&target, choices = std::move(choices)](std::string_view v) {
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) {
      target = std::string(v);
      return std::string();
    }
    std::string why = quoted(v) + " is not one of";
    for (std::size_t i = 0; i < choices.size(); ++i) why += (i == 0 ? " " : ", ") + choices[i];
    return why;
  };
}

Option::Assign existing_file(std::string& target) {
  return [&target](std::string_view v) {
    const std::string path(v);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "no file " + quoted(v);
    if (S_ISDIR(st.st_mode)) return quoted(v) + " is a folder, not a file";
    target = path;
    return std::string();
  };
}

Option::Assign whole_number(std::int64_t& target, std::int64_t min, std::int64_t max) {
  return [&target, min, max](std::string_view v) { return check_whole(v, min, max, target); };
}

Option::Assign whole_number(std::optional<std::int64_t>& target, std::int64_t min, std::int64_t max) {
  return [&target, min, max](std::string_view v) {
    std::int64_t value = 0;
    auto why = check_whole(v, min, max, value);
    if (why.empty()) target = value;
    return why;
  };
}

Option::Assign whole_number(std::uint64_t& target, std::uint64_t min, std::uint64_t max) {
  return [&target, min, max](std::string_view v) { return check_whole(v, min, max, target); };
}

Option::Assign whole_number(int& target, int min, int max) {
  return [&target, min, max](std::string_view v) { return check_whole(v, min, max, target); };
}

Option::Assign number(double& target, double min, double max) {
  return [&target, min, max](std::string_view v) {
    double value = 0;
    if (auto why = check_number(v, value); !why.empty()) return why;
    if (value < min || value > max) return quoted(v) + " is outside " + shortest(min) + ".." + shortest(max);
    target = value;
    return std::string();
  };
}

Option::Assign positive_number(double& target) {
  return [&target](std::string_view v) {
    double value = 0;
    if (auto why = check_number(v, value); !why.empty()) return why;
    if (value <= 0) return quoted(v) + " is not above 0";
    target = value;
    return std::string();
  };
}

Subcommand::Subcommand(std::string program, std::string name, std::string summary, std::string footer)
    : program_(std::move(program)), name_(std::move(name)), summary_(std::move(summary)), footer_(std::move(footer)) {}

Option& Subcommand::option(std::string_view names, std::string value_name, std::string help, Option::Assign assign) {
  return options_.emplace_back(names, std::move(value_name), std::move(help), std::move(assign));
}

Option& Subcommand::flag(std::string_view names, std::string help, bool& target) {
  return options_.emplace_back(names, std::string(), std::move(help), [&target](std::string_view) {
    target = true;
    return std::string();
  });
}

void Subcommand::require_one_of(const Option& a, const Option& b) { one_of_.emplace_back(&a, &b); }

Option* Subcommand::find(std::string_view name) {
  for (Option& o : options_)
    if (o.named(name)) return &o;
  return nullptr;
}

std::string Subcommand::help() const {
  std::string out = program_ + " " + name_ + ": " + summary_ + "\nUsage: " + program_ + " " + name_ +
                    " [OPTIONS]\n\nOptions:\n";
  std::string help_line = "  -h,--help";
  help_line.resize(kNameColumn, ' ');
  out += help_line + "Print this help and exit\n";
  for (const Option& o : options_) out += o.help_line();
  return out + footer_;
}

std::string Subcommand::parse(const std::vector<std::string_view>& args, bool& help_asked) {
  help_asked = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "-h" || arg == "--help") {
      help_asked = true;
      return {};
    }
    if (arg.size() < 2 || arg[0] != '-') return "unexpected argument " + quoted(arg);
    std::optional<std::string_view> inline_value;  // --name=value
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    Option* o = find(arg);
    if (o == nullptr) return "unknown option " + quoted(arg);
    if (++o->count_ > 1) return o->long_name() + " given more than once";
    std::string_view value;
    if (!o->takes_value()) {
      if (inline_value) return o->long_name() + " takes no value";
    } else if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < args.size()) {
      value = args[++i];  // taken whatever it looks like: "--floor -90"
    } else {
      return o->long_name() + " needs a value (" + o->value_name_ + ")";
    }
    if (auto why = o->assign_(value); !why.empty()) return o->long_name() + ": " + why;
  }
  return check_relations();
}

std::string Subcommand::check_relations() const {
  for (const Option& o : options_) {
    if (o.required_ && o.count_ == 0) return o.long_name() + " is required";
    if (o.count_ == 0) continue;
    for (const Option* other : o.needs_)
      if (other->count_ == 0) return o.long_name() + " needs " + other->long_name();
    for (const Option* other : o.excludes_)
      if (other->count_ > 0) return o.long_name() + " and " + other->long_name() + " cannot be given together";
  }
  for (const auto& [a, b] : one_of_)
    if (a->count_ == 0 && b->count_ == 0) return "one of " + a->long_name() + " or " + b->long_name() + " is required";
  return {};
}

CommandLine::CommandLine(std::string program, std::string description, std::string version)
    : program_(std::move(program)), description_(std::move(description)), version_(std::move(version)) {}

Subcommand& CommandLine::add(std::string name, std::string summary, std::string footer) {
  return subcommands_.emplace_back(program_, std::move(name), std::move(summary), std::move(footer));
}

std::string CommandLine::help() const {
  std::string out = program_ + ": " + description_ + "\nUsage: " + program_ + " COMMAND [OPTIONS]   (" + program_ +
                    " COMMAND --help: its options)\n\nCommands:\n";
  for (const Subcommand& s : subcommands_) {
    std::string line = "  " + s.name();
    line.resize(std::max(line.size() + 2, std::size_t{14}), ' ');
    out += line + s.summary() + "\n";
  }
  out += "\nOptions:\n";
  const auto option_line = [](std::string names, std::string_view help) {
    names = "  " + names;
    names.resize(kNameColumn, ' ');
    return names + std::string(help) + "\n";
  };
  out += option_line("-h,--help", "Print this help and exit");
  if (!version_.empty()) out += option_line("--version", "Print the program's version and exit");
  if (help_config_) out += option_line("--help-config", "Print every key of the config file with type, default and help");
  return out;
}

CommandLine::Outcome CommandLine::parse(int argc, const char* const* argv, std::FILE* out, std::FILE* err) {
  const std::string_view first = argc > 1 ? argv[1] : "";
  if (first == "-h" || first == "--help") {
    std::fputs(help().c_str(), out);
    return {nullptr, 0};
  }
  if (first == "--version" && !version_.empty()) {
    std::fprintf(out, "%s %s\n", program_.c_str(), version_.c_str());
    return {nullptr, 0};
  }
  if (first == "--help-config" && help_config_) {
    std::fputs(help_config_().c_str(), out);
    return {nullptr, 0};
  }
  Subcommand* chosen = nullptr;
  for (Subcommand& s : subcommands_)
    if (s.name() == first) chosen = &s;
  if (chosen == nullptr) {
    std::string names;
    for (const Subcommand& s : subcommands_) names += (names.empty() ? "" : ", ") + s.name();
    const std::string problem = argc > 1 ? "unknown command " + quoted(first) : "a command is needed";
    std::fprintf(err, "%s: %s (one of: %s)\nRun `%s --help` for what each does.\n", program_.c_str(),
                 problem.c_str(), names.c_str(), program_.c_str());
    return {nullptr, 2};
  }
  const std::vector<std::string_view> args(argv + 2, argv + argc);
  bool help_asked = false;
  if (const auto why = chosen->parse(args, help_asked); !why.empty()) {
    std::fprintf(err, "%s %s: %s\nRun `%s %s --help` for its options.\n", program_.c_str(), chosen->name().c_str(),
                 why.c_str(), program_.c_str(), chosen->name().c_str());
    return {nullptr, 2};
  }
  if (help_asked) {
    std::fputs(chosen->help().c_str(), out);
    return {nullptr, 0};
  }
  return {chosen, 0};
}

}  // namespace footfall::probe::commands
