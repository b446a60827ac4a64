// Gateway throughput on one thread: journal records (zstd wire batches) -> decode -> opt-out -> merge ->
// pseudonymize -> publish (micro-batches, outbox with group-commit fdatasync, QoS 1 to a local mosquitto),
// timed until the broker has acknowledged everything. Also writes the same presence events as JSON lines,
// one per line, for the peer run (mosquitto_pub -l -q 1) in bench/gateway_throughput.sh.
//
//   gateway_throughput BROKER_URI EVENTS WORK_DIR [fsync: always|never]
// prints: footfall events=... seconds=... events_per_s=... visits=... batches=... us_per_visit=...
#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/wire/codec.h"
#include "common/clock.h"
#include "gateway/journal/journal.h"
#include "gateway/publish/publisher.h"
#include "gateway/site/site_pipeline.h"

using namespace footfall;
using namespace footfall::gateway;

namespace {

constexpr std::int64_t kT0 = 1'793'610'000'000'000'000;  // 2026-11-02T09:00:00Z
constexpr std::int64_t kSecond = 1'000'000'000;
const char* const kProbes[] = {"entrance", "model-room", "negotiation"};

// CPU seconds of the whole process (every thread: Paho's too) and of the calling thread.
double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One device's presence at one probe: arrival, `updates` updates a minute apart, departure.
void presence(std::vector<PresenceEvent>& out, std::uint32_t device, std::int64_t first_ns, int updates) {
  PresenceEvent e;
  e.mac = MacAddress{{0x02, 0x42, static_cast<std::uint8_t>(device >> 24), static_cast<std::uint8_t>(device >> 16),
                      static_cast<std::uint8_t>(device >> 8), static_cast<std::uint8_t>(device)}};
  e.randomized = true;
  e.fingerprint = 0x9e3779b97f4a7c15ull * (device % 7 + 1);
  e.first_seen_ns = first_ns;
  e.rssi_min = -80;
  e.rssi_max = -55;
  e.rssi_mean = -66;
  e.interval_rssi_mean = -66;
  e.strongest_freq_mhz = 2437;
  for (int k = 0; k <= updates + 1; ++k) {
    e.kind = k == 0 ? PresenceKind::arrival : k <= updates ? PresenceKind::update : PresenceKind::departure;
    e.ts_ns = first_ns + k * 60 * kSecond;
    e.last_seen_ns = e.ts_ns;
    e.frames = static_cast<std::uint32_t>(3 * (k + 1));
    e.interval_frames = 3;
    e.dwell_s = static_cast<std::uint32_t>(k * 60);
    e.cause = e.kind == PresenceKind::departure ? DepartureCause::silence : DepartureCause::none;
    out.push_back(e);
  }
}

std::string event_json(const char* probe, const PresenceEvent& e) {
  char line[320];
  const char* kind = e.kind == PresenceKind::arrival ? "arrival" : e.kind == PresenceKind::update ? "update" : "departure";
  std::snprintf(line, sizeof line,
                R"({"probe":"%s","kind":"%s","mac":"%s","ts_ns":%lld,"first_seen_ns":%lld,"last_seen_ns":%lld,)"
                R"("frames":%u,"rssi_min":%d,"rssi_max":%d,"rssi_mean":%d})",
                probe, kind, e.mac.to_string().c_str(), static_cast<long long>(e.ts_ns),
                static_cast<long long>(e.first_seen_ns), static_cast<long long>(e.last_seen_ns), e.frames, e.rssi_min,
                e.rssi_max, e.rssi_mean);
  return line;
}

// A visit of three probes, as the merge typically produces one.
publish::SiteVisit sample_visit(int i) {
  publish::SiteVisit v;
  v.device = "0123456789abcdef0123456789abcd" + std::to_string(10 + i % 90);
  v.visit_id = "fedcba9876543210fedcba98765432" + std::to_string(10 + i % 90);
  v.key_epoch = 20759;
  v.arrival = 1'793'610'000'123 + i;
  v.departure = v.arrival + 900'500;
  v.zones = {"entrance", "model-room", "negotiation"};
  v.entry_zone = "entrance";
  v.exit_zone = "entrance";
  v.strongest_zone = {{v.arrival, "entrance"}, {v.arrival + 60'000, "model-room"}, {v.arrival + 600'000, "negotiation"}};
  for (const char* p : kProbes) v.probes.push_back({p, p, v.arrival, v.departure, 42, -48, -61.0});
  v.fingerprint = "fedcba9876543210";
  return v;
}

// The encoding the publisher used before the hand-written writer: a nlohmann DOM per visit.
std::string dom_encoding(const publish::SiteVisit& v) {
  using nlohmann::json;
  json strongest = json::array();
  for (const auto& s : v.strongest_zone) strongest.push_back({{"from", publish::iso8601_utc(s.from)}, {"zone", s.zone}});
  json probes = json::array();
  for (const auto& p : v.probes)
    probes.push_back({{"probe", p.probe}, {"zone", p.zone}, {"first_seen", publish::iso8601_utc(p.first_seen)},
                      {"last_seen", publish::iso8601_utc(p.last_seen)}, {"frames", p.frames}, {"rssi_max", p.rssi_max},
                      {"rssi_mean", p.rssi_mean}});
  return json{{"device", v.device}, {"key_epoch", v.key_epoch}, {"arrival", publish::iso8601_utc(v.arrival)},
              {"departure", publish::iso8601_utc(v.departure)},
              {"dwell_s", static_cast<double>(v.departure - v.arrival) / 1000.0}, {"zones", v.zones},
              {"entry_zone", v.entry_zone}, {"exit_zone", v.exit_zone}, {"strongest_zone", std::move(strongest)},
              {"probes", std::move(probes)}, {"randomized", v.randomized}, {"fingerprint", v.fingerprint},
              {"visit_id", v.visit_id}}
      .dump();
}

void encoding_figures() {
  constexpr int kVisits = 50'000;
  std::vector<publish::SiteVisit> visits;
  for (int i = 0; i < kVisits; ++i) visits.push_back(sample_visit(i));
  std::size_t bytes = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& v : visits) bytes += publish::encode_visit(v)->size();
  const double ours = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kVisits;
  t0 = std::chrono::steady_clock::now();
  for (const auto& v : visits) bytes += dom_encoding(v).size();
  const double dom = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / kVisits;
  const bool same = *publish::encode_visit(visits[0]) == dom_encoding(visits[0]);
  std::printf("encode_visit us_per_visit=%.2f nlohmann_dom_us_per_visit=%.2f same_bytes=%s (%zu bytes)\n", ours, dom,
              same ? "yes" : "no", bytes);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: gateway_throughput BROKER_URI EVENTS WORK_DIR [always|never]\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  if (std::string(argv[1]) == "--encoding") {
    encoding_figures();
    return 0;
  }
  const std::string uri = argv[1];
  const std::size_t target_events = std::stoul(argv[2]);
  const std::filesystem::path work = argv[3];
  const bool fsync = argc < 5 || std::string(argv[4]) != "never";
  std::filesystem::remove_all(work / "journal");
  std::filesystem::remove_all(work / "outbox");
  std::filesystem::remove_all(work / "keys");

  // Input: every device is heard by two probes (entrance, then one of the rooms), 6 events at each.
  std::vector<std::vector<PresenceEvent>> per_probe(3);
  std::size_t events = 0;
  for (std::uint32_t d = 0; events < target_events; ++d) {
    const std::int64_t arrive = kT0 + static_cast<std::int64_t>(d) * (kSecond / 20);
    const std::size_t before = per_probe[0].size() + per_probe[1].size() + per_probe[2].size();
    presence(per_probe[0], d, arrive, 4);
    presence(per_probe[1 + d % 2], d, arrive + 20 * kSecond, 4);
    events += per_probe[0].size() + per_probe[1].size() + per_probe[2].size() - before;
  }
  for (auto& list : per_probe)
    std::stable_sort(list.begin(), list.end(), [](const PresenceEvent& a, const PresenceEvent& b) { return a.ts_ns < b.ts_ns; });

  JournalOptions jo;
  jo.dir = work / "journal";
  jo.max_bytes = 4ull << 30;
  jo.fsync = false;
  auto opened = Journal::open(jo);
  if (!opened.journal) {
    std::cerr << opened.error << "\n";
    return 1;
  }
  Journal& journal = *opened.journal;
  std::ofstream lines(work / "events.jsonl");
  wire::Encoder encoder;
  std::vector<std::uint8_t> frame;
  constexpr std::size_t kPerBatch = 512;  // a probe's batch of about a second on a busy site
  std::vector<std::size_t> pos(3, 0);
  std::vector<std::uint64_t> seq(3, 0);
  std::size_t records = 0;
  for (;;) {
    // Like real probes batching by time: the next batch comes from the probe furthest behind.
    std::size_t p = 3;
    for (std::size_t q = 0; q < 3; ++q)
      if (pos[q] < per_probe[q].size() && (p == 3 || per_probe[q][pos[q]].ts_ns < per_probe[p][pos[p]].ts_ns)) p = q;
    if (p == 3) break;
    wire::Batch batch;
    batch.seq = ++seq[p];
    const std::size_t n = std::min(kPerBatch, per_probe[p].size() - pos[p]);
    batch.body.events.assign(per_probe[p].begin() + static_cast<std::ptrdiff_t>(pos[p]),
                             per_probe[p].begin() + static_cast<std::ptrdiff_t>(pos[p] + n));
    for (const PresenceEvent& e : batch.body.events) lines << event_json(kProbes[p], e) << '\n';
    pos[p] += n;
    frame.clear();
    if (encoder.encode(batch, frame)) return 1;
    JournalRecordMeta meta;
    meta.probe_id = kProbes[p];
    meta.probe_seq = batch.seq;
    meta.replay = true;
    if (journal.store(meta, frame) != StoreOutcome::stored) return 1;
    ++records;
  }
  (void)journal.commit();
  lines.close();

  publish::PublisherConfig pc;
  pc.server_uri = uri;
  pc.tenant = "bench";
  pc.site = "site-1";
  pc.client_id = "footfall-bench-gateway";
  pc.outbox_dir = work / "outbox";
  pc.outbox.max_total_bytes = 1ull << 30;
  pc.outbox.segment_bytes = 16ull << 20;
  pc.outbox_fsync.mode = fsync ? segment_log::FsyncMode::always : segment_log::FsyncMode::never;
  pc.window = 16;
  auto pub = publish::Publisher::open(pc, footfall::clock::wall_ns() / 1'000'000);
  if (!pub.publisher) {
    std::cerr << pub.error << "\n";
    return 1;
  }
  publish::Publisher& publisher = *pub.publisher;
  const auto connect_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!publisher.connected() && std::chrono::steady_clock::now() < connect_deadline) {
    publisher.poll(footfall::clock::wall_ns() / 1'000'000);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  DirectJournalFeed feed(journal);
  SitePipelineConfig sc;
  sc.site = "site-1";
  for (const char* p : kProbes) sc.merge.probes.push_back({p, p});
  sc.key_dir = work / "keys";
  sc.create_keys = true;
  sc.read_chunk = 64;
  sc.checkpoint_path = work / "journal" / kSiteCheckpointFile;
  auto site = SitePipeline::open(sc, feed, publisher);
  if (!site.pipeline) {
    std::cerr << site.error << "\n";
    return 1;
  }
  SitePipeline& pipeline = *site.pipeline;

  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = process_cpu_s();
  const double thread0 = thread_cpu_s();
  while (pipeline.counters().records_read < records || !pipeline.idle_and_durable()) {
    if (!pipeline.step(footfall::clock::wall_ns())) publisher.flush(footfall::clock::wall_ns() / 1'000'000);
  }
  const double processed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  publisher.flush(footfall::clock::wall_ns() / 1'000'000);
  while (publisher.counters().outbox_records != 0) {
    publisher.poll(footfall::clock::wall_ns() / 1'000'000);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = process_cpu_s() - cpu0;
  const double stage_cpu = thread_cpu_s() - thread0;
  pipeline.finish(footfall::clock::wall_ns());
  const auto c = publisher.counters();
  const std::uint64_t visits = pipeline.counters().visits_submitted;
  std::printf("footfall events=%zu seconds=%.3f events_per_s=%.0f visits=%llu batches=%llu us_per_visit=%.2f "
              "journal_records=%zu fsync=%s processed_s=%.3f cpu_s=%.3f stage_cpu_s=%.3f "
              "events_per_cpu_s=%.0f stage_events_per_cpu_s=%.0f\n",
              events, seconds, static_cast<double>(events) / seconds, static_cast<unsigned long long>(visits),
              static_cast<unsigned long long>(c.acked), seconds * 1e6 / static_cast<double>(visits), records,
              fsync ? "group" : "never", processed_s, cpu, stage_cpu, static_cast<double>(events) / cpu,
              static_cast<double>(events) / stage_cpu);
  return pipeline.counters().records_read == records && visits * 2 == events / 6 ? 0 : 1;
}
