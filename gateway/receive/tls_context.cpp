#include "gateway/receive/tls_context.h"

#include <boost/asio/ssl.hpp>

namespace footfall::gateway {

namespace asio = boost::asio;

std::shared_ptr<asio::ssl::context> make_tls_context(const ServerTls& tls, std::string& error) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                   ec);
  if (ctx->use_certificate_chain_file(tls.cert_file, ec); ec) {
    error = "listen.tls.cert_file: cannot load " + tls.cert_file + ": " + ec.message();
    return nullptr;
  }
  if (ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec); ec) {
    error = "listen.tls.key_file: cannot load " + tls.key_file + ": " + ec.message();
    return nullptr;
  }
  if (!tls.client_ca_file.empty()) {
    if (ctx->load_verify_file(tls.client_ca_file, ec); ec) {
      error = "listen.tls.client_ca_file: cannot load " + tls.client_ca_file + ": " + ec.message();
      return nullptr;
    }
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace footfall::gateway
