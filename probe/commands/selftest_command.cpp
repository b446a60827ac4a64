#include "probe/commands/selftest_command.h"

#include <chrono>
#include <optional>
#include <vector>

#include "probe/commands/frames_command.h"
#include "probe/config/probe_config.h"
#include "probe/selftest/check_report.h"
#include "probe/selftest/checks.h"
#include "probe/selftest/observe.h"

#ifndef FOOTFALL_VERSION
#define FOOTFALL_VERSION "0.1.0"
#endif

namespace footfall::probe::commands {

namespace {

using selftest::CheckResult;
using selftest::CheckStatus;

CheckResult skipped(std::string name, const std::string& because) {
  return {std::move(name), CheckStatus::skip, "not run: " + because, "fix the " + because + " first"};
}

}  // namespace

int run_selftest(const SelftestOptions& options, std::FILE* out, std::FILE* err) {
  const config::ConfigResult loaded = config::load_probe_config(options.config_path);
  if (!loaded.config) {
    std::fprintf(err, "footfall-probe: %s\n", loaded.error.c_str());
    return kExitUsage;
  }
  const config::ProbeConfig& cfg = *loaded.config;
  std::vector<CheckResult> results;
  auto report = [&](CheckResult r) {
    std::fputs(selftest::format_check(r).c_str(), out);
    std::fflush(out);  // an installer watches each line arrive
    results.push_back(std::move(r));
  };
  std::fprintf(out, "footfall-probe %s selftest: probe '%s', config %s\n", FOOTFALL_VERSION, cfg.probe_id.c_str(),
               options.config_path.c_str());
  std::fflush(out);

  // The radio: interface -> monitor support -> capture opened as `run` opens it -> frames heard.
  const selftest::InterfaceFacts interface = selftest::observe_interface(cfg.source.interface);
  report(selftest::judge_interface(interface));
  if (results.back().status == CheckStatus::pass) {
    report(selftest::judge_monitor_support(selftest::observe_monitor_support(interface)));
    selftest::CaptureAttempt capture = selftest::open_capture(cfg.source, interface);
    report(selftest::judge_capture(capture.facts));
    if (results.back().status == CheckStatus::pass) {
      const auto window = std::chrono::milliseconds(static_cast<std::int64_t>(options.listen_s * 1000));
      std::fprintf(err, "selftest: listening on %s for %.1f s\n", cfg.source.interface.c_str(), options.listen_s);
      std::fflush(err);
      const auto started = std::chrono::steady_clock::now();
      const selftest::FrameTally tally = selftest::listen(*capture.source, window);
      const double listened = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      report(selftest::judge_frames(tally, listened, options.min_frames));
    } else {
      report(skipped("frames", "capture"));
    }
  } else {
    report(skipped("monitor", "interface"));
    report(skipped("capture", "interface"));
    report(skipped("frames", "interface"));
  }

  // The way out: gateway (with the probe's credentials), clock (compared with the gateway's), spool.
  const selftest::GatewayAnswer answer = selftest::say_hello(cfg, FOOTFALL_VERSION);
  report(selftest::judge_gateway(answer, cfg.probe_id));
  selftest::ClockFacts clock = selftest::observe_clock(&answer);
  clock.tolerance_ns = options.clock_tolerance_ms * 1'000'000;
  report(selftest::judge_clock(clock));
  report(selftest::judge_spool(selftest::observe_spool(cfg.spool)));

  std::fputs(selftest::format_summary(results).c_str(), out);
  std::fflush(out);
  return selftest::exit_code(results);
}

}  // namespace footfall::probe::commands
