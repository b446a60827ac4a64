#pragma once
// The receive side's TLS set-up, apart from the server that uses it.
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "gateway/config/gateway_config.h"

namespace footfall::gateway {

// The server's TLS context from the listen.tls files (read again each time: a renewed certificate is taken);
// null with `error` naming the key of a file that does not load.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const ServerTls& tls, std::string& error);

}  // namespace footfall::gateway
