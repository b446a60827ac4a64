// footfall-probe: the program on each probe. One subcommand per job; `frames` prints what the radio hears.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "firmware/commands/frames_command.h"
#include "firmware/commands/presence_command.h"
#include "firmware/commands/calibrate_command.h"
#include "firmware/commands/run_command.h"
#include "firmware/commands/selftest_command.h"

namespace {

using footfall::commands::FramesOptions;
using footfall::commands::PresenceOptions;
using footfall::commands::RunOptions;

constexpr const char* kFramesFooter = R"(
Prints one JSON object per line, in capture order, for each 802.11 probe request, probe response and
beacon (and with --ble each Bluetooth LE advert). Fields:
  frame       1-based index of the packet in the capture (every packet counts)
  ts_ns       capture time, nanoseconds since the Unix epoch
  kind        probe_req | probe_resp | beacon | ble_adv
  sa, bssid   transmitter and BSSID, aa:bb:cc:dd:ee:ff
  ssid_hex    first SSID element as lowercase hex ("" when empty or absent)
  rssi_dbm    first antenna signal of the radio header, or null
  freq_mhz    channel centre frequency, or null
  seq         802.11 sequence number
  randomized  source address is locally administered
  then, when known: ds_channel, fingerprint (probe requests: 16 hex digits over stable elements),
  ie_truncated, fcs_bad; BLE: addr, addr_random, rssi_dbm, channel, pdu_type, company_id, ibeacon, eddystone.
Malformed packets are skipped and counted. A summary of counts by kind and drop reason goes to
standard error. Exit status: 0 when the capture was read to its end (also when a file ends mid-packet),
1 on a read or write error, 2 on a usage error, a file that is not a capture or an unusable interface.

Examples:
  footfall-probe frames --read capture.pcapng
  tcpdump -i wlan0mon -w - | footfall-probe frames --read -
  footfall-probe frames --read capture.pcap --format none        # counts only
  footfall-probe frames --interface wlan0 --monitor --duration 60 --ble
)";

void add_frames_command(CLI::App& app, FramesOptions& options, std::string& format) {
  CLI::App* frames = app.add_subcommand("frames", "Print the probe requests, probe responses and beacons (and BLE adverts) of a capture as JSON lines");
  frames->footer(kFramesFooter);
  auto* read = frames->add_option("-r,--read", options.read_path, "Capture file, pcap or pcapng; - reads standard input");
  auto* interface = frames->add_option("-i,--interface", options.live.interface, "Capture live from this interface");
  read->excludes(interface);
  frames->add_flag("--ble", options.ble, "Also print Bluetooth LE advertisements");
  frames->add_option("--format", format, "json: one line per frame; none: parse and count only")
      ->check(CLI::IsMember({"json", "none"}))
      ->default_val("json");
  frames->add_option("-c,--count", options.count, "Stop after this many packets (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  frames->add_flag("--monitor", options.live.monitor, "Put the interface in monitor mode (rfmon)")->needs(interface);
  frames->add_option("--duration", options.duration_s, "Stop a live capture after this many seconds")
      ->check(CLI::PositiveNumber)
      ->needs(interface);
  frames->add_option_function<std::string>(
            "--filter", [&options](const std::string& bpf) { options.live.filter = bpf; },
            "BPF filter for a live capture (default on 802.11 link types: \"type mgt\"; \"\" for none)")
      ->needs(interface);
  frames->add_option("--snaplen", options.live.snaplen, "Bytes kept of each live packet")
      ->check(CLI::Range(64, 262144))
      ->needs(interface);
  frames->callback([frames, read, interface] {
    if (read->count() == 0 && interface->count() == 0) {
      throw CLI::RequiredError(frames->get_name() + ": one of --read or --interface");
    }
  });
}

constexpr const char* kPresenceFooter = R"(
Runs a capture file through the presence tracker (only probe requests count as devices; beacons and probe
responses come from access points) and prints one JSON object per line for each event:
  kind                 arrival | update | departure
  ts_ns                when it happened, capture time (departure: when the device was last heard)
  mac, randomized      the device address and its locally administered bit
  fingerprint          16 hex digits over the stable elements of its probe requests
  rssi_min/max/mean    dBm over every heard frame since arrival
  strongest_freq_mhz   channel on which it was heard loudest
  frames               frames heard since arrival
  first_seen_ns, last_seen_ns
  dwell_s, cause       departures only: whole seconds present; silence | evicted | shutdown
At the end of the file every device still present departs with cause shutdown (its dwell is a lower bound).
A summary (sightings in, below floor, arrivals, departures, evictions, parse drops by reason) goes to stderr.
Exit status: 0 read to the end, 1 read or write error, 2 usage error, bad config or not a capture.
)";

void add_presence_command(CLI::App& app, PresenceOptions& options) {
  CLI::App* cmd = app.add_subcommand("presence", "Print arrivals, updates and departures of the devices in a capture file");
  cmd->footer(kPresenceFooter);
  cmd->add_option("-r,--read", options.read_path, "Capture file, pcap or pcapng; - reads standard input")->required();
  cmd->add_option("--config", options.config_path, "probe.json whose presence section applies")->check(CLI::ExistingFile);
  cmd->add_option_function<std::int64_t>("--floor", [&options](const std::int64_t& v) { options.floor_dbm = v; },
                                         "Signal floor, dBm (default -90)")
      ->check(CLI::Range(-128, 0));
  cmd->add_option_function<std::int64_t>("--silence", [&options](const std::int64_t& v) { options.silence_s = v; },
                                         "Seconds without a frame after which a device has left (default 300)")
      ->check(CLI::Range(1, 86400));
  cmd->add_option_function<std::int64_t>("--update", [&options](const std::int64_t& v) { options.update_s = v; },
                                         "Report present devices every this many seconds; 0: never (default 60)")
      ->check(CLI::Range(0, 86400));
}

constexpr const char* kRunFooter = R"(
The probe's job: capture (source.interface live, or source.file replayed) -> presence -> batches -> on-disk
spool -> gateway (TCP or TLS), resending whatever the gateway has not acked. See --help-config for every key.
Live: runs until SIGTERM / SIGINT, which seal the open batch into the spool and exit 0 (devices present are not
reported as departed: a stop is not a departure). File: resumes after its checkpoint in spool.dir; at its end
every device departs, and the probe waits up to drain_timeout_s for the gateway to ack everything.
Exit status: 0 done, 1 runtime failure (read error, spool unusable, drain timed out), 2 bad config or source.
)";

void add_run_command(CLI::App& app, RunOptions& options) {
  CLI::App* cmd = app.add_subcommand("run", "Capture, track presence and send batches to the gateway (probe.json)");
  cmd->footer(kRunFooter);
  auto* config = cmd->add_option("-c,--config", options.config_path, "probe.json");
  auto* help_config = cmd->add_flag("--help-config", options.help_config, "Print every probe.json key with type, default and help");
  cmd->callback([cmd, config, help_config] {
    if (config->count() == 0 && help_config->count() == 0) throw CLI::RequiredError(cmd->get_name() + ": --config");
  });
}

constexpr const char* kSelftestFooter = R"(
Checks, in order, one line each (PASS, FAIL, or SKIP when an earlier check it needs failed):
  interface  source.interface exists and is up
  monitor    it does monitor mode; the line names the method: link type (already 802.11 / radiotap, e.g. a
             virtual monitor), nl80211 via iw (iw dev/phy info), or libpcap's pcap_can_set_rfmon
  capture    it opens as `run` opens it (rfmon when source.monitor and not monitor already), 802.11 link type
  frames     management frames heard within --listen seconds: count, channels, strongest and weakest signal
  gateway    a Hello with probe_id and token is accepted (TCP or TLS as configured)
  clock      the date is plausible and within --clock-tolerance-ms of the gateway's clock
  spool      spool.dir is writable (created if missing) and its filesystem has room for spool.max_mb
A failure prints a one-line hint below it; a summary line ends the report.
Exit status: 0 when every check passed, 1 otherwise, 2 on a usage error or a bad probe.json.
Run it as root, with `footfall-probe run` stopped (the gateway refuses a second session of the same probe).
)";

void add_selftest_command(CLI::App& app, footfall::commands::SelftestOptions& options) {
  CLI::App* cmd = app.add_subcommand("selftest", "Installer checks: radio, monitor mode, frames, gateway, clock, spool");
  cmd->footer(kSelftestFooter);
  cmd->add_option("-c,--config", options.config_path, "probe.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("--listen", options.listen_s, "Seconds to listen for frames (default 10)")->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--min-frames", options.min_frames, "Frames needed to pass (default 1)")->check(CLI::Range(1, 1000000));
  cmd->add_option("--clock-tolerance-ms", options.clock_tolerance_ms, "Largest clock offset to the gateway that passes (default 2000)")
      ->check(CLI::Range(0, 86400000));
}

constexpr const char* kCalibrateFooter = R"(
The walk test (hw/calibration.md): carry a phone whose WiFi settings screen is open along the entrance line
while this runs. Once a second it prints that phone's signal: a meter of the loudest frame of the second, then
the running count, min / median / p90 / max and channels. At the end (Ctrl-C, --duration, end of --read) it
prints a histogram and proposes the visitor threshold: the p10 (nearest rank, --percentile) of the walk-line
signal minus --margin: 90 % of the phone's frames on the line were at least that strong. It prints the
probe.json line to use: "presence": {"signal_floor_dbm": N}.
Exit status: 0 a threshold was proposed, 1 too few frames from the phone (--min-frames), 2 usage error.
)";

void add_calibrate_command(CLI::App& app, footfall::commands::CalibrateOptions& options) {
  CLI::App* cmd = app.add_subcommand("calibrate", "Walk test: live signal of one phone, and a proposed visitor threshold");
  cmd->footer(kCalibrateFooter);
  cmd->add_option("--mac", options.mac, "The phone's address as the probe hears it, aa:bb:cc:dd:ee:ff")->required();
  auto* read = cmd->add_option("-r,--read", options.read_path, "A capture file (a recorded walk)");
  auto* interface = cmd->add_option("-i,--interface", options.interface, "Listen live on this interface");
  read->excludes(interface);
  cmd->add_flag("--monitor", options.monitor, "Put the interface in monitor mode (rfmon)")->needs(interface);
  cmd->add_option("--duration", options.duration_s, "Stop a live walk after this many seconds")
      ->check(CLI::PositiveNumber)
      ->needs(interface);
  cmd->add_option("--config", options.config_path, "probe.json, to show its current threshold")->check(CLI::ExistingFile);
  cmd->add_option("--percentile", options.percentile, "Percentile of the walk-line signal (default 10)")->check(CLI::Range(1, 50));
  cmd->add_option("--margin", options.margin_db, "dB subtracted from it (default 0)")->check(CLI::Range(0, 30));
  cmd->add_option("--min-frames", options.min_frames, "Frames with a signal needed for a proposal (default 20)")
      ->check(CLI::Range(1, 1000000));
  cmd->callback([cmd, read, interface] {
    if (read->count() == 0 && interface->count() == 0) throw CLI::RequiredError(cmd->get_name() + ": one of --read or --interface");
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"footfall-probe: hears WiFi probe requests, beacons and BLE adverts for visitor counting"};
  app.require_subcommand(1);
  FramesOptions frames_options;
  std::string format = "json";
  add_frames_command(app, frames_options, format);
  PresenceOptions presence_options;
  add_presence_command(app, presence_options);
  RunOptions run_options;
  add_run_command(app, run_options);
  footfall::commands::SelftestOptions selftest_options;
  add_selftest_command(app, selftest_options);
  footfall::commands::CalibrateOptions calibrate_options;
  add_calibrate_command(app, calibrate_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : footfall::commands::kExitUsage;
  }

  if (app.got_subcommand("frames")) {
    frames_options.format = format == "none" ? FramesOptions::Format::none : FramesOptions::Format::json;
    return footfall::commands::run_frames(frames_options, stdout, stderr);
  }
  if (app.got_subcommand("presence")) return footfall::commands::run_presence(presence_options, stdout, stderr);
  if (app.got_subcommand("run")) return footfall::commands::run_probe(run_options, stdout, stderr);
  if (app.got_subcommand("selftest")) return footfall::commands::run_selftest(selftest_options, stdout, stderr);
  if (app.got_subcommand("calibrate")) return footfall::commands::run_calibrate(calibrate_options, stdout, stderr);
  return footfall::commands::kExitUsage;
}
