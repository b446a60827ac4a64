// Throughput of the probe's pipeline as `footfall-probe run` runs it on its capture thread:
//   capture file -> parse -> presence -> batches encoded -> spool (on disk, in a temporary directory)
// with the probe's defaults (spool.fsync group), no uplink. Prints frames/s and events/s over wall and CPU time.
// Also writes the capture for the memory run: one probe request from each of N distinct phones.
//
//   probe_pipeline run CAPTURE [--fsync group|never|always] [--repeat N] [--no-link] [--gate-db DB]
// --no-link: presence.link_addresses off (one device per address), the pipeline before device linking.
// --gate-db: link_rssi_gate_db DB and link_rssi_gate_k 0 (not the defaults: the linker's worst case, see link_cost).
//   probe_pipeline devices N OUT.pcap
#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "probe/capture/pcap_source.h"
#include "probe/config/probe_config.h"
#include "probe/pipeline/capture_stage.h"
#include "probe/uplink/uplink.h"
#include "tools/sim/frame_builder.h"
#include "tools/sim/pcap_writer.h"
#include "tools/sim/site_model.h"

namespace {

using namespace footfall;
using namespace footfall::probe;

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

struct Run {
  double wall_s = 0;
  double cpu_s = 0;
  pipeline::CaptureSnapshot stats;
  std::uint64_t spool_bytes = 0;
};

Run run_once(const std::string& capture, spool::FsyncMode fsync, bool link, std::optional<double> gate_db) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "probe-pipeline-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot make a temporary directory");
  const std::filesystem::path dir = tmpl;
  const config::ProbeConfig defaults;
  spool::SpoolLimits limits;
  limits.max_total_bytes = 1ull << 30;  // everything stays: the figure is the pipeline, not the full-policy
  Run r;
  {
    spool::OpenResult opened = spool::Spool::open(dir, limits, {fsync, 16, 5'000'000'000});
    if (!opened.spool) throw std::runtime_error("spool: " + opened.error.message());
    spool::SharedSpool shared(*opened.spool);
    capture::PcapSource source = capture::PcapSource::open_file(capture);
    pipeline::CaptureStageOptions options;
    options.presence = config::presence_config(defaults.presence);
    options.presence.link.link_addresses = link;
    if (gate_db) {
      options.presence.link.rssi_gate_db = *gate_db;
      options.presence.link.rssi_gate_k = 0;
    }
    options.batch.max_records = static_cast<std::size_t>(defaults.batch.max_records);
    options.batch.max_age_ns = defaults.batch.max_age_ms * 1'000'000;
    options.fsync = fsync;
    pipeline::CaptureStage stage(source, shared, options, {});
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    const pipeline::CaptureOutcome outcome = stage.run();
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.cpu_s = cpu_seconds() - cpu0;
    if (outcome != pipeline::CaptureOutcome::end_of_file) throw std::runtime_error("capture: " + stage.error());
    r.stats = stage.snapshot();
    r.spool_bytes = shared.with([](spool::Spool& s) { return s.depth().unacked_bytes; });
  }
  std::filesystem::remove_all(dir);
  return r;
}

int run_command(int argc, char** argv) {
  std::string capture = argv[2];
  spool::FsyncMode fsync = spool::FsyncMode::group;
  int repeat = 3;
  bool link = true;
  std::optional<double> gate_db;
  for (int i = 3; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-link") == 0) {
      link = false;
    } else if (i + 1 < argc && std::strcmp(argv[i], "--gate-db") == 0) {
      gate_db = std::stod(argv[++i]);
    } else if (i + 1 < argc && std::strcmp(argv[i], "--fsync") == 0) {
      const std::string m = argv[++i];
      fsync = m == "never" ? spool::FsyncMode::never : m == "always" ? spool::FsyncMode::always : spool::FsyncMode::group;
    } else if (i + 1 < argc && std::strcmp(argv[i], "--repeat") == 0) {
      repeat = std::max(1, std::atoi(argv[++i]));
    }
  }
  Run best;
  for (int i = 0; i < repeat; ++i) {
    const Run r = run_once(capture, fsync, link, gate_db);
    if (i == 0 || r.cpu_s < best.cpu_s) best = r;
  }
  const auto& s = best.stats;
  const std::uint64_t events = s.presence.arrivals + s.presence.updates + s.presence.departures;
  std::printf("frames %llu sightings %llu events %llu batches %llu spool_bytes %llu\n",
              static_cast<unsigned long long>(s.packets_read), static_cast<unsigned long long>(s.sightings),
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(s.batches_spooled),
              static_cast<unsigned long long>(best.spool_bytes));
  std::printf("wall_s %.3f cpu_s %.3f frames_per_s_wall %.0f frames_per_s_cpu %.0f events_per_s_wall %.0f "
              "events_per_s_cpu %.0f\n",
              best.wall_s, best.cpu_s, static_cast<double>(s.packets_read) / best.wall_s,
              static_cast<double>(s.packets_read) / best.cpu_s, static_cast<double>(events) / best.wall_s,
              static_cast<double>(events) / best.cpu_s);
  return 0;
}

// One probe request from each of `devices` distinct fixed (globally administered) addresses, 100 us apart:
// all of them are still present (departure silence 300 s) when the file ends. Fixed, because random addresses
// of one model with counting sequence numbers would rightly be linked into one device.
int devices_command(std::uint64_t devices, const std::string& out) {
  const sim::DeviceModel model = sim::standard_device_models().front();
  sim::PcapWriter writer(out);
  sim::CaptureFrame frame;
  const std::int64_t start_ns = 1'793'610'000'000'000'000;
  for (std::uint64_t i = 0; i < devices; ++i) {
    // A bijection on 40 bits (odd multiplier) behind a globally administered first octet: all distinct.
    const std::uint64_t addr = 0x0400'0000'0000ULL | ((i * 0x9e37'79b9'7f4a'7c15ULL) & 0xff'ffff'ffffULL);
    sim::ProbeRequestFields f;
    for (std::size_t b = 0; b < 6; ++b) f.sa.octets[b] = static_cast<std::uint8_t>(addr >> (40 - 8 * b));
    f.seq = static_cast<std::uint16_t>(i % 4096);
    f.channel = 1;
    frame.dot11_length = sim::build_probe_request(frame.dot11_area(), f, model);
    const std::int64_t ts = start_ns + static_cast<std::int64_t>(i) * 100'000;
    sim::write_radiotap(frame.radiotap_area(), {static_cast<std::uint64_t>(ts / 1000), 2412, -40 - static_cast<int>(i % 40)});
    writer.write(ts, frame.record());
  }
  writer.flush();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 3 && std::strcmp(argv[1], "run") == 0) return run_command(argc, argv);
    if (argc == 4 && std::strcmp(argv[1], "devices") == 0) return devices_command(std::stoull(argv[2]), argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "probe_pipeline: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: probe_pipeline run CAPTURE [--fsync group|never|always] [--repeat N] [--no-link] [--gate-db DB]\n"
                       "       probe_pipeline devices N OUT.pcap\n");
  return 2;
}
