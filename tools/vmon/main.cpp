// footfall-vmon: a virtual monitor interface to test live capture without a radio.
#include <CLI/CLI.hpp>
#include <pcap/pcap.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <thread>

#include "tools/vmon/virtual_monitor.h"

namespace {

using footfall::vmon::VirtualMonitor;
using footfall::vmon::VmonError;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnavailable = 77;  // no TUN/TAP or no permission: callers treat it as "skip"

constexpr int kLinkTypeRadiotap = 127;
constexpr std::size_t kMinTapFrame = 14;  // the kernel refuses shorter writes on a TAP

constexpr const char* kFooter = R"(
Commands:
  create NAME   make a persistent TAP interface with link type radiotap (ARPHRD 803) and bring it up;
                libpcap then captures on NAME with link type IEEE802_11_RADIO (127)
  delete NAME   remove it again
  inject NAME --read FILE [--speed X | --as-fast-as-possible] [--count N]
                write each frame of a radiotap capture (link type 127) into NAME, where it is received
                as if a radio had heard it; --speed paces by the capture's timestamps (2 = twice as fast)
Exit status: 0 done, 1 failed, 2 usage error or bad input file, 77 TUN/TAP unavailable or not permitted
(needs root or CAP_NET_ADMIN and /dev/net/tun).

Example:
  footfall-vmon create ffmon0
  footfall-probe frames --interface ffmon0 &
  footfall-vmon inject ffmon0 --read probes.pcap --speed 1
  footfall-vmon delete ffmon0
)";

struct PcapCloser {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};

struct InjectOptions {
  std::string name;
  std::string read_path;
  double speed = 0;  // 0: as fast as possible
  std::uint64_t count = 0;
};

int report(const VmonError& e) {
  std::fprintf(stderr, "footfall-vmon: %s\n", e.what());
  if (e.unavailable()) return kExitUnavailable;
  return e.kind() == VmonError::Kind::system ? kExitFailure : kExitUsage;
}

int inject(const InjectOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, PcapCloser> capture(
      pcap_open_offline_with_tstamp_precision(options.read_path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf));
  if (!capture) {
    std::fprintf(stderr, "footfall-vmon: cannot read capture '%s': %s\n", options.read_path.c_str(), errbuf);
    return kExitUsage;
  }
  if (pcap_datalink(capture.get()) != kLinkTypeRadiotap) {
    std::fprintf(stderr, "footfall-vmon: capture '%s' has link type %s (%d); only radiotap (127) can be injected\n",
                 options.read_path.c_str(), pcap_datalink_val_to_name(pcap_datalink(capture.get())),
                 pcap_datalink(capture.get()));
    return kExitUsage;
  }
  VirtualMonitor monitor = VirtualMonitor::attach(options.name);

  std::uint64_t injected = 0;
  std::uint64_t skipped = 0;
  bool paced_start = false;
  std::int64_t first_ts_ns = 0;
  auto start = std::chrono::steady_clock::now();
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = 0;
  while ((options.count == 0 || injected < options.count) && (rc = pcap_next_ex(capture.get(), &header, &data)) == 1) {
    const std::int64_t ts_ns = static_cast<std::int64_t>(header->ts.tv_sec) * 1'000'000'000 + header->ts.tv_usec;
    if (options.speed > 0) {
      if (!paced_start) {
        paced_start = true;
        first_ts_ns = ts_ns;
        start = std::chrono::steady_clock::now();
      }
      const double offset_s = static_cast<double>(ts_ns - first_ts_ns) / 1e9 / options.speed;
      if (offset_s > 0) {
        std::this_thread::sleep_until(start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                  std::chrono::duration<double>(offset_s)));
      }
    }
    if (header->caplen < kMinTapFrame) {
      ++skipped;
      continue;
    }
    monitor.inject(std::span<const std::uint8_t>(data, header->caplen));
    ++injected;
  }
  if (rc == PCAP_ERROR) {
    std::fprintf(stderr, "footfall-vmon: stopped reading '%s': %s\n", options.read_path.c_str(), pcap_geterr(capture.get()));
  }
  std::fprintf(stderr, "footfall-vmon: injected %llu frames into %s (skipped %llu shorter than %zu bytes)\n",
               static_cast<unsigned long long>(injected), options.name.c_str(),
               static_cast<unsigned long long>(skipped), kMinTapFrame);
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"footfall-vmon: a virtual monitor-mode interface (TAP with radiotap link type) for testing live capture"};
  app.footer(kFooter);
  app.require_subcommand(1);

  std::string create_name;
  CLI::App* create = app.add_subcommand("create", "Create a virtual monitor interface");
  create->add_option("NAME", create_name, "Interface name")->required();

  std::string delete_name;
  CLI::App* remove = app.add_subcommand("delete", "Delete a virtual monitor interface");
  remove->add_option("NAME", delete_name, "Interface name")->required();

  InjectOptions inject_options;
  bool as_fast_as_possible = false;
  CLI::App* inject_cmd = app.add_subcommand("inject", "Inject the frames of a radiotap capture");
  inject_cmd->add_option("NAME", inject_options.name, "Interface name")->required();
  inject_cmd->add_option("-r,--read", inject_options.read_path, "Capture file with link type radiotap (127)")->required();
  auto* speed = inject_cmd->add_option("--speed", inject_options.speed, "Pace by capture timestamps, this many times real time")
                    ->check(CLI::PositiveNumber);
  inject_cmd->add_flag("--as-fast-as-possible", as_fast_as_possible, "No pacing (the default)")->excludes(speed);
  inject_cmd->add_option("-c,--count", inject_options.count, "Stop after this many frames (0: all)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  try {
    if (app.got_subcommand(create)) {
      VirtualMonitor monitor = VirtualMonitor::create(create_name);
      monitor.keep();
      std::fprintf(stderr, "footfall-vmon: created %s (radiotap, up)\n", create_name.c_str());
      return kExitOk;
    }
    if (app.got_subcommand(remove)) {
      VirtualMonitor::destroy(delete_name);
      std::fprintf(stderr, "footfall-vmon: deleted %s\n", delete_name.c_str());
      return kExitOk;
    }
    if (as_fast_as_possible) inject_options.speed = 0;
    return inject(inject_options);
  } catch (const VmonError& e) {
    return report(e);
  }
}
