// footfall-sim: writes a realistic capture of a site (one pcap per probe) and the ground truth of
// who was where when, for tests, demos and benchmarks.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "tools/sim/simulation.h"
#include "tools/sim/time_text.h"

namespace {

using namespace footfall::sim;

std::string scenario_list() {
  std::string text;
  for (const auto& name : scenario_names()) {
    text += "  " + name + ": " + make_scenario(name)->description + "\n";
  }
  return text;
}

CLI::Validator share_validator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        try {
          const double v = std::stod(value);
          if (v >= 0.0 && v <= 1.0) return {};
        } catch (const std::exception&) {
        }
        return "must be a number between 0 and 1, got '" + value + "'";
      },
      "0..1");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "footfall-sim: simulates WiFi probes at a site and writes <out>/probe-<id>.pcap (radiotap, ns timestamps)\n"
      "per probe plus <out>/truth.json: devices, the addresses they used, visits with zones, dwell and what\n"
      "each probe heard, plus <out>/sales.csv: the sales of visitors who bought something (columns\n"
      "sale_id,site,time,amount: sale_id '<site>-000001' unique and in time order; site the --site name; time UTC\n"
      "with milliseconds, e.g. 2026-11-25T10:15:00.123Z; amount in currency units with two decimals; a header\n"
      "row, RFC 4180 quoting). truth.json lists each sale with the visit that made it, and totals.\n"
      "The same arguments always give byte-identical files.\n\nScenarios:\n" +
          scenario_list(),
      "footfall-sim"};
  app.get_formatter()->column_width(30);

  SimConfig config;
  std::string start_text = "2026-11-02T09:00:00Z";
  std::string duration_text = "10h";
  std::string out_dir;
  double mac_change = -1.0;
  double randomizing_share = -1.0;

  app.add_option("--scenario", config.scenario, "site and crowd to simulate")
      ->capture_default_str()
      ->check(CLI::IsMember(scenario_names()));
  app.add_option("--site", config.site, "the site's name in sales.csv and truth.json (default: the scenario's name)");
  app.add_option("--seed", config.seed, "random seed; same seed, same files")->capture_default_str();
  app.add_option("--start", start_text, "opening time of the first day, UTC (YYYY-MM-DDTHH:MM:SSZ)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return parse_utc_timestamp(v) ? "" : "expected YYYY-MM-DDTHH:MM:SSZ, got '" + v + "'";
          },
          "TIME"));
  app.add_option("--duration", duration_text, "opening hours per day, e.g. 10h, 90m, 1h30m, 45s")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            const auto ns = parse_duration_ns(v);
            return ns && *ns > 0 ? "" : "expected a positive duration like 10h, 90m or 30s, got '" + v + "'";
          },
          "DURATION"));
  app.add_option("--days", config.days, "consecutive days; visitors may return, with new random addresses")
      ->capture_default_str()
      ->check(CLI::Range(1u, 366u));
  app.add_option("--time-scale", config.time_scale,
                 "people behave this many times faster (arrivals, dwell, walking, probe intervals);\n"
                 "beacons keep real time. 60 fits an hour of visitors into a minute of capture")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--frames", config.frame_limit,
                 "stop once the largest capture holds this many frames (0: run the whole duration)")
      ->capture_default_str();
  app.add_option("--out", out_dir, "output folder (created if missing)")->required();
  app.add_flag("--truth-frames", config.frame_log, "also write truth-frames.tsv: one line per captured frame");
  app.add_option("--mac-change-prob", mac_change,
                 "chance a randomizing phone takes a new address per probe burst, instead of its model's\n"
                 "rotation (default: per device model, e.g. a new address per channel, per burst or per day)")
      ->check(share_validator());
  std::string radio_clock = "tsf";
  app.add_option("--radio-clock", radio_clock,
                 "radiotap TSFT of the captures: tsf = each probe's own microsecond timer (as a real radio);\n"
                 "site = the site time in µs since the Unix epoch, for live replays faster than real time\n"
                 "(footfall-probe source.clock \"radio\")")
      ->capture_default_str()
      ->check(CLI::IsMember({"tsf", "site"}));
  std::string tail_text = "0s";
  app.add_option("--tail", tail_text,
                 "access points go on beaconing this long after closing, e.g. 15m, so probes that keep\n"
                 "time by the frames they hear see the last visitors leave")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (v == "0" || v == "0s") return "";
            const auto ns = parse_duration_ns(v);
            return ns && *ns > 0 ? "" : "expected a duration like 15m, got '" + v + "'";
          },
          "DURATION"));
  app.add_option("--randomizing-share", randomizing_share,
                 "share of devices with random addresses (default: per device model, phones 1, laptops 0.1,\n"
                 "old phones 0); 0 gives every device its one burned-in address")
      ->check(share_validator());

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "footfall-sim: %s (see --help)\n", e.what());
    return 2;
  }

  config.start_ns = *parse_utc_timestamp(start_text);
  config.duration_ns = *parse_duration_ns(duration_text);
  config.out_dir = out_dir;
  config.tsft_is_site_time = radio_clock == "site";
  config.tail_ns = (tail_text == "0" || tail_text == "0s") ? 0 : *parse_duration_ns(tail_text);
  if (mac_change >= 0.0) config.mac_change_per_burst = mac_change;
  if (randomizing_share >= 0.0) config.randomizing_share = randomizing_share;

  try {
    const SimResult result = run_simulation(config);
    for (std::size_t p = 0; p < result.scenario.probes.size(); ++p) {
      const auto& probe = result.scenario.probes[p];
      std::printf("%s: %llu frames (probe %d '%s', channel %u)\n",
                  (config.out_dir / capture_file_name(probe.id)).c_str(),
                  static_cast<unsigned long long>(result.heard[p].total()), probe.id, probe.name.c_str(),
                  probe.channel);
    }
    const auto devices = std::count_if(result.schedule.devices.begin(), result.schedule.devices.end(),
                                       [](const Device& d) { return !d.visits.empty(); });
    std::printf("%s: %zu visits, %td devices, %s to %s%s\n", (config.out_dir / kTruthFileName).c_str(),
                result.schedule.visits.size(), devices, format_utc(config.start_ns).c_str(),
                format_utc(result.end_ns).c_str(), result.stopped_at_frame_limit ? " (frame limit)" : "");
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "footfall-sim: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "footfall-sim: %s\n", e.what());
    return 1;
  }
  return 0;
}
