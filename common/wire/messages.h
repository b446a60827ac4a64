#pragma once
// The messages a probe and its gateway exchange. Plain values: encoding lives in codec.h.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/records.h"

namespace footfall::wire {

enum class MessageType : std::uint8_t {
  hello = 1,        // probe -> gateway, first frame of a session
  hello_reply = 2,  // gateway -> probe
  batch = 3,        // probe -> gateway
  ack = 4,          // gateway -> probe
  heartbeat = 5,    // probe -> gateway
};

std::string_view to_string(MessageType t);

inline constexpr std::size_t kMaxProbeIdBytes = 64;
inline constexpr std::size_t kMaxTokenBytes = 512;
inline constexpr std::size_t kMaxSoftwareVersionBytes = 64;
inline constexpr std::size_t kMaxAckRanges = 64;

struct Hello {
  std::string probe_id;          // site-unique name of the probe
  std::string token;             // shared secret the gateway checks
  std::string software_version;  // e.g. "0.1.0"
  std::int64_t probe_clock_ns = 0;  // probe wall clock at send, for offset estimation
  // The identity of the probe's spool (random, made with the spool; version 3): batch seqs count within it, so a
  // new spool (a replaced card, a wiped folder) starts a sequence space of its own at the gateway. 0: none (a
  // version 1 or 2 Hello, or a spool older than identities): the probe's one sequence space of before.
  std::uint64_t spool_id = 0;

  bool operator==(const Hello&) const = default;
};

enum class HelloStatus : std::uint8_t { accepted = 0, refused = 1 };
enum class RefuseReason : std::uint8_t {
  none = 0,
  bad_token = 1,
  unknown_probe = 2,
  unsupported_version = 3,
  duplicate_session = 4,  // the same probe id is already connected
  gateway_busy = 5,
  certificate_mismatch = 6,  // the TLS client certificate names another probe (or none)
};
inline constexpr std::uint8_t kMaxRefuseReason = 6;
std::string_view to_string(RefuseReason r);

struct HelloReply {
  HelloStatus status = HelloStatus::accepted;
  RefuseReason reason = RefuseReason::none;
  std::int64_t gateway_clock_ns = 0;
  // Highest sequence number below which the gateway holds every batch of this probe durably;
  // the probe may forget those and resend from the next one.
  std::uint64_t acked_through = 0;

  bool operator==(const HelloReply&) const = default;
};

// The records sealed together; the probe id is known from the session.
struct BatchBody {
  std::vector<PresenceEvent> events;
  std::vector<Sighting> sightings;  // optional raw sightings; rssi_dbm is 0 when !has_rssi

  bool operator==(const BatchBody&) const = default;
  void clear() {
    events.clear();
    sightings.clear();
  }
};

struct Batch {
  std::uint64_t seq = 0;  // per probe, strictly increasing, never reused
  BatchBody body;

  bool operator==(const Batch&) const = default;
};

// Inclusive range [first, last] of sequence numbers.
struct SeqRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  bool operator==(const SeqRange&) const = default;
};

// Every seq <= cumulative is durable on the gateway, and so is every seq inside `ranges`
// (selective acks above the cumulative point, ascending, disjoint, not touching it).
struct Ack {
  std::uint64_t cumulative = 0;
  std::vector<SeqRange> ranges;

  [[nodiscard]] bool covers(std::uint64_t seq) const {
    if (seq <= cumulative) return true;
    for (const auto& r : ranges)
      if (seq >= r.first && seq <= r.last) return true;
    return false;
  }
  bool operator==(const Ack&) const = default;
};

struct Heartbeat {
  std::uint64_t capture_received = 0;     // pcap_stats ps_recv
  std::uint64_t capture_dropped = 0;      // pcap_stats ps_drop (buffer full)
  std::uint64_t capture_if_dropped = 0;   // pcap_stats ps_ifdrop (interface / driver)
  std::uint64_t parse_drops = 0;          // malformed frames, all reasons
  std::uint32_t cpu_permille = 0;         // process CPU, tenths of a percent of one core
  std::uint64_t rss_bytes = 0;
  std::uint64_t spool_records = 0;        // unacked batches waiting on disk
  std::uint64_t spool_bytes = 0;
  std::uint64_t spool_full_drop_records = 0;
  std::uint64_t spool_full_drop_bytes = 0;
  std::int64_t probe_clock_ns = 0;
  std::uint64_t uptime_ns = 0;

  bool operator==(const Heartbeat&) const = default;
};

using Message = std::variant<Hello, HelloReply, Batch, Ack, Heartbeat>;

MessageType type_of(const Message& m);

}  // namespace footfall::wire
