#include "probe/uplink/gateway_stream.h"

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <vector>

#include "probe/uplink/uplink.h"

namespace footfall::probe::uplink {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

std::string mbedtls_message(int code) {
  std::array<char, 160> text{};
  mbedtls_strerror(code, text.data(), text.size());
  return text.data();
}

// Mbed TLS's error codes (negative) as error_code values (their absolute value).
class TlsCategory final : public boost::system::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "mbedtls"; }
  [[nodiscard]] std::string message(int value) const override { return mbedtls_message(-value); }
};

// A certificate that failed its checks: the value holds Mbed TLS's verification flags.
class CertificateCategory final : public boost::system::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "certificate"; }
  [[nodiscard]] std::string message(int value) const override {
    std::array<char, 512> text{};
    const int n = mbedtls_x509_crt_verify_info(text.data(), text.size(), "", static_cast<std::uint32_t>(value));
    std::string lines(text.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!lines.empty() && lines.back() == '\n') lines.pop_back();
    std::string joined = "certificate rejected: ";
    for (const char c : lines) joined += c == '\n' ? std::string("; ") : std::string(1, c);
    return joined;
  }
};

error_code tls_error(int code) {
  static const TlsCategory category;
  return {-code, category};
}

error_code certificate_error(std::uint32_t flags) {
  static const CertificateCategory category;
  return {static_cast<int>(flags), category};
}

constexpr unsigned char kIpAddressTag = MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7;  // GeneralName iPAddress [7]
constexpr std::size_t kReadChunk = 17 * 1024;                                 // one TLS record and its header

}  // namespace

struct TlsClientContext::State {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context random;
  mbedtls_x509_crt ca;
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  mbedtls_ssl_config config;

  State() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&random);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_config_init(&config);
  }
  ~State() {
    mbedtls_ssl_config_free(&config);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&random);
    mbedtls_entropy_free(&entropy);
  }
  State(const State&) = delete;
  State& operator=(const State&) = delete;
};

TlsClientContext::TlsClientContext(const TlsConfig& tls) : state_(std::make_shared<State>()) {
  State& s = *state_;
  const auto cannot_load = [](const std::string& key, const std::string& file, const std::string& why) {
    return std::runtime_error("gateway.tls." + key + ": cannot load '" + file + "': " + why);
  };
  // A file of several certificates is usable when at least one parses (the result counts the others).
  const auto load_certificates = [&](mbedtls_x509_crt& into, const std::string& key, const std::string& file) {
    const int r = mbedtls_x509_crt_parse_file(&into, file.c_str());
    if (r < 0) throw cannot_load(key, file, mbedtls_message(r));
    if (into.raw.len == 0) throw cannot_load(key, file, "no certificate in it could be read");
  };

  static constexpr std::string_view kPersonalization = "footfall-probe uplink";
  if (const int r = mbedtls_ctr_drbg_seed(&s.random, mbedtls_entropy_func, &s.entropy,
                                          reinterpret_cast<const unsigned char*>(kPersonalization.data()),
                                          kPersonalization.size());
      r != 0)
    throw std::runtime_error("gateway.tls: cannot seed the random generator: " + mbedtls_message(r));

  load_certificates(s.ca, "ca_file", tls.ca_file);
  if (!tls.cert_file.empty()) {
    load_certificates(s.cert, "cert_file", tls.cert_file);
    const std::string& key_file = tls.key_file.empty() ? tls.cert_file : tls.key_file;
    if (const int r = mbedtls_pk_parse_keyfile(&s.key, key_file.c_str(), nullptr); r != 0)
      throw cannot_load("key_file", key_file, mbedtls_message(r));
    if (const int r = mbedtls_pk_check_pair(&s.cert.pk, &s.key); r != 0)
      throw cannot_load("key_file", key_file, "not the key of gateway.tls.cert_file (" + mbedtls_message(r) + ")");
  }

  if (const int r = mbedtls_ssl_config_defaults(&s.config, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                                MBEDTLS_SSL_PRESET_DEFAULT);
      r != 0)
    throw std::runtime_error("gateway.tls: " + mbedtls_message(r));
  mbedtls_ssl_conf_min_version(&s.config, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);  // TLS 1.2
  mbedtls_ssl_conf_authmode(&s.config, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&s.config, &s.ca, nullptr);
  mbedtls_ssl_conf_rng(&s.config, mbedtls_ctr_drbg_random, &s.random);
  if (!tls.cert_file.empty()) {
    if (const int r = mbedtls_ssl_conf_own_cert(&s.config, &s.cert, &s.key); r != 0)
      throw std::runtime_error("gateway.tls.cert_file: " + mbedtls_message(r));
  }
}

TlsClientContext::~TlsClientContext() = default;
TlsClientContext::TlsClientContext(TlsClientContext&&) noexcept = default;
TlsClientContext& TlsClientContext::operator=(TlsClientContext&&) noexcept = default;

// The TLS engine works on two byte queues: ciphertext received from the socket (input_) and ciphertext it
// wants sent (output_). An operation steps the engine; when it needs more input, what it queued is written
// first, then the socket is read, then it steps again.
class GatewayStream::Impl {
 public:
  Impl(asio::io_context& io, std::shared_ptr<TlsClientContext::State> tls)
      : socket_(io), context_(std::move(tls)) {
    mbedtls_ssl_init(&ssl_);
    if (!context_) return;
    if (const int r = mbedtls_ssl_setup(&ssl_, &context_->config); r != 0)
      throw std::runtime_error("TLS session: " + mbedtls_message(r));
    mbedtls_ssl_set_bio(&ssl_, this, &Impl::on_send, &Impl::on_receive, nullptr);
  }
  ~Impl() { mbedtls_ssl_free(&ssl_); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Tcp::socket& socket() { return socket_; }
  [[nodiscard]] bool tls() const { return context_ != nullptr; }

  void handshake(const std::string& server_name, Handler handler) {
    if (!context_) return post(std::move(handler), error_code{});
    error_code not_address;
    const asio::ip::address address = asio::ip::make_address(server_name, not_address);
    if (!not_address) {
      // Mbed TLS 2.28 matches DNS names only: an address is looked up in the certificate's IP entries here.
      if (address.is_v4()) {
        const auto bytes = address.to_v4().to_bytes();
        expected_address_.assign(bytes.begin(), bytes.end());
      } else {
        const auto bytes = address.to_v6().to_bytes();
        expected_address_.assign(bytes.begin(), bytes.end());
      }
      mbedtls_ssl_set_verify(&ssl_, &Impl::check_address, this);
    } else if (const int r = mbedtls_ssl_set_hostname(&ssl_, server_name.c_str()); r != 0) {
      return post(std::move(handler), tls_error(r));  // name checked in the certificate and sent as SNI
    }
    run([this] { return mbedtls_ssl_handshake(&ssl_); },
        [this, handler = std::move(handler)](const error_code& ec, int) {
          if (ec == tls_error(MBEDTLS_ERR_X509_CERT_VERIFY_FAILED))
            return handler(certificate_error(mbedtls_ssl_get_verify_result(&ssl_)));
          handler(ec);
        });
  }

  void read_some(asio::mutable_buffer buffer, IoHandler handler) {
    if (!context_) return socket_.async_read_some(buffer, std::move(handler));
    run([this, buffer] { return mbedtls_ssl_read(&ssl_, static_cast<unsigned char*>(buffer.data()), buffer.size()); },
        [handler = std::move(handler)](const error_code& ec, int n) {
          if (ec == tls_error(MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) || (!ec && n == 0))
            return handler(asio::error::eof, 0);
          handler(ec, ec ? 0 : static_cast<std::size_t>(n));
        });
  }

  void write(asio::const_buffer buffer, IoHandler handler) {
    if (!context_) return asio::async_write(socket_, buffer, std::move(handler));
    write_from(buffer, 0, std::move(handler));
  }

  void close() {
    error_code ignored;
    socket_.shutdown(Tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    // Waiting writers end now, from the io_context, which then owns their handlers (and what those keep alive).
    if (!flush_waiters_.empty()) {
      asio::post(socket_.get_executor(), [waiters = std::move(flush_waiters_)] {
        for (const FlushWaiter& w : waiters) w.then(asio::error::operation_aborted);
      });
      flush_waiters_.clear();
    }
  }

 private:
  using Step = std::function<int()>;
  using StepDone = std::function<void(const error_code&, int)>;
  struct FlushWaiter {
    std::uint64_t until;  // queued_ when it asked
    Handler then;
  };

  void post(Handler handler, const error_code& ec) {
    asio::post(socket_.get_executor(), [handler = std::move(handler), ec] { handler(ec); });
  }

  // Steps the engine until the step succeeds (>= 0) or fails; what it queued is on the socket before `done`.
  void run(Step step, StepDone done) {
    const int r = step();
    if (r == MBEDTLS_ERR_SSL_WANT_READ) {
      return flush([this, step = std::move(step), done = std::move(done)](const error_code& ec) mutable {
        if (ec) return done(ec, 0);
        receive([this, step = std::move(step), done = std::move(done)](const error_code& rec) mutable {
          if (rec) return done(rec, 0);
          run(std::move(step), std::move(done));
        });
      });
    }
    // A failed step may have queued an alert for the gateway: sent (best effort) before the error is reported.
    flush([done = std::move(done), r](const error_code& ec) {
      if (r < 0) return done(tls_error(r), 0);
      done(ec, r);
    });
  }

  void write_from(asio::const_buffer buffer, std::size_t written, IoHandler handler) {
    const auto* data = static_cast<const unsigned char*>(buffer.data()) + written;
    const std::size_t left = buffer.size() - written;
    // One record (at most 16 KiB) per step, on the socket before the next: output_ stays about a record long.
    run([this, data, left] { return mbedtls_ssl_write(&ssl_, data, left); },
        [this, buffer, written, handler = std::move(handler)](const error_code& ec, int n) mutable {
          if (ec) return handler(ec, written);
          const std::size_t now = written + static_cast<std::size_t>(n);
          if (now >= buffer.size()) return handler({}, now);
          write_from(buffer, now, std::move(handler));
        });
  }

  // Calls `then` once every byte queued so far is on the socket, or the socket failed. Reads and writes may
  // both flush: one socket write at a time carries whatever is queued, in order.
  void flush(Handler then) {
    if (broken_) return post(std::move(then), broken_);
    if (written_ == queued_) return post(std::move(then), error_code{});
    flush_waiters_.push_back({queued_, std::move(then)});
    if (!sending_) send_output();
  }

  void send_output() {
    if (output_.empty() || broken_) {
      sending_ = false;
      return;
    }
    sending_ = true;
    sending_bytes_.swap(output_);
    output_.clear();
    asio::async_write(socket_, asio::buffer(sending_bytes_), [this, alive = std::weak_ptr(alive_)](
                                                                 const error_code& ec, std::size_t n) {
      if (alive.expired()) return;
      written_ += n;
      sending_bytes_.clear();
      if (ec) broken_ = ec;
      while (!flush_waiters_.empty() && (ec || flush_waiters_.front().until <= written_)) {
        const Handler then = std::move(flush_waiters_.front().then);
        flush_waiters_.pop_front();
        then(ec);
      }
      send_output();
    });
  }

  void receive(Handler then) {
    if (receiving_) return post(std::move(then), asio::error::in_progress);  // one reader at a time
    receiving_ = true;
    socket_.async_read_some(asio::buffer(chunk_), [this, alive = std::weak_ptr(alive_), then = std::move(then)](
                                                      const error_code& ec, std::size_t n) {
      if (alive.expired()) return;
      receiving_ = false;
      if (!ec) input_.insert(input_.end(), chunk_.begin(), chunk_.begin() + static_cast<std::ptrdiff_t>(n));
      then(ec);
    });
  }

  static int on_send(void* self, const unsigned char* data, std::size_t size) {
    auto& s = *static_cast<Impl*>(self);
    s.output_.insert(s.output_.end(), data, data + size);
    s.queued_ += size;
    return static_cast<int>(size);
  }

  static int on_receive(void* self, unsigned char* data, std::size_t size) {
    auto& s = *static_cast<Impl*>(self);
    const std::size_t available = s.input_.size() - s.input_used_;
    if (available == 0) return MBEDTLS_ERR_SSL_WANT_READ;
    const std::size_t n = std::min(size, available);
    std::memcpy(data, s.input_.data() + s.input_used_, n);
    s.input_used_ += n;
    if (s.input_used_ == s.input_.size()) {
      s.input_.clear();
      s.input_used_ = 0;
    }
    return static_cast<int>(n);
  }

  static int check_address(void* self, mbedtls_x509_crt* cert, int depth, std::uint32_t* flags) {
    if (depth != 0) return 0;  // the gateway's own certificate, not its issuers
    const std::vector<unsigned char>& want = static_cast<Impl*>(self)->expected_address_;
    for (const mbedtls_x509_sequence* san = &cert->subject_alt_names; san != nullptr; san = san->next) {
      if (san->buf.tag == kIpAddressTag && san->buf.len == want.size() &&
          std::memcmp(san->buf.p, want.data(), want.size()) == 0)
        return 0;
    }
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
  }

  // Socket completions check it: one may still be queued when the stream is gone (after close()).
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
  Tcp::socket socket_;
  std::shared_ptr<TlsClientContext::State> context_;
  mbedtls_ssl_context ssl_;
  std::vector<unsigned char> expected_address_;

  std::vector<unsigned char> chunk_ = std::vector<unsigned char>(kReadChunk);
  std::vector<unsigned char> input_;  // received, not yet taken by the engine
  std::size_t input_used_ = 0;
  bool receiving_ = false;

  std::vector<unsigned char> output_;         // queued by the engine, not yet handed to the socket
  std::vector<unsigned char> sending_bytes_;  // in the socket write under way
  bool sending_ = false;
  std::uint64_t queued_ = 0;   // bytes the engine queued, ever
  std::uint64_t written_ = 0;  // of them, on the socket
  error_code broken_;          // the socket write that failed: every later flush fails with it
  std::deque<FlushWaiter> flush_waiters_;
};

GatewayStream::GatewayStream(asio::io_context& io, const TlsClientContext* tls)
    : impl_(std::make_unique<Impl>(io, tls ? tls->state_ : nullptr)) {}
GatewayStream::~GatewayStream() = default;

GatewayStream::Tcp::socket& GatewayStream::socket() { return impl_->socket(); }
bool GatewayStream::tls() const { return impl_->tls(); }
void GatewayStream::async_handshake(const std::string& server_name, Handler handler) {
  impl_->handshake(server_name, std::move(handler));
}
void GatewayStream::async_read_some(asio::mutable_buffer buffer, IoHandler handler) {
  impl_->read_some(buffer, std::move(handler));
}
void GatewayStream::async_write(asio::const_buffer buffer, IoHandler handler) {
  impl_->write(buffer, std::move(handler));
}
void GatewayStream::close() { impl_->close(); }

}  // namespace footfall::probe::uplink
