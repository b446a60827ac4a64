#pragma once
// What the receive side did, by outcome and by reason: every refused connection, refused hello, bad
// frame and closed session is counted here as well as logged. Atomics, so tests may read them from
// another thread; what leaves the receive side is a copy (ReceiveCounts, in ReceiveHealth).
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/wire/bad_reason.h"
#include "common/wire/messages.h"

namespace footfall::gateway {

#define FOOTFALL_SESSION_CLOSE_REASONS(X)                                                   \
  X(peer_closed)          /* the probe closed or reset the connection */                    \
  X(read_error)           /* socket error while reading */                                  \
  X(write_error)          /* socket error while writing */                                  \
  X(tls_handshake_failed) /* no TLS session (bad or missing client certificate, not TLS) */ \
  X(hello_timeout)        /* no Hello within limits.hello_timeout_s of connecting */        \
  X(idle_timeout)         /* no frame within limits.idle_timeout_s */                       \
  X(bad_frame)            /* the decoder refused a frame (counted by BadReason too) */      \
  X(frame_before_hello)   /* the first frame was not a Hello */                             \
  X(unexpected_message)   /* a gateway-to-probe message, or a second Hello */               \
  X(bad_batch_seq)        /* batch seq 0 (seqs start at 1) */                               \
  X(hello_refused)        /* unknown probe or bad token; closed after the refusal */        \
  X(replaced)             /* a new session of the same probe took over */                   \
  X(journal_failed)       /* the journal could not store or sync */                         \
  X(slow_reader)          /* the probe does not read its acks */                            \
  X(probe_removed)        /* a reload found the probe no longer listed in probes */         \
  X(token_changed)        /* a reload found another token for the probe */                  \
  X(shutdown)             /* the gateway is stopping */

enum class CloseReason : std::uint8_t {
#define FOOTFALL_X(name) name,
  FOOTFALL_SESSION_CLOSE_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
};
inline constexpr std::size_t kCloseReasonCount = 0
#define FOOTFALL_X(name) +1
    FOOTFALL_SESSION_CLOSE_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
    ;
std::string_view to_string(CloseReason r);

// The receive side's counts by outcome; N is std::atomic<std::uint64_t> where they are counted
// (ReceiveCounters) and std::uint64_t in a copy handed on (ReceiveCounts).
template <typename N>
struct ReceiveTally {
  N connections_accepted{0};
  N connections_refused_max{0};  // beyond limits.max_connections (capped to what the open-file limit allows)
  N connections_refused_fds{0};  // accepted and closed at once: the process was out of file descriptors
  N connections_open{0};
  N sessions_established{0};
  N spools_new{0};  // Hellos naming a spool identity the journal had no sequence space for (a first or new spool)
  std::array<N, wire::kMaxRefuseReason + 1> hello_refused{};  // lost: what a refused probe sent
  std::array<N, wire::kBadReasonCount> bad_frames{};           // lost: the frame
  std::array<N, kCloseReasonCount> closed{};                   // closings, not losses
  N batches_received{0};
  N batches_stored{0};
  N batches_duplicate{0};
  N batches_waiting_full{0};  // batches that had to wait (unacked) because the journal was full
  N events_stored{0};
  N sightings_stored{0};
  N heartbeats{0};
  N acks_sent{0};
  N commits{0};
};

// A copy of the counters at one moment, with every count by its health.json name.
struct ReceiveCounts : ReceiveTally<std::uint64_t> {
  // Each scalar count (not the by-reason arrays) with its name, once for every reader.
  template <typename F>
  void each_count(F&& f) const {
    f("connections_accepted", connections_accepted);
    f("connections_refused_max", connections_refused_max);
    f("connections_refused_fds", connections_refused_fds);
    f("connections_open", connections_open);
    f("sessions_established", sessions_established);
    f("spools_new", spools_new);
    f("batches_received", batches_received);
    f("batches_stored", batches_stored);
    f("batches_duplicate", batches_duplicate);
    f("batches_waiting_full", batches_waiting_full);
    f("events_stored", events_stored);
    f("sightings_stored", sightings_stored);
    f("heartbeats", heartbeats);
    f("acks_sent", acks_sent);
    f("commits", commits);
  }
};

using Counter = std::atomic<std::uint64_t>;

struct ReceiveCounters : ReceiveTally<Counter> {
  static std::uint64_t get(const Counter& c) { return c.load(std::memory_order_relaxed); }
  static void bump(Counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t bad(wire::BadReason r) const { return get(bad_frames[static_cast<std::size_t>(r)]); }
  [[nodiscard]] std::uint64_t refused(wire::RefuseReason r) const {
    return get(hello_refused[static_cast<std::size_t>(r)]);
  }
  [[nodiscard]] std::uint64_t closes(CloseReason r) const { return get(closed[static_cast<std::size_t>(r)]); }

  [[nodiscard]] ReceiveCounts snapshot() const;
};

// Config reloads (SIGHUP): how many applied, how many were refused (the running config kept), and what the
// latest one said. Written by the io thread only; read there too (health.json).
struct ReloadCounters {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::int64_t last_ns = 0;               // wall clock of the latest reload, ok or failed
  std::string last_error;                 // of the latest failed reload; cleared by one that applies
  std::vector<std::string> needs_restart;  // keys changed in the file that the running gateway does not take
};

}  // namespace footfall::gateway
