#pragma once
// The receive side of the gateway: accepts probe connections (plain TCP or TLS), checks Hellos, stores
// Batches in the journal and acks them once a group commit has made them durable. Single-threaded:
// everything here runs on the one io_context thread; only the counters may be read from elsewhere.
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "common/wire/codec.h"
#include "gateway/config/gateway_config.h"
#include "gateway/health/probe_health.h"
#include "gateway/journal/journal.h"
#include "gateway/receive/probe_session.h"
#include "gateway/receive/receive_counters.h"

namespace footfall::gateway {

class ReceiveServer {
 public:
  ReceiveServer(asio::io_context& io, GatewayConfig config, Journal& journal);
  ~ReceiveServer();
  ReceiveServer(const ReceiveServer&) = delete;
  ReceiveServer& operator=(const ReceiveServer&) = delete;

  struct StartError {
    std::string message;
    bool bad_config = false;  // names a key of gateway.json (a TLS file, the address)
  };
  // Loads the TLS files, binds and starts accepting.
  std::optional<StartError> start();
  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Stops accepting, closes every session, commits the journal and writes health.json.
  void stop();

  // A reload (SIGHUP) with a config already checked (load_config) and merged (reloaded_config): new
  // connections get the new TLS context, every Hello from now on is checked against the new probe list. A
  // session whose probe is no longer listed, or whose token changed, is closed; every other session goes on.
  // `tls`: make_tls_context(next.tls) made beforehand (null when next has no TLS).
  void reload(const GatewayConfig& next, std::shared_ptr<asio::ssl::context> tls);
  [[nodiscard]] ReloadCounters& reloads() { return reloads_; }

  [[nodiscard]] ReceiveCounters& counters() { return counters_; }
  [[nodiscard]] Journal& journal() { return journal_; }
  // health.json's content: per probe health plus the receive and journal counters.
  [[nodiscard]] nlohmann::json health_json() const;
  void write_health(bool log_summary = true);
  // The next stage consumed journal records: batches waiting for space may go in now.
  void journal_space_freed();

  // --- called by sessions ---
  [[nodiscard]] const GatewayConfig& config() const { return config_; }
  void encode(const wire::Message& message, std::vector<std::uint8_t>& out);
  // Checks the Hello, replies, and (when accepted) makes this the probe's session. False when refused.
  bool on_hello(ProbeSession& session, const wire::Hello& hello);
  StoreOutcome store_batch(ProbeSession& session, std::uint64_t seq, std::span<const std::uint8_t> frame,
                           std::size_t events, std::size_t sightings, bool retry = false);
  void on_heartbeat(ProbeSession& session, const wire::Heartbeat& heartbeat);
  // The probe sends its oldest unacked batch first: seqs below it that the journal lacks are gone for good.
  void on_first_batch(ProbeSession& session, std::uint64_t seq);
  void on_frame(ProbeSession& session);
  void wait_for_space(const std::shared_ptr<ProbeSession>& session);
  void on_closed(ProbeSession& session, CloseReason reason);

 private:
  void do_accept();
  void request_ack(ProbeSession& session);
  void run_commit();
  void retry_waiting();
  void arm_space_timer();
  void arm_health_timer();

  asio::io_context& io_;
  GatewayConfig config_;
  Journal& journal_;
  std::shared_ptr<asio::ssl::context> tls_;  // shared with the TLS sessions made with it (a reload replaces it)
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool stopping_ = false;
  ReceiveCounters counters_;
  ReloadCounters reloads_;
  ProbeHealthBook health_;
  wire::Encoder encoder_;  // shared: only small replies and acks are encoded here
  std::unordered_map<ProbeSession*, std::shared_ptr<ProbeSession>> sessions_;
  std::unordered_map<std::string, std::weak_ptr<ProbeSession>> by_probe_;
  std::vector<std::weak_ptr<ProbeSession>> ack_waiters_;
  bool commit_posted_ = false;
  std::deque<std::weak_ptr<ProbeSession>> waiting_for_space_;
  asio::steady_timer space_timer_;
  bool space_timer_armed_ = false;
  bool journal_full_ = false;
  asio::steady_timer health_timer_;
  asio::steady_timer accept_retry_timer_;
};

// The server's TLS context from the listen.tls files (read again each time: a renewed certificate is taken);
// null with `error` naming the key of a file that does not load.
std::shared_ptr<asio::ssl::context> make_tls_context(const ServerTls& tls, std::string& error);

// An untrusted string made safe for one log line (non-printable bytes as \xNN).
std::string printable(std::string_view untrusted);

}  // namespace footfall::gateway
