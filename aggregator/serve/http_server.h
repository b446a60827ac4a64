#pragma once
// The dashboard's HTTP(S) server on Boost.Beast: accepts connections, reads one bounded request at a time,
// hands it to the Dashboard and writes its answer (or streams live events). Bounds, each with its policy:
//   serve.max_connections: a connection beyond it gets 503 and is closed ("refuse-new", counted);
//   serve.max_request_bytes: a larger request head or body gets 413 and the connection closes (counted);
//   serve.request_timeout_s: a request not received or an answer not taken in time drops the connection (counted).
#include <atomic>
#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "aggregator/config/aggregator_config.h"
#include "aggregator/serve/dashboard.h"

namespace footfall::aggregator::serve {

struct ServerCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused_full{0};   // over serve.max_connections
  std::atomic<std::uint64_t> too_large{0};      // over serve.max_request_bytes
  std::atomic<std::uint64_t> malformed{0};      // not HTTP
  std::atomic<std::uint64_t> timed_out{0};
  std::atomic<std::uint64_t> tls_failed{0};
  std::atomic<std::uint64_t> live_streams{0};
  std::atomic<int> open{0};
};

class HttpServer {
 public:
  // Binds serve.address:serve.port (throws std::runtime_error naming the key when it cannot, or when the TLS
  // files do not load); call start() to accept.
  // workers: where requests are answered and live events read (they block on the store, on password hashing
  // and on Chromium); the io_context's threads only move bytes.
  HttpServer(boost::asio::io_context& io, const ServeSettings& settings, Dashboard& dashboard,
             boost::asio::thread_pool& workers);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  void stop();
  unsigned short port() const;
  const ServerCounters& counters() const { return *counters_; }

 private:
  void do_accept();

  boost::asio::io_context& io_;
  const ServeSettings& settings_;
  Dashboard& dashboard_;
  boost::asio::thread_pool& workers_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  // Shared with the connections: a handler still queued at shutdown may outlive the server.
  std::shared_ptr<ServerCounters> counters_ = std::make_shared<ServerCounters>();
};

}  // namespace footfall::aggregator::serve
