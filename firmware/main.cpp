// footfall-probe: the program on each probe. One subcommand per job; `frames` prints what the radio hears.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "firmware/commands/frames_command.h"

namespace {

using footfall::commands::FramesOptions;

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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"footfall-probe: hears WiFi probe requests, beacons and BLE adverts for visitor counting"};
  app.require_subcommand(1);
  FramesOptions frames_options;
  std::string format = "json";
  add_frames_command(app, frames_options, format);

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
  return footfall::commands::kExitUsage;
}
