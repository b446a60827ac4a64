#pragma once
// The probe's link to its gateway: sends the spool's unacked batches, oldest first, and acks them in the spool
// when the gateway says they are durable. One session at a time over TCP, optionally TLS:
//
//   connect (timeout) -> [TLS handshake, server certificate and name checked] -> Hello -> HelloReply
//   accepted: spool.ack_through(acked_through); send batches above it, at most `window` unacked in flight;
//             Heartbeat every heartbeat_interval; Ack -> spool.ack / ack_through -> send more
//   refused:  log the reason; retry later (bad token / unknown probe: the long way, see backoff.h)
//   any error, a closed connection, or no ack progress within ack_timeout: close, back off, reconnect, and
//   resend every unacked batch above the new acked_through.
//
// The spool is the buffer: batches the gateway has not acked wait on disk, not in memory. The capture thread
// only rings a doorbell (notify_spooled) after appending; the uplink then reads what is new from the spool.
//
// Threads: everything but notify_spooled(), counters() and the SharedSpool runs on the io_context's thread.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/wire/codec.h"
#include "common/wire/messages.h"
#include "probe/spool/shared_spool.h"
#include "probe/uplink/backoff.h"
#include "probe/uplink/gateway_stream.h"

namespace footfall::probe::uplink {

struct TlsConfig {
  std::string ca_file;      // PEM; the gateway's certificate must chain to it. Empty: plain TCP
  std::string cert_file;    // optional client certificate (PEM chain), for gateways that ask for one
  std::string key_file;     // its private key (PEM)
  std::string server_name;  // name checked in the certificate and sent as SNI; empty: the gateway host
  [[nodiscard]] bool enabled() const { return !ca_file.empty(); }
  bool operator==(const TlsConfig&) const = default;
};

struct UplinkConfig {
  std::string probe_id;
  std::string token;
  std::string software_version;
  std::string host = "127.0.0.1";
  std::uint16_t port = 7700;
  TlsConfig tls;
  std::uint32_t window = 16;  // batches sent and not yet acked
  BackoffPolicy backoff;
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect + TLS handshake + HelloReply
  std::chrono::milliseconds ack_timeout{30'000};    // batches in flight and no ack for this long: reconnect
  std::chrono::milliseconds heartbeat_interval{10'000};
  bool replaying_file = false;  // probe_clock_ns 0 in Hello and Heartbeat: event times are capture times
};

struct UplinkCounters {
  std::uint64_t connect_attempts = 0;
  std::uint64_t connects = 0;          // sessions the gateway accepted
  std::uint64_t connect_failures = 0;  // attempts that ended before an accepted HelloReply (refusals included)
  std::uint64_t refusals = 0;
  std::uint64_t disconnects = 0;       // accepted sessions that ended
  std::uint64_t ack_timeouts = 0;
  std::uint64_t batches_sent = 0;      // resends included
  std::uint64_t batches_resent = 0;    // sent again after a reconnect
  std::uint64_t batches_acked = 0;     // spool records the gateway confirmed (Ack or HelloReply)
  std::uint64_t bytes_sent = 0;
  std::uint64_t heartbeats_sent = 0;
  std::uint64_t notices = 0;           // doorbells rung by the capture thread
  std::uint64_t notices_coalesced = 0; // rung while one was pending: merged into it (the full-policy)
  std::uint64_t protocol_errors = 0;   // frames the decoder refused, or a message out of place
  std::uint64_t spool_renewals = 0;    // new spool identities taken: the gateway held seqs this spool never made
};

// Loads the client TLS context from the configuration; throws std::runtime_error naming the key on failure.
TlsClientContext make_client_tls_context(const TlsConfig& tls);

class Uplink {
 public:
  // Heartbeat figures except probe_clock_ns, which the uplink stamps at send.
  using HeartbeatSource = std::function<wire::Heartbeat()>;

  // Throws std::runtime_error when the TLS files cannot be loaded.
  Uplink(boost::asio::io_context& io, UplinkConfig config, spool::SharedSpool& spool, HeartbeatSource heartbeat,
         std::uint64_t random_seed = std::random_device{}());
  ~Uplink();
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;

  void start();
  // Closes the session and cancels every timer; nothing more is scheduled, so io_context::run() can return.
  void stop();

  // Thread-safe doorbell: new batches are in the spool. A bounded queue of one notice: when one is already
  // pending the new one merges into it (counted as coalesced), since the uplink reads everything above its
  // cursor from the spool anyway.
  void notify_spooled();

  // Called on the io thread after every Ack that moved something (e.g. to see whether the spool drained).
  void on_acked(std::function<void()> callback) { on_acked_ = std::move(callback); }

  [[nodiscard]] UplinkCounters counters() const;
  [[nodiscard]] bool session_accepted() const { return state_ == State::ready; }
  [[nodiscard]] std::optional<wire::RefuseReason> last_refusal() const { return last_refusal_; }
  // The waits chosen before each reconnect, newest last (bounded: the last 64), for health output and tests.
  [[nodiscard]] std::vector<std::chrono::milliseconds> recent_backoffs() const;

 private:
  enum class State : std::uint8_t { idle, waiting, connecting, hello, ready, stopped };
  using Tcp = boost::asio::ip::tcp;

  struct InFlight {
    std::uint64_t seq;
  };

  void do_connect();
  void on_tcp_connected(std::uint64_t session);
  void send_hello(std::uint64_t session);
  void do_read(std::uint64_t session);
  void on_bytes(std::uint64_t session, std::size_t n);
  bool on_message(const wire::Message& message);
  void on_hello_reply(const wire::HelloReply& reply);
  void on_ack(const wire::Ack& ack);
  void pump();
  void enqueue(std::vector<std::uint8_t> frame);
  void do_write(std::uint64_t session);
  void arm_heartbeat();
  void arm_ack_timer();
  void fail(const std::string& why);
  void close_session();
  void schedule_reconnect(std::chrono::milliseconds delay);
  [[nodiscard]] double unit_random();
  [[nodiscard]] std::int64_t probe_clock_ns() const;
  [[nodiscard]] bool current(std::uint64_t session) const { return session == session_ && state_ != State::stopped; }

  boost::asio::io_context& io_;
  UplinkConfig config_;
  spool::SharedSpool& spool_;
  HeartbeatSource heartbeat_;
  std::optional<TlsClientContext> tls_context_;
  Tcp::resolver resolver_;
  std::shared_ptr<GatewayStream> stream_;  // shared with its pending operations
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer ack_timer_;
  std::mt19937_64 random_;

  State state_ = State::idle;
  std::uint64_t session_ = 0;
  std::string peer_;
  std::uint32_t attempt_ = 0;  // failed attempts since the last healthy session: the backoff exponent
  std::optional<wire::RefuseReason> last_refusal_;

  wire::Encoder encoder_;
  wire::Decoder decoder_ = wire::Decoder::for_probe();  // the gateway sends replies and acks, no batches
  wire::Message message_;
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> pending_;  // received bytes not yet consumed by the decoder
  std::deque<std::vector<std::uint8_t>> write_queue_;
  bool writing_ = false;

  std::deque<InFlight> in_flight_;
  std::uint64_t cursor_ = 0;         // highest seq sent in this session (or the session's acked_through)
  std::uint64_t highest_sent_ = 0;   // over all sessions: a seq at or below it is a resend
  std::chrono::steady_clock::time_point last_progress_{};
  std::vector<std::uint8_t> payload_;
  std::function<void()> on_acked_;

  std::atomic<bool> notice_pending_{false};
  mutable std::mutex counters_mutex_;
  UplinkCounters counters_;
  std::deque<std::chrono::milliseconds> backoffs_;
};

}  // namespace footfall::probe::uplink
