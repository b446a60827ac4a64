#pragma once
// The self-test's I/O: look at the interface (/sys/class/net, iw, libpcap), open the capture as `run` would,
// listen for frames, say Hello to the gateway with the probe's credentials, read the clock, try the spool.
// Each returns plain facts for checks.h to judge; nothing here decides PASS or FAIL.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "probe/capture/pcap_source.h"
#include "probe/config/probe_config.h"
#include "probe/selftest/checks.h"

namespace footfall::probe::selftest {

InterfaceFacts observe_interface(const std::string& name);

// What a program printed, run with a bounded wait (killed at the limit).
struct ProgramOutput {
  bool started = false;  // false: not installed (or not executable)
  bool timed_out = false;
  int status = -1;       // exit status
  std::string out;
  std::string err;
};
ProgramOutput run_program(const std::vector<std::string>& args, std::chrono::milliseconds limit);

// iw (nl80211) for wireless interfaces, pcap_can_set_rfmon as well / instead; nothing when the link type is
// monitor already.
MonitorFacts observe_monitor_support(const InterfaceFacts& interface);

struct CaptureAttempt {
  std::optional<capture::PcapSource> source;
  CaptureFacts facts;
};
// Opens source.interface with the config's options. rfmon is asked for only when source.monitor is set and the
// link type is not monitor already (a virtual monitor refuses rfmon, and needs none).
CaptureAttempt open_capture(const config::ProbeConfig::Source& source, const InterfaceFacts& interface);

// Listens for `window` (or until SIGINT / SIGTERM) and counts what is heard; BLE adverts count too.
FrameTally listen(capture::PcapSource& source, std::chrono::milliseconds window);

// One Hello with the probe's id and token over TCP or TLS as in probe.json; the whole exchange is bounded by
// uplink.connect_timeout_ms.
GatewayAnswer say_hello(const config::ProbeConfig& config, const std::string& software_version);

// Wall clock, the kernel's NTP state, and the offset to the gateway when `answer` was an accepted Hello.
ClockFacts observe_clock(const GatewayAnswer* answer);

// Creates spool.dir when missing (as `run` does), writes, syncs and removes a probe file there, and measures
// the room left for the spool.
SpoolFacts observe_spool(const config::ProbeConfig::Spool& spool);

}  // namespace footfall::probe::selftest
