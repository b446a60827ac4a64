#include "aggregator/serve/http_server.h"

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

namespace footfall::aggregator::serve {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

// Headers every answer carries: nothing from elsewhere may load, the page may not be framed.
void add_common_headers(http::response<http::string_body>& res) {
  res.set(http::field::server, "footfall-aggregator");
  res.set("Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
          "frame-ancestors 'none'; form-action 'self'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "same-origin");
  if (res.find(http::field::cache_control) == res.end()) res.set(http::field::cache_control, "no-store");
}

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(Stream stream, const ServeSettings& settings, Dashboard& dashboard,
             std::shared_ptr<ServerCounters> counters, std::string address, net::thread_pool& workers)
      : workers_(workers),
        stream_(std::move(stream)),
        settings_(settings),
        dashboard_(dashboard),
        held_counters_(std::move(counters)),
        counters_(*held_counters_),
        address_(std::move(address)),
        timer_(stream_.get_executor()) {
    ++counters_.open;
  }
  ~Connection() { --counters_.open; }

  void start() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(settings_.request_timeout_s));
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          ++self->counters_.tls_failed;
          return;
        }
        self->do_read();
      });
    } else {
      do_read();
    }
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(settings_.max_request_bytes);
    parser_->body_limit(settings_.max_request_bytes);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(settings_.request_timeout_s));
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset) return close();
    if (ec == beast::error::timeout) {
      ++counters_.timed_out;
      return;
    }
    if (ec == http::error::body_limit || ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      ++counters_.too_large;
      return refuse(http::status::payload_too_large,
                    "request too large: at most " + std::to_string(settings_.max_request_bytes) +
                        " bytes (serve.max_request_bytes)\n");
    }
    if (ec) {
      ++counters_.malformed;
      return refuse(http::status::bad_request, "bad request: not HTTP/1.1 (" + ec.message() + ")\n");
    }
    const auto& req = parser_->get();
    Request request{std::string(req.method_string()), std::string(req.target()),
                    std::string(req[http::field::cookie]), std::string(req[http::field::content_type]), req.body(),
                    address_};
    const unsigned version = req.version();
    const bool keep_alive = req.keep_alive();
    const bool head = req.method() == http::verb::head;
    // Answers are made on the worker threads (store reads, password hashing, PDF printing block), so the I/O
    // threads keep the live pages going. One request per connection at a time: max_connections bounds the queue.
    net::post(workers_, [self = this->shared_from_this(), request = std::move(request), version, keep_alive, head] {
      auto answer = std::make_shared<Response>(self->answer(request));
      net::post(self->stream_.get_executor(), [self, answer, version, keep_alive, head] {
        self->respond(std::move(*answer), version, keep_alive, head);
      });
    });
  }

  Response answer(const Request& request) {
    try {
      return dashboard_.handle(request);
    } catch (const std::exception& e) {
      spdlog::error("serve: {} {}: {}", request.method, request.target.substr(0, 200), e.what());
      return Response{500, "text/plain; charset=utf-8", "internal error: the store could not be read; see the server's log\n", {}, {}};
    }
  }

  void respond(Response answer, unsigned version, bool keep_alive, bool head) {
    if (answer.live) return start_live(*answer.live);
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(answer.status), version);
    res->set(http::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers) res->set(name, value);
    add_common_headers(*res);
    res->keep_alive(keep_alive);
    if (!head) res->body() = std::move(answer.body);
    res->prepare_payload();
    write(res);
  }

  void write(std::shared_ptr<http::response<http::string_body>> res) {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(settings_.request_timeout_s));
    http::async_write(stream_, *res, [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec == beast::error::timeout) ++self->counters_.timed_out;
      if (ec) return;
      if (!res->keep_alive()) return self->close();
      self->do_read();
    });
  }

  // An answer after which the connection closes (the rest of the request is not read).
  void refuse(http::status status, std::string text) {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    add_common_headers(*res);
    res->keep_alive(false);
    res->body() = std::move(text);
    res->prepare_payload();
    write(res);
  }

  // Server-sent events: the head once, then one event every serve.live_interval_s until the page closes.
  void start_live(LiveStream stream) {
    ++counters_.live_streams;
    live_ = std::move(stream);
    pending_ = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
               "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\nretry: 3000\n\n";
    send_event();
  }

  // The event is read from the store on a worker, then written from the connection's strand.
  void send_event() {
    net::post(workers_, [self = this->shared_from_this()] {
      std::string event;
      try {
        event = "data: " + self->dashboard_.live_event(*self->live_) + "\n\n";
      } catch (const std::exception& e) {
        spdlog::error("serve: live occupancy: {}", e.what());
        event = ": the store could not be read\n\n";
      }
      net::post(self->stream_.get_executor(), [self, event = std::move(event)] { self->write_event(event); });
    });
  }

  void write_event(const std::string& event) {
    pending_ += event;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(settings_.request_timeout_s));
    net::async_write(stream_, net::buffer(pending_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->pending_.clear();
      if (ec) return;  // the page closed
      beast::get_lowest_layer(self->stream_).expires_never();
      self->timer_.expires_after(std::chrono::seconds(self->settings_.live_interval_s));
      self->timer_.async_wait([self](beast::error_code wait_ec) {
        if (!wait_ec) self->send_event();
      });
    });
  }

  void close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  net::thread_pool& workers_;
  Stream stream_;
  const ServeSettings& settings_;
  Dashboard& dashboard_;
  std::shared_ptr<ServerCounters> held_counters_;
  ServerCounters& counters_;
  std::string address_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<LiveStream> live_;
  std::string pending_;
  net::steady_timer timer_;
};

}  // namespace

HttpServer::HttpServer(net::io_context& io, const ServeSettings& settings, Dashboard& dashboard, net::thread_pool& workers)
    : io_(io), settings_(settings), dashboard_(dashboard), workers_(workers), acceptor_(io) {
  if (settings.tls()) {
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    try {
      tls_->use_certificate_chain_file(settings.tls_cert_file);
    } catch (const std::exception& e) {
      throw std::runtime_error("serve.tls.cert_file: " + settings.tls_cert_file + ": " + e.what());
    }
    try {
      tls_->use_private_key_file(settings.tls_key_file, ssl::context::pem);
    } catch (const std::exception& e) {
      throw std::runtime_error("serve.tls.key_file: " + settings.tls_key_file + ": " + e.what());
    }
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(settings.address, ec);
  if (ec) throw std::runtime_error("serve.address: \"" + settings.address + "\" is not an IP address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(settings.port));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("serve.port: cannot listen on " + settings.address + ":" + std::to_string(settings.port) + ": " +
                             ec.message());
}

HttpServer::~HttpServer() = default;

unsigned short HttpServer::port() const { return acceptor_.local_endpoint().port(); }

void HttpServer::start() { do_accept(); }

void HttpServer::stop() {
  beast::error_code ec;
  acceptor_.close(ec);
}

void HttpServer::do_accept() {
  acceptor_.async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) {
      ++counters_->accepted;
      beast::error_code peer_ec;
      const auto peer = socket.remote_endpoint(peer_ec);
      const std::string address = peer_ec ? std::string("?") : peer.address().to_string();
      if (counters_->open.load() >= static_cast<int>(settings_.max_connections)) {
        ++counters_->refused_full;
        static const std::string kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 5\r\n"
            "Connection: close\r\nContent-Length: 51\r\n\r\nbusy: too many connections (serve.max_connections)\n";
        auto held = std::make_shared<tcp::socket>(std::move(socket));
        if (tls_) {
          held->close(peer_ec);
        } else {
          net::async_write(*held, net::buffer(kBusy), [held](beast::error_code, std::size_t) {
            beast::error_code ignored;
            held->shutdown(tcp::socket::shutdown_both, ignored);
          });
        }
      } else if (tls_) {
        std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
            beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls_), settings_, dashboard_,
            counters_, address, workers_)
            ->start();
      } else {
        std::make_shared<Connection<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), settings_, dashboard_,
                                                        counters_, address, workers_)
            ->start();
      }
    }
    do_accept();
  });
}

}  // namespace footfall::aggregator::serve
