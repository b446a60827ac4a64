// Store figures for a site-year: writes N visits in batches of 500 (one transaction each), then reads them
// all back by arrival. Usage: aggregator_store_bench [visits=3000000] [db path]. Not a test: run by hand.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "aggregator/store/sqlite_store.h"

using namespace footfall::aggregator;

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 3'000'000;
  const std::filesystem::path path = argc > 2 ? argv[2] : "/tmp/footfall-store-bench.db";
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
  auto store = SqliteStore::open(path);
  std::mt19937_64 rng(42);
  const TimeMs year_start = 1'704'067'200'000;  // 2024-01-01
  const TimeMs step = 365LL * 86'400'000 / n;
  const auto t0 = std::chrono::steady_clock::now();
  IngestBatch b;
  b.kind = FeedKind::visits;
  b.tenant = "acme";
  b.site = "mall-7";
  long seq = 0;
  const char* zones[] = {"entrance", "food-court", "atrium", "level-2"};
  for (long i = 0; i < n; ++i) {
    Visit v;
    v.tenant = "acme";
    v.site = "mall-7";
    char id[40];
    std::snprintf(id, sizeof id, "%016llx%016lx", static_cast<unsigned long long>(rng()), i);
    v.visit_id = id;
    v.device = std::string(id, 32);
    v.key_epoch = i / 8000;
    v.arrival = year_start + i * step + static_cast<TimeMs>(rng() % 60'000);
    v.dwell_s = static_cast<double>(rng() % 3600);
    v.departure = v.arrival + static_cast<TimeMs>(v.dwell_s * 1000);
    v.zones = {zones[rng() % 4], zones[rng() % 4]};
    v.entry_zone = v.zones.front();
    v.exit_zone = v.zones.back();
    v.strongest_zone = {{v.arrival, v.zones[0]}, {v.arrival + 60'000, v.zones[1]}};
    for (int p = 0; p < 3; ++p)
      v.probes.push_back({"probe-0" + std::to_string(p), zones[p], v.arrival, v.departure, 40, -50, -61.5});
    v.randomized = true;
    v.fingerprint = std::string(id, 32);
    b.visits.push_back(std::move(v));
    if (b.visits.size() == 500 || i + 1 == n) {
      b.batch_id = "mall-7-1-" + std::to_string(++seq);
      b.seq = seq;
      store->store_batch(b, 0);
      b.visits.clear();
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  long read = 0;
  std::int64_t checksum = 0;
  store->for_each_visit("acme", "mall-7", 0, INT64_MAX, [&](const Visit& v) {
    ++read;
    checksum += static_cast<std::int64_t>(v.probes.size());
  });
  const auto t2 = std::chrono::steady_clock::now();
  const double w = std::chrono::duration<double>(t1 - t0).count();
  const double r = std::chrono::duration<double>(t2 - t1).count();
  std::printf("visits %ld: write %.1f s (%.0f visits/s, %ld batches), read %ld in %.2f s (%.0f visits/s), "
              "file %.0f MiB (%.0f B/visit), probes %lld\n",
              n, w, static_cast<double>(n) / w, seq, read, r, static_cast<double>(read) / r,
              static_cast<double>(std::filesystem::file_size(path)) / 1048576.0,
              static_cast<double>(std::filesystem::file_size(path)) / static_cast<double>(n),
              static_cast<long long>(checksum));
  return read == n ? 0 : 1;
}
