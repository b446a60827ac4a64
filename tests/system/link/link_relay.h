#pragma once
// A TCP relay between a probe and its gateway, on its own thread, that the test can cut: every open connection
// is dropped at once and new ones are reset on accept until restore(). It counts what it forwards, so a test can
// cut "after so many bytes" and wait for "the probe has tried again" without sleeping.
#include <atomic>
#include <boost/asio.hpp>
#include <cstdint>
#include <future>
#include <memory>
#include <set>
#include <thread>
#include <utility>

namespace footfall::link_testing {

namespace asio = boost::asio;

class LinkRelay {
 public:
  explicit LinkRelay(std::uint16_t upstream_port)
      : upstream_({asio::ip::make_address("127.0.0.1"), upstream_port}),
        acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    do_accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  // Closes everything; the io thread ends once the aborted operations have completed.
  ~LinkRelay() {
    on_io([this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
      close_all();
    });
    thread_.join();
  }
  LinkRelay(const LinkRelay&) = delete;
  LinkRelay& operator=(const LinkRelay&) = delete;

  [[nodiscard]] std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // Drops every open connection (both sides closed at once) and resets new ones until restore().
  void cut() {
    on_io([this] {
      cut_ = true;
      close_all();
    });
  }
  void restore() {
    on_io([this] { cut_ = false; });
  }

  [[nodiscard]] std::uint64_t passed() const { return passed_; }          // connections let through
  [[nodiscard]] std::uint64_t refused() const { return refused_; }        // connections reset while cut
  [[nodiscard]] std::uint64_t bytes_up() const { return bytes_up_; }      // probe -> gateway
  [[nodiscard]] std::uint64_t bytes_down() const { return bytes_down_; }  // gateway -> probe

 private:
  using Tcp = asio::ip::tcp;

  struct Pair {
    explicit Pair(asio::io_context& io) : probe(io), gateway(io) {}
    Tcp::socket probe;
    Tcp::socket gateway;
    std::array<std::uint8_t, 16384> up{};
    std::array<std::uint8_t, 16384> down{};
  };

  template <typename F>
  void on_io(F f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  void do_accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, Tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (cut_) {
          ++refused_;
          boost::system::error_code ignored;
          socket.set_option(asio::socket_base::linger(true, 0), ignored);  // a reset, not a polite close
          socket.close(ignored);
        } else {
          connect_upstream(std::move(socket));
        }
      }
      do_accept();
    });
  }

  void connect_upstream(Tcp::socket probe) {
    auto pair = std::make_shared<Pair>(io_);
    pair->probe = std::move(probe);
    pairs_.insert(pair);
    pair->gateway.async_connect(upstream_, [this, pair](const boost::system::error_code& ec) {
      if (ec || !pairs_.count(pair)) return drop(pair);
      ++passed_;
      pump(pair, pair->probe, pair->gateway, pair->up, bytes_up_);
      pump(pair, pair->gateway, pair->probe, pair->down, bytes_down_);
    });
  }

  // Copies from one side to the other until either side fails; then the pair is dropped whole.
  void pump(const std::shared_ptr<Pair>& pair, Tcp::socket& from, Tcp::socket& to, std::array<std::uint8_t, 16384>& buf,
            std::atomic<std::uint64_t>& counter) {
    from.async_read_some(asio::buffer(buf), [this, pair, &from, &to, &buf, &counter](
                                                 const boost::system::error_code& ec, std::size_t n) {
      if (ec || !pairs_.count(pair)) return drop(pair);
      asio::async_write(to, asio::buffer(buf.data(), n),
                        [this, pair, &from, &to, &buf, &counter, n](const boost::system::error_code& wec, std::size_t) {
                          if (wec || !pairs_.count(pair)) return drop(pair);
                          counter += n;
                          pump(pair, from, to, buf, counter);
                        });
    });
  }

  void drop(const std::shared_ptr<Pair>& pair) {
    boost::system::error_code ignored;
    pair->probe.set_option(asio::socket_base::linger(true, 0), ignored);
    pair->probe.close(ignored);
    pair->gateway.set_option(asio::socket_base::linger(true, 0), ignored);
    pair->gateway.close(ignored);
    pairs_.erase(pair);
  }

  void close_all() {
    const auto open = pairs_;
    for (const auto& pair : open) drop(pair);
  }

  asio::io_context io_;
  Tcp::endpoint upstream_;
  Tcp::acceptor acceptor_;
  std::set<std::shared_ptr<Pair>> pairs_;
  bool cut_ = false;
  std::atomic<std::uint64_t> passed_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> bytes_up_{0};
  std::atomic<std::uint64_t> bytes_down_{0};
  std::thread thread_;
};

}  // namespace footfall::link_testing
