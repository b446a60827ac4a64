#pragma once
// Test harness for the gateway: a temporary journal dir, an in-process gateway on its own io thread,
// and a scripted probe (shared Encoder / Decoder over a socket driven with bounded waits).
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "common/clock.h"
#include "common/wire/codec.h"
#include "gateway/config/gateway_config.h"
#include "gateway/journal/journal.h"
#include "gateway/receive/server.h"
#include "tests/support/scratch.h"

namespace footfall::gateway::testing {

namespace asio = boost::asio;
using namespace std::chrono_literals;

using footfall::testing::TempDir;

inline GatewayConfig test_config(const std::filesystem::path& journal_dir) {
  GatewayConfig c;
  c.tenant = "acme";
  c.site = "mall-1";
  c.listen_port = 0;
  c.probes = {{"entrance", "s3cret", "entrance"}, {"food-court", "t0ken", "food"}};
  c.journal_dir = journal_dir;
  c.journal_max_mb = 64;
  c.hello_timeout_s = 5;
  c.idle_timeout_s = 30;
  return c;
}

// A gateway (journal + receive server) running on a thread of its own.
class GatewayUnderTest {
 public:
  explicit GatewayUnderTest(GatewayConfig config) : config_(std::move(config)) {
    JournalOptions options;
    options.dir = config_.journal_dir;
    options.max_bytes = config_.journal_max_mb << 20;
    options.max_frame_bytes = config_.max_frame_bytes;
    options.fsync = config_.journal_fsync == JournalFsync::always;
    auto opened = Journal::open(options);
    if (!opened.journal) throw std::runtime_error(opened.error);
    journal_ = std::move(opened.journal);
    server_ = std::make_unique<ReceiveServer>(io_, config_, *journal_);
    if (auto e = server_->start()) throw std::runtime_error(e->message);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~GatewayUnderTest() { stop(); }
  GatewayUnderTest(const GatewayUnderTest&) = delete;
  GatewayUnderTest& operator=(const GatewayUnderTest&) = delete;

  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] { server_->stop(); });
    thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return server_->port(); }
  ReceiveCounters& counters() { return server_->counters(); }

  // Runs fn on the gateway's thread and returns its result.
  template <typename F>
  auto call(F fn) -> decltype(fn(std::declval<ReceiveServer&>())) {
    using R = decltype(fn(std::declval<ReceiveServer&>()));
    std::packaged_task<R()> task([&] { return fn(*server_); });
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }

 private:
  GatewayConfig config_;
  asio::io_context io_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<ReceiveServer> server_;
  std::thread thread_;
};

// Polls `done` until it holds or the deadline passes (bounded wait, no fixed sleep).
inline bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A scripted probe: blocking-style calls, each bounded by a timeout on its own io_context.
class TestProbe {
 public:
  explicit TestProbe(asio::ssl::context* tls = nullptr, std::string server_name = "") : socket_(io_) {
    if (tls) {
      tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls);
      if (!server_name.empty()) SSL_set_tlsext_host_name(tls_->native_handle(), server_name.c_str());
    }
  }

  bool connect(std::uint16_t port, std::chrono::milliseconds limit = 5000ms) {
    boost::system::error_code ec;
    socket_.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return false;
    if (!tls_) return true;
    bool done = false;
    tls_->async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& e) {
      ec = e;
      done = true;
    });
    run_until(done, limit);
    handshake_error_ = ec;
    return done && !ec;
  }
  [[nodiscard]] boost::system::error_code handshake_error() const { return handshake_error_; }

  bool send(const wire::Message& m) {
    std::vector<std::uint8_t> bytes;
    if (encoder_.encode(m, bytes)) return false;
    return send_bytes(bytes);
  }
  bool send_bytes(std::span<const std::uint8_t> bytes) {
    boost::system::error_code ec;
    if (tls_) asio::write(*tls_, asio::buffer(bytes.data(), bytes.size()), ec);
    else asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    return !ec;
  }

  // The next message from the gateway; nullopt on timeout, close or a bad frame.
  std::optional<wire::Message> receive(std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (pending_begin_ < pending_.size()) {
        wire::Message m;
        const auto r = decoder_.parse(std::span<const std::uint8_t>(pending_).subspan(pending_begin_), m);
        pending_begin_ += r.consumed;
        if (r.status == wire::ParseStatus::good) return m;
        if (r.status == wire::ParseStatus::bad) return std::nullopt;
      }
      pending_.clear();
      pending_begin_ = 0;
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline || closed_) return std::nullopt;
      if (!read_some(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now))) return std::nullopt;
    }
  }
  template <typename T>
  std::optional<T> receive_as(std::chrono::milliseconds limit = 5000ms) {
    auto m = receive(limit);
    if (!m || !std::holds_alternative<T>(*m)) return std::nullopt;
    return std::get<T>(*m);
  }

  // True when the gateway closes the connection within the limit (anything it sends first is skipped).
  bool wait_closed(std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!closed_) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return false;
      pending_.clear();
      pending_begin_ = 0;
      (void)read_some(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    }
    return true;
  }
  // Bytes already waiting from the gateway, without blocking.
  std::size_t available() {
    boost::system::error_code ec;
    return socket_.available(ec) + (pending_.size() - pending_begin_);
  }

  std::optional<wire::HelloReply> hello(const std::string& id, const std::string& token, std::int64_t clock_ns,
                                        std::uint64_t spool_id = 0) {
    if (!send(wire::Hello{id, token, "test-0.1", clock_ns, spool_id})) return std::nullopt;
    return receive_as<wire::HelloReply>();
  }
  void close() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  bool read_some(std::chrono::milliseconds limit) {
    std::array<std::uint8_t, 16384> buf{};
    bool done = false;
    boost::system::error_code ec;
    std::size_t n = 0;
    auto handler = [&](const boost::system::error_code& e, std::size_t got) {
      ec = e;
      n = got;
      done = true;
    };
    if (tls_) tls_->async_read_some(asio::buffer(buf), handler);
    else socket_.async_read_some(asio::buffer(buf), handler);
    run_until(done, limit);
    if (!done) {
      socket_.cancel();
      run_until(done, 1000ms);
      return false;
    }
    if (ec) {
      closed_ = true;
      return false;
    }
    pending_.insert(pending_.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    return true;
  }
  void run_until(bool& done, std::chrono::milliseconds limit) {
    io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) io_.run_one_until(deadline);
  }

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  boost::system::error_code handshake_error_;
  wire::Encoder encoder_;
  wire::Decoder decoder_;
  std::vector<std::uint8_t> pending_;
  std::size_t pending_begin_ = 0;
  bool closed_ = false;
};

inline std::int64_t now_ns() { return footfall::clock::wall_ns(); }

// A batch of realistic presence events: arrivals, updates and departures of phones, most randomized.
inline wire::Batch make_batch(std::uint64_t seq, std::size_t events, std::int64_t base_ts_ns, std::mt19937& rng) {
  wire::Batch b;
  b.seq = seq;
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t i = 0; i < events; ++i) {
    PresenceEvent e;
    e.kind = static_cast<PresenceKind>(i % 3);
    for (auto& o : e.mac.octets) o = static_cast<std::uint8_t>(byte(rng));
    if (i % 5 != 0) e.mac.octets[0] = static_cast<std::uint8_t>((e.mac.octets[0] | 0x02) & 0xfe);
    e.randomized = e.mac.locally_administered();
    e.fingerprint = 0x1000 + static_cast<std::uint64_t>(i % 25);
    e.first_seen_ns = base_ts_ns - 120'000'000'000 + static_cast<std::int64_t>(i) * 1'000'000;
    e.last_seen_ns = base_ts_ns + static_cast<std::int64_t>(i) * 1'000'000;
    e.ts_ns = e.last_seen_ns;
    e.frames = static_cast<std::uint32_t>(10 + i % 40);
    e.rssi_min = static_cast<std::int8_t>(-80 + static_cast<int>(i % 7));
    e.rssi_max = static_cast<std::int8_t>(-50 - static_cast<int>(i % 5));
    e.rssi_mean = static_cast<std::int8_t>(-65);
    e.strongest_freq_mhz = (i % 2) ? 2437 : 5180;
    e.dwell_s = e.kind == PresenceKind::departure ? 120 : 0;
    b.body.events.push_back(e);
  }
  return b;
}

inline std::uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

}  // namespace footfall::gateway::testing
