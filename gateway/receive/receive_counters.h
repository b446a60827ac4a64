#pragma once
// What the receive side did, by outcome and by reason: every refused connection, refused hello, bad
// frame and closed session is counted here as well as logged. Atomics, so tests and the health writer
// may read them from another thread.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

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

using Counter = std::atomic<std::uint64_t>;

struct ReceiveCounters {
  Counter connections_accepted{0};
  Counter connections_refused_max{0};  // beyond limits.max_connections
  Counter connections_open{0};
  Counter sessions_established{0};
  std::array<Counter, wire::kMaxRefuseReason + 1> hello_refused{};
  std::array<Counter, wire::kBadReasonCount> bad_frames{};
  std::array<Counter, kCloseReasonCount> closed{};
  Counter batches_received{0};
  Counter batches_stored{0};
  Counter batches_duplicate{0};
  Counter batches_waiting_full{0};  // batches that had to wait (unacked) because the journal was full
  Counter events_stored{0};
  Counter sightings_stored{0};
  Counter heartbeats{0};
  Counter acks_sent{0};
  Counter commits{0};

  static std::uint64_t get(const Counter& c) { return c.load(std::memory_order_relaxed); }
  static void bump(Counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t bad(wire::BadReason r) const { return get(bad_frames[static_cast<std::size_t>(r)]); }
  [[nodiscard]] std::uint64_t refused(wire::RefuseReason r) const {
    return get(hello_refused[static_cast<std::size_t>(r)]);
  }
  [[nodiscard]] std::uint64_t closes(CloseReason r) const { return get(closed[static_cast<std::size_t>(r)]); }

  [[nodiscard]] nlohmann::json to_json() const;
};

// Config reloads (SIGHUP): how many applied, how many were refused (the running config kept), and what the
// latest one said. Written by the io thread only; read there too (health.json).
struct ReloadCounters {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::int64_t last_ns = 0;               // wall clock of the latest reload, ok or failed
  std::string last_error;                 // of the latest failed reload; cleared by one that applies
  std::vector<std::string> needs_restart;  // keys changed in the file that the running gateway does not take

  [[nodiscard]] nlohmann::json to_json() const;
};

}  // namespace footfall::gateway
