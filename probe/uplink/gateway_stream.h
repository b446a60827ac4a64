#pragma once
// The probe's byte stream to its gateway: a TCP socket, with TLS on top when the config names a CA.
//
// TLS is Mbed TLS (2.28, TLS 1.2), driven over the Asio socket here instead of through boost::asio::ssl:
// the static probe links Mbed TLS rather than OpenSSL (a third of the size), and no TLS library type shows
// in this header, so test programs and the gateway keep linking OpenSSL beside it (docs/cross-builds.md).
//
//   connect socket() -> async_handshake(name): chain checked against ca_file, name against the certificate
//   (DNS name: SAN/CN, sent as SNI; address literal: the certificate's IP entries) -> async_read_some /
//   async_write, one of each pending at a time, as with an Asio stream.
//
// Every handler is called from the io_context, never inside the call that started the operation. Closing the
// socket ends pending operations with operation_aborted. The stream must outlive its pending operations
// (callers keep it in a shared_ptr captured by their handlers).
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace footfall::probe::uplink {

struct TlsConfig;

// What the TLS sessions of one uplink share: the trusted CA, the optional client certificate and key, and a
// random generator. Loaded once; throws std::runtime_error naming the config key of a file that cannot be used.
class TlsClientContext {
 public:
  explicit TlsClientContext(const TlsConfig& tls);
  ~TlsClientContext();
  TlsClientContext(TlsClientContext&&) noexcept;
  TlsClientContext& operator=(TlsClientContext&&) noexcept;

  struct State;

 private:
  friend class GatewayStream;
  std::shared_ptr<State> state_;  // shared with the streams made from it
};

class GatewayStream {
 public:
  using Tcp = boost::asio::ip::tcp;
  using Handler = std::function<void(const boost::system::error_code&)>;
  using IoHandler = std::function<void(const boost::system::error_code&, std::size_t)>;

  // tls == nullptr: plain TCP.
  GatewayStream(boost::asio::io_context& io, const TlsClientContext* tls);
  ~GatewayStream();
  GatewayStream(const GatewayStream&) = delete;
  GatewayStream& operator=(const GatewayStream&) = delete;

  [[nodiscard]] Tcp::socket& socket();
  [[nodiscard]] bool tls() const;

  // TLS only; `server_name` is what the certificate must name (a DNS name or an address literal).
  void async_handshake(const std::string& server_name, Handler handler);
  // At least one byte, or an error; the gateway ending the session is asio::error::eof.
  void async_read_some(boost::asio::mutable_buffer buffer, IoHandler handler);
  // All of `buffer`, or an error. The bytes must stay valid until the handler runs.
  void async_write(boost::asio::const_buffer buffer, IoHandler handler);
  // Shuts the socket down and closes it; pending operations end with operation_aborted.
  void close();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace footfall::probe::uplink
