// footfall-probe: the program on each probe. One subcommand per job; `frames` prints what the radio hears.
#include <cstdint>
#include <cstdio>
#include <string>

#include "probe/commands/calibrate_command.h"
#include "probe/commands/command_line.h"
#include "probe/commands/frames_command.h"
#include "probe/commands/presence_command.h"
#include "probe/commands/run_command.h"
#include "probe/commands/selftest_command.h"
#include "probe/config/probe_config.h"

namespace {

using footfall::probe::commands::CommandLine;
using footfall::probe::commands::FramesOptions;
using footfall::probe::commands::PresenceOptions;
using footfall::probe::commands::RunOptions;

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

void add_frames_command(CommandLine& cli, FramesOptions& options, std::string& format) {
  namespace c = footfall::probe::commands;
  auto& frames = cli.add("frames", "Print the probe requests, probe responses and beacons (and BLE adverts) of a capture as JSON lines",
                         kFramesFooter);
  auto& read = frames.option("-r,--read", "FILE", "Capture file, pcap or pcapng; - reads standard input", c::text(options.read_path));
  auto& interface = frames.option("-i,--interface", "IFACE", "Capture live from this interface", c::text(options.live.interface));
  read.excludes(interface);
  frames.require_one_of(read, interface);
  frames.flag("--ble", "Also print Bluetooth LE advertisements", options.ble);
  frames.option("--format", "json|none", "json: one line per frame (default); none: parse and count only",
                c::one_of(format, {"json", "none"}));
  frames.option("-c,--count", "N", "Stop after this many packets (0: no limit)", c::whole_number(options.count, 0));
  frames.flag("--monitor", "Put the interface in monitor mode (rfmon)", options.live.monitor).needs(interface);
  frames.option("--duration", "SECONDS", "Stop a live capture after this many seconds", c::positive_number(options.duration_s))
      .needs(interface);
  frames.option("--filter", "BPF", "BPF filter for a live capture (default on 802.11 link types: \"type mgt\"; \"\" for none)",
                c::text(options.live.filter))
      .needs(interface);
  frames.option("--snaplen", "BYTES", "Bytes kept of each live packet (64..262144)", c::whole_number(options.live.snaplen, 64, 262144))
      .needs(interface);
}

constexpr const char* kPresenceFooter = R"(
Runs a capture file through the presence tracker (only probe requests count as devices; beacons and probe
responses come from access points) and prints one JSON object per line for each event:
  kind                 arrival | update | departure
  ts_ns                when it happened, capture time (departure: when the device was last heard)
  device               16 hex digits, the same for every address linked to one device (random addresses
                       of one phone); the number of devices in a capture is the number of distinct values
  mac, randomized      the address of the device's latest frame and its locally administered bit
  previous_mac         the address the device used before mac (when it has changed address)
  addresses            addresses the device has used so far
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

void add_presence_command(CommandLine& cli, PresenceOptions& options) {
  namespace c = footfall::probe::commands;
  auto& cmd = cli.add("presence", "Print arrivals, updates and departures of the devices in a capture file", kPresenceFooter);
  cmd.option("-r,--read", "FILE", "Capture file, pcap or pcapng; - reads standard input", c::text(options.read_path)).required();
  cmd.option("--config", "FILE", "probe.json whose presence section applies", c::existing_file(options.config_path));
  cmd.option("--floor", "DBM", "Signal floor, dBm, -128..0 (default -90)", c::whole_number(options.floor_dbm, -128, 0));
  cmd.option("--silence", "SECONDS", "Seconds without a frame after which a device has left, 1..86400 (default 300)",
             c::whole_number(options.silence_s, 1, 86400));
  cmd.option("--update", "SECONDS", "Report present devices every this many seconds; 0: never (default 60)",
             c::whole_number(options.update_s, 0, 86400));
  cmd.flag("--all-randomized",
           "Link every WiFi address as if randomised (captures whose addresses were re-randomised by their authors)",
           options.all_randomized);
  cmd.flag("--no-link", "Every address is its own device (no device linking)", options.no_link);
}

constexpr const char* kRunFooter = R"(
The probe's job: capture (source.interface live, or source.file replayed) -> presence -> batches -> on-disk
spool -> gateway (TCP or TLS), resending whatever the gateway has not acked. See --help-config for every key.
Live: runs until SIGTERM / SIGINT, which seal the open batch into the spool and exit 0 (devices present are not
reported as departed: a stop is not a departure). File: resumes after its checkpoint in spool.dir; at its end
every device departs, and the probe waits up to drain_timeout_s for the gateway to ack everything.
Exit status: 0 done, 1 runtime failure (read error, spool unusable, drain timed out), 2 bad config or source.
)";

void add_run_command(CommandLine& cli, RunOptions& options) {
  namespace c = footfall::probe::commands;
  auto& cmd = cli.add("run", "Capture, track presence and send batches to the gateway (probe.json)", kRunFooter);
  auto& config = cmd.option("-c,--config", "FILE", "probe.json", c::text(options.config_path));
  auto& help_config = cmd.flag("--help-config", "Print every probe.json key with type, default and help", options.help_config);
  cmd.require_one_of(config, help_config);
  cmd.option("--log-format", "auto|text|journal",
             "Log lines: text (time level program message), journal (<priority>message, for systemd's journal); "
             "auto (default): journal when standard error is the journal's stream",
             [&options](std::string_view v) {
               const auto format = footfall::log::parse_log_format(v);
               if (!format) return "\"" + std::string(v) + "\" is not one of auto, text, journal";
               options.log_format = *format;
               return std::string();
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

void add_selftest_command(CommandLine& cli, footfall::probe::commands::SelftestOptions& options) {
  namespace c = footfall::probe::commands;
  auto& cmd = cli.add("selftest", "Installer checks: radio, monitor mode, frames, gateway, clock, spool", kSelftestFooter);
  cmd.option("-c,--config", "FILE", "probe.json", c::existing_file(options.config_path)).required();
  cmd.option("--listen", "SECONDS", "Seconds to listen for frames, 0.1..3600 (default 10)", c::number(options.listen_s, 0.1, 3600.0));
  cmd.option("--min-frames", "N", "Frames needed to pass, 1..1000000 (default 1)", c::whole_number(options.min_frames, 1, 1000000));
  cmd.option("--clock-tolerance-ms", "MS", "Largest clock offset to the gateway that passes (default 2000)",
             c::whole_number(options.clock_tolerance_ms, 0, 86400000));
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

void add_calibrate_command(CommandLine& cli, footfall::probe::commands::CalibrateOptions& options) {
  namespace c = footfall::probe::commands;
  auto& cmd = cli.add("calibrate", "Walk test: live signal of one phone, and a proposed visitor threshold", kCalibrateFooter);
  cmd.option("--mac", "ADDRESS", "The phone's address as the probe hears it, aa:bb:cc:dd:ee:ff", c::text(options.mac)).required();
  auto& read = cmd.option("-r,--read", "FILE", "A capture file (a recorded walk)", c::text(options.read_path));
  auto& interface = cmd.option("-i,--interface", "IFACE", "Listen live on this interface", c::text(options.interface));
  read.excludes(interface);
  cmd.require_one_of(read, interface);
  cmd.flag("--monitor", "Put the interface in monitor mode (rfmon)", options.monitor).needs(interface);
  cmd.option("--duration", "SECONDS", "Stop a live walk after this many seconds", c::positive_number(options.duration_s))
      .needs(interface);
  cmd.option("--config", "FILE", "probe.json, to show its current threshold", c::existing_file(options.config_path));
  cmd.option("--percentile", "P", "Percentile of the walk-line signal, 1..50 (default 10)", c::whole_number(options.percentile, 1, 50));
  cmd.option("--margin", "DB", "dB subtracted from it, 0..30 (default 0)", c::whole_number(options.margin_db, 0, 30));
  cmd.option("--min-frames", "N", "Frames with a signal needed for a proposal (default 20)",
             c::whole_number(options.min_frames, 1, 1000000));
}

}  // namespace

int main(int argc, char** argv) {
  CommandLine cli{"footfall-probe", "hears WiFi probe requests, beacons and BLE adverts for visitor counting",
                  FOOTFALL_VERSION};
  cli.help_config(footfall::probe::config::probe_options_help);
  FramesOptions frames_options;
  std::string format = "json";
  add_frames_command(cli, frames_options, format);
  PresenceOptions presence_options;
  add_presence_command(cli, presence_options);
  RunOptions run_options;
  add_run_command(cli, run_options);
  footfall::probe::commands::SelftestOptions selftest_options;
  add_selftest_command(cli, selftest_options);
  footfall::probe::commands::CalibrateOptions calibrate_options;
  add_calibrate_command(cli, calibrate_options);

  const auto parsed = cli.parse(argc, argv, stdout, stderr);
  if (parsed.chosen == nullptr) return parsed.exit_status == 0 ? 0 : footfall::probe::commands::kExitUsage;
  const std::string& name = parsed.chosen->name();
  if (name == "frames") {
    frames_options.format = format == "none" ? FramesOptions::Format::none : FramesOptions::Format::json;
    return footfall::probe::commands::run_frames(frames_options, stdout, stderr);
  }
  if (name == "presence") return footfall::probe::commands::run_presence(presence_options, stdout, stderr);
  if (name == "run") return footfall::probe::commands::run_probe(run_options, stdout, stderr);
  if (name == "selftest") return footfall::probe::commands::run_selftest(selftest_options, stdout, stderr);
  if (name == "calibrate") return footfall::probe::commands::run_calibrate(calibrate_options, stdout, stderr);
  return footfall::probe::commands::kExitUsage;
}
