// Bytes on the probe -> gateway link for one capture, with the probe's defaults (presence and batch sections of
// probe.json): the capture read, parsed, tracked and batched as `footfall-probe run` does, each sealed batch
// encoded with the shared Encoder into memory. Printed side by side with what a sensor that forwards whole frames
// (as Kismet's remote capture does) would send: the capture's own record bytes.
//
//   link_bytes CAPTURE [BATCH_MAX_AGE_MS]      (default: probe.json's batch.max_age_ms, 1000)
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/wire/batch_builder.h"
#include "common/wire/codec.h"
#include "probe/capture/pcap_source.h"
#include "probe/config/probe_config.h"
#include "probe/parse/packet.h"
#include "probe/pipeline/sighting.h"
#include "probe/presence/presence_tracker.h"

namespace {

using namespace footfall;
using namespace footfall::probe;

constexpr std::uint64_t kPcapRecordHeaderBytes = 16;

struct LinkBytes {
  std::uint64_t frames = 0;
  std::uint64_t capture_record_bytes = 0;  // pcap record header + captured bytes, per frame summed
  std::uint64_t sightings = 0;
  std::uint64_t events = 0;
  std::uint64_t batches = 0;
  std::uint64_t wire_bytes = 0;  // encoded Batch frames, framing included
};

class Batcher final : public presence::PresenceSink {
 public:
  Batcher(const wire::BatchLimits& limits, LinkBytes& out) : builder_(limits, 1), out_(out) {}
  void on_presence(const PresenceEvent& e, presence::DepartureCause) override {
    builder_.add(e, now_ns);
    ++out_.events;
    if (builder_.due(now_ns) != wire::SealReason::not_due) seal(builder_.seal_if_due(now_ns));
  }
  void add(const Sighting& s) {
    builder_.add(s, now_ns);
    if (builder_.due(now_ns) != wire::SealReason::not_due) seal(builder_.seal_if_due(now_ns));
  }
  void tick() { seal(builder_.seal_if_due(now_ns)); }
  void finish() { seal(builder_.seal_now()); }

  std::int64_t now_ns = 0;

 private:
  void seal(std::optional<wire::Batch> batch) {
    if (!batch) return;
    frame_.clear();
    if (auto bad = encoder_.encode(*batch, frame_)) {
      std::fprintf(stderr, "link_bytes: batch not encodable: %s\n", std::string(wire::to_string(*bad)).c_str());
      return;
    }
    ++out_.batches;
    out_.wire_bytes += frame_.size();
  }
  wire::BatchBuilder builder_;
  wire::Encoder encoder_;
  std::vector<std::uint8_t> frame_;
  LinkBytes& out_;
};

LinkBytes measure(const std::string& path, bool send_sightings, std::int64_t max_age_ms) {
  const config::ProbeConfig defaults;
  wire::BatchLimits limits;
  limits.max_records = static_cast<std::size_t>(defaults.batch.max_records);
  limits.max_age_ns = max_age_ms * 1'000'000;
  presence::PresenceTracker tracker(config::presence_config(defaults.presence));
  LinkBytes out;
  Batcher batcher(limits, out);
  capture::PcapSource source = capture::PcapSource::open_file(path);
  const int link_type = source.link_type();
  capture::PacketView packet;
  parse::ParsedPacket parsed;
  while (source.next(packet) == capture::ReadStatus::packet) {
    ++out.frames;
    out.capture_record_bytes += kPcapRecordHeaderBytes + packet.bytes.size();
    batcher.now_ns = packet.ts_ns;
    parse::parse_packet_into(parsed, link_type, packet.bytes, packet.wire_length, false);
    if (const auto sighting = pipeline::to_sighting(parsed, packet.ts_ns)) {
      ++out.sightings;
      if (send_sightings) batcher.add(*sighting);
      tracker.on_sighting(*sighting, batcher);
    }
    batcher.tick();
  }
  tracker.flush(batcher);
  batcher.finish();
  return out;
}

double per(std::uint64_t bytes, std::uint64_t n) { return n ? static_cast<double>(bytes) / static_cast<double>(n) : 0.0; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: link_bytes CAPTURE [BATCH_MAX_AGE_MS]\n");
    return 2;
  }
  const std::int64_t max_age_ms = argc == 3 ? std::stoll(argv[2]) : config::ProbeConfig{}.batch.max_age_ms;
  LinkBytes with, without;
  try {
    with = measure(argv[1], true, max_age_ms);
    without = measure(argv[1], false, max_age_ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "link_bytes: %s\n", e.what());
    return 1;
  }
  const double capture_per_frame = per(with.capture_record_bytes, with.frames);
  const double wire_per_sighting = per(with.wire_bytes, with.sightings);
  const double marginal_per_sighting = per(with.wire_bytes - without.wire_bytes, with.sightings);
  const double wire_per_event = per(without.wire_bytes, without.events);
  std::printf("capture: %llu frames, %llu sightings, %llu presence events; probe defaults, batch.max_age_ms %lld\n",
              static_cast<unsigned long long>(with.frames), static_cast<unsigned long long>(with.sightings),
              static_cast<unsigned long long>(without.events), static_cast<long long>(max_age_ms));
  const auto ratio = [&](std::uint64_t bytes) { return per(with.capture_record_bytes, bytes); };
  std::printf("%-52s %12s %10s %14s\n", "what crosses the link", "bytes", "per unit", "whole frames /");
  std::printf("%-52s %12llu %10.2f %14s\n", "whole frames (pcap record: 16 B + frame), per frame",
              static_cast<unsigned long long>(with.capture_record_bytes), capture_per_frame, "1");
  std::printf("%-52s %12llu %10.2f %14.1f\n", "batches with sightings (+ events), per sighting",
              static_cast<unsigned long long>(with.wire_bytes), wire_per_sighting, ratio(with.wire_bytes));
  std::printf("%-52s %12llu %10.2f %14s\n", "  sightings alone (with - without), per sighting",
              static_cast<unsigned long long>(with.wire_bytes - without.wire_bytes), marginal_per_sighting, "");
  std::printf("%-52s %12llu %10.2f %14.1f\n", "batches of events only (the default), per event",
              static_cast<unsigned long long>(without.wire_bytes), wire_per_event, ratio(without.wire_bytes));
  std::printf("batches: %llu sightings on, %llu events only\n", static_cast<unsigned long long>(with.batches),
              static_cast<unsigned long long>(without.batches));
  std::printf("target: at most 4 bytes per sighting (sightings alone): %s\n", marginal_per_sighting <= 4.0 ? "met" : "NOT met");
  return 0;
}
