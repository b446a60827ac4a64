#pragma once
// A minimal gateway for uplink tests: Boost.Asio on 127.0.0.1 (an ephemeral port), plain or TLS, speaking the
// shared Encoder / Decoder. What it does with each Hello and Batch is a policy the test sets, so it can refuse,
// close mid-session, hold batches without acking them, or lose them. Runs on its own thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "common/wire/codec.h"

namespace footfall::testing {

namespace asio = boost::asio;

enum class BatchAction : std::uint8_t {
  ack,          // store durably and ack (cumulative + selective)
  store_quiet,  // store but send no ack now (a later ack covers it)
  lose,         // neither store nor ack (as if lost before it was durable)
  close,        // neither store nor ack, and close the connection
};

struct GatewayPolicy {
  // nullopt: accept. session is 1 for the first connection.
  std::function<std::optional<wire::RefuseReason>(const wire::Hello&, std::uint32_t session)> hello;
  // nth is 1 for the first batch of that session.
  std::function<BatchAction(std::uint64_t seq, std::uint32_t nth, std::uint32_t session)> batch;
};

class FakeGateway {
 public:
  explicit FakeGateway(GatewayPolicy policy = {}, asio::ssl::context* tls = nullptr)
      : policy_(std::move(policy)), tls_(tls), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeGateway() {
    io_.stop();
    thread_.join();
  }
  FakeGateway(const FakeGateway&) = delete;
  FakeGateway& operator=(const FakeGateway&) = delete;

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  struct Seen {
    std::uint32_t sessions = 0;       // connections that sent a Hello
    std::uint32_t accepted = 0;
    std::uint32_t refused = 0;
    std::uint64_t batches = 0;        // batch frames received, duplicates included
    std::uint64_t duplicates = 0;     // a seq it already held
    std::uint64_t heartbeats = 0;
    std::set<std::uint64_t> held;     // seqs stored durably
    std::map<std::uint64_t, wire::BatchBody> bodies;
    std::vector<wire::Hello> hellos;
    std::optional<wire::Heartbeat> last_heartbeat;
  };
  [[nodiscard]] Seen seen() const {
    const std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  using Stream = asio::ssl::stream<asio::ip::tcp::socket>;

  struct Session : std::enable_shared_from_this<Session> {
    Session(FakeGateway& g, asio::ip::tcp::socket socket)
        : gateway(g), stream(std::move(socket), g.tls_ ? *g.tls_ : g.plain_) {}

    void start() {
      if (!gateway.tls_) return do_read();
      stream.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](const auto& ec) {
        if (!ec) self->do_read();
      });
    }
    void do_read() {
      auto handler = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
        if (ec || self->closing) return;
        self->on_bytes(n);
      };
      if (gateway.tls_)
        stream.async_read_some(asio::buffer(buffer), handler);
      else
        stream.next_layer().async_read_some(asio::buffer(buffer), handler);
    }
    void on_bytes(std::size_t n) {
      pending.insert(pending.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
      std::size_t used = 0;
      while (used < pending.size() && !closing) {
        const auto r = decoder.parse(std::span<const std::uint8_t>(pending).subspan(used), message);
        used += r.consumed;
        if (r.status == wire::ParseStatus::need_more) break;
        if (r.status == wire::ParseStatus::bad) return close();
        on_message();
      }
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
      if (!closing) do_read();
    }
    void on_message() {
      if (auto* hello = std::get_if<wire::Hello>(&message)) {
        std::optional<wire::RefuseReason> refuse;
        {
          const std::lock_guard lock(gateway.mutex_);
          number = ++gateway.seen_.sessions;
          gateway.seen_.hellos.push_back(*hello);
        }
        if (gateway.policy_.hello) refuse = gateway.policy_.hello(*hello, number);
        wire::HelloReply reply;
        reply.gateway_clock_ns = 1;
        const std::lock_guard lock(gateway.mutex_);
        if (refuse) {
          ++gateway.seen_.refused;
          reply.status = wire::HelloStatus::refused;
          reply.reason = *refuse;
          close_after_write = true;
        } else {
          ++gateway.seen_.accepted;
          reply.acked_through = gateway.contiguous_locked();
        }
        send(reply);
      } else if (auto* batch = std::get_if<wire::Batch>(&message)) {
        ++nth;
        const BatchAction action =
            gateway.policy_.batch ? gateway.policy_.batch(batch->seq, nth, number) : BatchAction::ack;
        const std::lock_guard lock(gateway.mutex_);
        ++gateway.seen_.batches;
        if (action == BatchAction::close) return close();
        if (action == BatchAction::lose) return;
        if (!gateway.seen_.held.insert(batch->seq).second) ++gateway.seen_.duplicates;
        gateway.seen_.bodies[batch->seq] = batch->body;
        if (action == BatchAction::ack) send(gateway.ack_locked());
      } else if (auto* hb = std::get_if<wire::Heartbeat>(&message)) {
        const std::lock_guard lock(gateway.mutex_);
        ++gateway.seen_.heartbeats;
        gateway.seen_.last_heartbeat = *hb;
      }
    }
    void send(const wire::Message& m) {
      std::vector<std::uint8_t> frame;
      (void)encoder.encode(m, frame);
      queue.push_back(std::move(frame));
      if (queue.size() == 1) do_write();
    }
    void do_write() {
      auto handler = [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
        if (ec) return;
        self->queue.pop_front();
        if (!self->queue.empty()) return self->do_write();
        if (self->close_after_write) self->close();
      };
      if (gateway.tls_)
        asio::async_write(stream, asio::buffer(queue.front()), handler);
      else
        asio::async_write(stream.next_layer(), asio::buffer(queue.front()), handler);
    }
    void close() {
      closing = true;
      boost::system::error_code ignored;
      stream.next_layer().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      stream.next_layer().close(ignored);
    }

    FakeGateway& gateway;
    Stream stream;
    std::array<std::uint8_t, 16384> buffer{};
    std::vector<std::uint8_t> pending;
    wire::Decoder decoder;
    wire::Encoder encoder;
    wire::Message message;
    std::deque<std::vector<std::uint8_t>> queue;
    std::uint32_t number = 0;
    std::uint32_t nth = 0;
    bool closing = false;
    bool close_after_write = false;
  };

  // Highest S with every seq 1..S held.
  std::uint64_t contiguous_locked() const {
    std::uint64_t s = 0;
    for (const std::uint64_t seq : seen_.held) {
      if (seq != s + 1) break;
      s = seq;
    }
    return s;
  }
  wire::Ack ack_locked() const {
    wire::Ack ack;
    ack.cumulative = contiguous_locked();
    for (auto it = seen_.held.upper_bound(ack.cumulative + 1); it != seen_.held.end(); ++it) {
      if (!ack.ranges.empty() && ack.ranges.back().last + 1 == *it) {
        ack.ranges.back().last = *it;
      } else if (ack.ranges.size() < wire::kMaxAckRanges) {
        ack.ranges.push_back({*it, *it});
      }
    }
    return ack;
  }

  void do_accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
      if (ec) return;
      std::make_shared<Session>(*this, std::move(socket))->start();
      do_accept();
    });
  }

  GatewayPolicy policy_;
  asio::ssl::context* tls_;
  asio::ssl::context plain_{asio::ssl::context::tls_server};
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mutex_;
  Seen seen_;
};

}  // namespace footfall::testing
