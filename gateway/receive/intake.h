#pragma once
// What probe sessions hand in, and all they reach of the receive side (the Asio example's request_handler):
// Hellos checked against the probe list, Batches stored in the journal and acked once a group commit made
// them durable, Heartbeats into the probes' health; a batch that finds the journal full waits in a queue and
// is retried. Single-threaded: the io_context thread only.
#include <cstdint>
#include <deque>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/repeated_log.h"
#include "common/wire/codec.h"
#include "gateway/config/gateway_config.h"
#include "gateway/health/probe_health.h"
#include "gateway/journal/journal.h"
#include "gateway/receive/receive_counters.h"
#include "gateway/receive/session_registry.h"

namespace footfall::gateway {

namespace asio = boost::asio;
class ProbeSession;

class Intake {
 public:
  // `config`: the server's, which a reload changes (then probes_changed()).
  Intake(asio::io_context& io, const GatewayConfig& config, Journal& journal, ReceiveCounters& counters,
         SessionRegistry& registry);

  // --- what a session calls ---
  [[nodiscard]] const GatewayConfig& config() const { return config_; }
  [[nodiscard]] ReceiveCounters& counters() { return counters_; }
  void encode(const wire::Message& message, std::vector<std::uint8_t>& out);
  // Checks the Hello, replies, and (when accepted) makes this the probe's session. False when refused.
  bool on_hello(ProbeSession& session, const wire::Hello& hello);
  StoreOutcome store_batch(ProbeSession& session, std::uint64_t seq, std::span<const std::uint8_t> frame,
                           std::size_t events, std::size_t sightings, bool retry = false);
  void on_heartbeat(ProbeSession& session, const wire::Heartbeat& heartbeat);
  // The probe sends its oldest unacked batch first: seqs below it that the journal lacks are gone for good.
  void on_first_batch(ProbeSession& session, std::uint64_t seq);
  void on_frame(ProbeSession& session);
  // The session keeps a batch the full journal refused and stops reading until retry_waiting_batch() takes it.
  void wait_for_space(const std::shared_ptr<ProbeSession>& session);
  void on_closed(ProbeSession& session, CloseReason reason);
  // The log line of a session that ended in trouble, one limit per reason: a peer that reconnects and fails in
  // a loop (or sends data before its hello) gets its first line and then a count every 10 s.
  RepeatedLog& closed_log(CloseReason reason) { return *closed_logs_[static_cast<std::size_t>(reason)]; }

  // --- what the server calls ---
  // The next stage consumed journal records: batches waiting for space may go in now.
  void retry_waiting();
  // A reload changed the config: the probes' zones follow it (every Hello from now on is checked against it).
  void probes_changed();
  // No more space retries.
  void stop();
  [[nodiscard]] const ProbeHealthBook& health() const { return health_; }
  [[nodiscard]] bool journal_full() const { return journal_full_; }

 private:
  void request_ack(ProbeSession& session);
  void run_commit();
  void arm_space_timer();

  asio::io_context& io_;
  const GatewayConfig& config_;
  Journal& journal_;
  ReceiveCounters& counters_;
  SessionRegistry& registry_;
  ProbeHealthBook health_;
  wire::Encoder encoder_;  // shared: only small replies and acks are encoded here
  std::vector<std::weak_ptr<ProbeSession>> ack_waiters_;
  bool commit_posted_ = false;
  // Sessions holding a batch the full journal refused, oldest first; at most one batch per session.
  std::deque<std::weak_ptr<ProbeSession>> waiting_for_space_;
  asio::steady_timer space_timer_;
  bool space_timer_armed_ = false;
  bool journal_full_ = false;
  bool stopping_ = false;
  std::vector<std::unique_ptr<RepeatedLog>> closed_logs_;
  RepeatedLog hello_refused_log_{spdlog::level::warn};
  RepeatedLog store_failed_log_{spdlog::level::err};
  RepeatedLog encode_failed_log_{spdlog::level::err};
};

// An untrusted string made safe for one log line (non-printable bytes as \xNN).
std::string printable(std::string_view untrusted);

}  // namespace footfall::gateway
