#pragma once
// The receive side of the gateway: accepts probe connections (plain TCP or TLS) and hands each to a session,
// which reaches the rest through the Intake only (Hellos, Batches into the journal, acks after group commits);
// the SessionRegistry keeps the open sessions. The server itself listens, reloads, and writes health.json.
// Single-threaded: everything here runs on the one io_context thread; only the counters may be read from elsewhere.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/repeated_log.h"
#include "common/unique_fd.h"
#include "gateway/config/gateway_config.h"
#include "gateway/journal/journal.h"
#include "gateway/receive/descriptor_limit.h"
#include "gateway/receive/intake.h"
#include "gateway/receive/receive_counters.h"
#include "gateway/receive/receive_health.h"
#include "gateway/receive/session_registry.h"
#include "gateway/receive/tls_context.h"

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
  // Raises the open-file limit and caps the connections to it (logged), loads the TLS files, binds and starts
  // accepting.
  std::optional<StartError> start();
  // limits.max_connections, or fewer when the open-file limit holds fewer.
  [[nodiscard]] std::size_t connection_cap() const { return connection_cap_; }
  [[nodiscard]] const DescriptorBudget& descriptors() const { return descriptors_; }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Stops accepting, closes every session, commits the journal and writes health.json.
  void stop();

  // A reload (SIGHUP) with a config already checked (load_config) and merged (reloaded_config): new
  // connections get the new TLS context, every Hello from now on is checked against the new probe list. A
  // session whose probe is no longer listed, or whose token changed, is closed; every other session goes on.
  // `tls`: make_tls_context(next.tls) made beforehand (null when next has no TLS).
  void reload(const GatewayConfig& next, std::shared_ptr<asio::ssl::context> tls);
  [[nodiscard]] ReloadCounters& reloads() { return reloads_; }

  [[nodiscard]] const GatewayConfig& config() const { return config_; }
  [[nodiscard]] ReceiveCounters& counters() { return counters_; }
  [[nodiscard]] Journal& journal() { return journal_; }
  // Per probe health plus the receive and journal counters, as health.json writes them (to_json).
  [[nodiscard]] ReceiveHealth health() const;
  void write_health(bool log_summary = true);
  // The next stage consumed journal records: batches waiting for space may go in now.
  void journal_space_freed() { intake_.retry_waiting(); }

 private:
  void do_accept();
  void on_accepted(asio::ip::tcp::socket socket);
  // Out of descriptors: the spare one is given up to accept the waiting connection and close it at once.
  bool refuse_one_waiting();
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
  SessionRegistry registry_;
  Intake intake_;
  asio::steady_timer health_timer_;
  asio::steady_timer accept_retry_timer_;
  DescriptorBudget descriptors_;
  std::size_t connection_cap_ = 0;
  UniqueFd spare_fd_;  // held so that a connection can still be accepted and closed when descriptors run out
  RepeatedLog accept_failed_log_{spdlog::level::warn};
  RepeatedLog refused_log_{spdlog::level::warn};
};

}  // namespace footfall::gateway
