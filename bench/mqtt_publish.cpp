// Events per second through MicroBatcher + Publisher (outbox, QoS 1, PUBACK-paced) into a local broker.
// Writes the same events as JSON lines so bench/mqtt_publish.sh can run `mosquitto_pub -l` beside it.
// Usage: mqtt_publish SERVER_URI EVENTS JSONL_OUT OUTBOX_DIR [PER_BATCH] [always|never]  (outbox fsync)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/publish/payloads.h"
#include "common/clock.h"
#include "gateway/publish/publisher.h"

using namespace footfall::gateway::publish;

namespace {

SiteVisit synthetic_visit(std::uint32_t n) {
  char device[33];
  std::snprintf(device, sizeof device, "%016x%016x", 0xb0000000u + n, n * 2654435761u);
  SiteVisit v;
  v.device = device;
  v.key_epoch = 1;
  v.arrival = 1714557600000 + static_cast<UnixMs>(n) * 250;
  v.departure = v.arrival + 60'000 + (n % 900) * 1000;
  v.zones = {"entrance", n % 2 ? "food-court" : "atrium"};
  v.entry_zone = "entrance";
  v.exit_zone = v.zones.back();
  v.strongest_zone = {{v.arrival, "entrance"}, {v.arrival + 30'000, v.zones.back()}};
  v.probes = {{"probe-01", "entrance", v.arrival, v.arrival + 30'000, 12 + n % 40, -45, -61.5},
              {"probe-02", v.zones.back(), v.arrival + 20'000, v.departure, 30 + n % 90, -50, -66.25}};
  v.randomized = n % 3 != 0;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s SERVER_URI EVENTS JSONL_OUT OUTBOX_DIR [PER_BATCH]\n", argv[0]);
    return 2;
  }
  const auto events = static_cast<std::uint32_t>(std::strtoul(argv[2], nullptr, 10));
  const std::size_t per_batch = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 500;
  std::error_code ec;
  std::filesystem::remove_all(argv[4], ec);

  std::vector<SiteVisit> visits;
  visits.reserve(events);
  {
    std::ofstream jsonl(argv[3]);
    for (std::uint32_t i = 0; i < events; ++i) {
      visits.push_back(synthetic_visit(i));
      jsonl << *encode_visit(visits.back()) << '\n';
    }
  }

  PublisherConfig cfg;
  cfg.server_uri = argv[1];
  cfg.tenant = "bench";
  cfg.site = "site-1";
  cfg.software_version = "bench";
  cfg.outbox_dir = argv[4];
  cfg.visits = {5000, per_batch, 4u << 20};
  const std::string fsync = argc > 6 ? argv[6] : "always";
  cfg.outbox_fsync.mode = fsync == "never" ? footfall::segment_log::FsyncMode::never : footfall::segment_log::FsyncMode::always;
  auto opened = Publisher::open(cfg, footfall::clock::wall_ms());
  if (!opened.publisher) {
    std::fprintf(stderr, "%s\n", opened.error.c_str());
    return 1;
  }
  Publisher& pub = *opened.publisher;
  const auto connect_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pub.connected()) {
    if (std::chrono::steady_clock::now() > connect_deadline) {
      std::fprintf(stderr, "no connection: %s\n", pub.last_error().c_str());
      return 1;
    }
    pub.poll(footfall::clock::wall_ms());
    struct timespec ts{0, 2'000'000};
    ::nanosleep(&ts, nullptr);
  }

  const auto start = std::chrono::steady_clock::now();
  std::uint32_t next = 0;
  double submitted_at = -1;  // seconds until every event was in a sealed, stored batch
  const auto deadline = start + std::chrono::seconds(120);
  for (;;) {
    while (next < events && pub.submit_visit(visits[next], footfall::clock::wall_ms()) == SubmitVerdict::accepted) ++next;
    if (next == events && submitted_at < 0) {
      pub.flush(footfall::clock::wall_ms());
      submitted_at = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    pub.poll(footfall::clock::wall_ms());
    const PublishCounters c = pub.counters();
    if (next == events && c.acked == c.batches_sealed && c.outbox_records == 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "timed out: %s\n", pub.last_error().c_str());
      return 1;
    }
    if (next == events) {
      struct timespec ts{0, 200'000};
      ::nanosleep(&ts, nullptr);
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const PublishCounters c = pub.counters();
  std::printf("footfall_publisher fsync=%s events=%u batches=%llu stored_after_s=%.3f seconds=%.3f events_per_s=%.0f drops=%zu\n",
              fsync.c_str(), events, static_cast<unsigned long long>(c.batches_sealed), submitted_at, secs, events / secs,
              c.drops_by_reason.size());
  return 0;
}
