// The probe's command-line parser: values, flags, the relations between options, and what the program prints
// and returns for help and for usage errors.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "probe/commands/command_line.h"

namespace {

using footfall::probe::commands::CommandLine;
using footfall::probe::commands::Subcommand;
namespace c = footfall::probe::commands;

struct Options {
  std::string read;
  std::string iface;
  bool monitor = false;
  std::string format = "json";
  std::uint64_t count = 0;
  std::optional<std::int64_t> floor;
  double listen_s = 10;
  double duration_s = 0;
  std::optional<std::string> filter;
  std::string config;
};

// A subcommand shaped like `frames`, with one option of each kind.
Subcommand make_frames(Options& o) {
  Subcommand s("footfall-probe", "frames", "Print frames", "\nFooter text.\n");
  auto& read = s.option("-r,--read", "FILE", "Capture file", c::text(o.read));
  auto& iface = s.option("-i,--interface", "IFACE", "Live interface", c::text(o.iface));
  read.excludes(iface);
  s.require_one_of(read, iface);
  s.flag("--monitor", "Monitor mode", o.monitor).needs(iface);
  s.option("--format", "json|none", "Output", c::one_of(o.format, {"json", "none"}));
  s.option("-c,--count", "N", "Packets", c::whole_number(o.count, 0));
  s.option("--floor", "DBM", "Floor", c::whole_number(o.floor, -128, 0));
  s.option("--listen", "SECONDS", "Listen", c::number(o.listen_s, 0.1, 3600.0));
  s.option("--duration", "SECONDS", "Duration", c::positive_number(o.duration_s));
  s.option("--filter", "BPF", "Filter", c::text(o.filter));
  s.option("--config", "FILE", "Config", c::existing_file(o.config));
  return s;
}

std::string parse(Options& o, std::vector<std::string_view> args) {
  Subcommand s = make_frames(o);
  bool help = false;
  auto why = s.parse(args, help);
  CHECK_FALSE(help);
  return why;
}

std::string contents(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  return text;
}

}  // namespace

TEST_CASE("command line: values by space, by '=' and by short name; negative numbers are values") {
  Options o;
  CHECK(parse(o, {"-r", "a.pcap", "--format=none", "-c", "12", "--floor", "-70", "--listen", "0.5", "--filter="}) == "");
  CHECK(o.read == "a.pcap");
  CHECK(o.format == "none");
  CHECK(o.count == 12);
  REQUIRE(o.floor.has_value());
  CHECK(*o.floor == -70);
  CHECK(o.listen_s == doctest::Approx(0.5));
  REQUIRE(o.filter.has_value());
  CHECK(o.filter->empty());  // "" is a value: no filter at all

  Options live;
  CHECK(parse(live, {"--interface", "wlan0", "--monitor", "--duration", "2.5"}) == "");
  CHECK(live.iface == "wlan0");
  CHECK(live.monitor);
  CHECK(live.duration_s == doctest::Approx(2.5));
  CHECK_FALSE(live.floor.has_value());
}

TEST_CASE("command line: each bad value is named with its option and leaves the target as it was") {
  Options o;
  CHECK(parse(o, {"-r", "a", "--format", "xml"}) == "--format: \"xml\" is not one of json, none");
  CHECK(o.format == "json");
  CHECK(parse(o, {"-r", "a", "--count", "-1"}) == "--count: \"-1\" is not a whole number");
  CHECK(parse(o, {"-r", "a", "--count", "12x"}) == "--count: \"12x\" is not a whole number");
  CHECK(parse(o, {"-r", "a", "--floor", "-129"}) == "--floor: \"-129\" is outside -128..0");
  CHECK(parse(o, {"-r", "a", "--floor", "5"}) == "--floor: \"5\" is outside -128..0");
  CHECK_FALSE(o.floor.has_value());
  CHECK(parse(o, {"-r", "a", "--listen", "0.05"}) == "--listen: \"0.05\" is outside 0.1..3600");
  CHECK(parse(o, {"-r", "a", "--listen", "nan"}) == "--listen: \"nan\" is not a number");
  CHECK(parse(o, {"-i", "w", "--duration", "0"}) == "--duration: \"0\" is not above 0");
  CHECK(parse(o, {"-r", "a", "--config", "/no/such/probe.json"}) == "--config: no file \"/no/such/probe.json\"");
  CHECK(parse(o, {"-r", "a", "--config", "/"}) == "--config: \"/\" is a folder, not a file");
  CHECK(o.listen_s == doctest::Approx(10));
}

TEST_CASE("command line: unknown, repeated, valueless and stray arguments are refused") {
  Options o;
  CHECK(parse(o, {"-r", "a", "--colour"}) == "unknown option \"--colour\"");
  CHECK(parse(o, {"-r", "a", "-r", "b"}) == "--read given more than once");
  CHECK(parse(o, {"-r"}) == "--read needs a value (FILE)");
  CHECK(parse(o, {"-i", "w", "--monitor=yes"}) == "--monitor takes no value");
  CHECK(parse(o, {"-r", "a", "extra"}) == "unexpected argument \"extra\"");
}

TEST_CASE("command line: required, needs, excludes and one-of are checked after every value is read") {
  Options o;
  CHECK(parse(o, {}) == "one of --read or --interface is required");
  CHECK(parse(o, {"--format", "none"}) == "one of --read or --interface is required");
  CHECK(parse(o, {"-r", "a", "-i", "w"}) == "--read and --interface cannot be given together");
  CHECK(parse(o, {"--monitor", "-r", "a"}) == "--monitor needs --interface");
  CHECK(parse(o, {"--monitor", "-i", "w"}) == "");  // the order does not matter

  std::string mac;
  Subcommand cal("footfall-probe", "calibrate", "Walk test", "");
  cal.option("--mac", "ADDRESS", "Phone", c::text(mac)).required();
  bool help = false;
  CHECK(cal.parse({}, help) == "--mac is required");
  CHECK(cal.parse({"--mac", "aa:bb:cc:dd:ee:ff"}, help) == "");
  CHECK(mac == "aa:bb:cc:dd:ee:ff");
}

TEST_CASE("command line: the subcommand's help lists every option with its relations, then the footer") {
  Options o;
  const Subcommand s = make_frames(o);
  const std::string help = s.help();
  CHECK(help.find("footfall-probe frames: Print frames\nUsage: footfall-probe frames [OPTIONS]") == 0);
  CHECK(help.find("  -h,--help") != std::string::npos);
  CHECK(help.find("  -r,--read FILE") != std::string::npos);
  CHECK(help.find("Capture file (not with --interface)") != std::string::npos);
  CHECK(help.find("--monitor                   Monitor mode (needs --interface)") != std::string::npos);
  CHECK(help.size() > 13);
  CHECK(help.substr(help.size() - 13) == "Footer text.\n");
}

TEST_CASE("command line: the program prints help on stdout (exit 0) and usage errors on stderr (exit 2)") {
  Options o;
  CommandLine cli("footfall-probe", "hears WiFi");
  auto& frames = cli.add("frames", "Print frames", "\nFooter text.\n");
  frames.option("-r,--read", "FILE", "Capture file", c::text(o.read)).required();
  cli.add("run", "Run the probe");

  const auto run = [&cli](std::vector<const char*> argv, std::string& out, std::string& err) {
    argv.insert(argv.begin(), "footfall-probe");
    std::FILE* out_file = std::tmpfile();
    std::FILE* err_file = std::tmpfile();
    REQUIRE(out_file != nullptr);
    REQUIRE(err_file != nullptr);
    const auto outcome = cli.parse(static_cast<int>(argv.size()), argv.data(), out_file, err_file);
    out = contents(out_file);
    err = contents(err_file);
    std::fclose(out_file);
    std::fclose(err_file);
    return outcome;
  };
  std::string out, err;

  auto r = run({"--help"}, out, err);
  CHECK(r.chosen == nullptr);
  CHECK(r.exit_status == 0);
  CHECK(out.find("  frames      Print frames\n  run         Run the probe\n") != std::string::npos);
  CHECK(err.empty());

  r = run({"frames", "--help"}, out, err);
  CHECK(r.chosen == nullptr);
  CHECK(r.exit_status == 0);
  CHECK(out.find("Footer text.") != std::string::npos);

  r = run({}, out, err);
  CHECK(r.exit_status == 2);
  CHECK(out.empty());
  CHECK(err.find("footfall-probe: a command is needed (one of: frames, run)\n") == 0);

  r = run({"frame"}, out, err);
  CHECK(r.exit_status == 2);
  CHECK(err.find("footfall-probe: unknown command \"frame\"") == 0);

  r = run({"frames"}, out, err);
  CHECK(r.chosen == nullptr);
  CHECK(r.exit_status == 2);
  CHECK(err == "footfall-probe frames: --read is required\nRun `footfall-probe frames --help` for its options.\n");

  r = run({"frames", "--read", "x.pcap"}, out, err);
  REQUIRE(r.chosen != nullptr);
  CHECK(r.chosen->name() == "frames");
  CHECK(o.read == "x.pcap");
  CHECK(out.empty());
  CHECK(err.empty());
}

TEST_CASE("command line: --version prints the program and its version; --help-config prints the table (exit 0)") {
  CommandLine cli("footfall-probe", "hears WiFi", "0.1.0");
  cli.add("run", "Run the probe");
  cli.help_config([] { return std::string("probe.json options (key | type | default | meaning):\n"); });
  const auto run = [&cli](const char* arg, std::string& out) {
    const char* argv[] = {"footfall-probe", arg};
    std::FILE* out_file = std::tmpfile();
    std::FILE* err_file = std::tmpfile();
    REQUIRE(out_file != nullptr);
    REQUIRE(err_file != nullptr);
    const auto outcome = cli.parse(2, argv, out_file, err_file);
    out = contents(out_file);
    std::fclose(out_file);
    std::fclose(err_file);
    return outcome;
  };
  std::string out;
  auto r = run("--version", out);
  CHECK(r.chosen == nullptr);
  CHECK(r.exit_status == 0);
  CHECK(out == "footfall-probe 0.1.0\n");
  r = run("--help-config", out);
  CHECK(r.exit_status == 0);
  CHECK(out == "probe.json options (key | type | default | meaning):\n");
  r = run("--help", out);
  CHECK(out.find("  --version ") != std::string::npos);
  CHECK(out.find("  --help-config ") != std::string::npos);
  r = run("--versio", out);
  CHECK(r.exit_status == 2);
}
