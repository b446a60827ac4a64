#include "gateway/receive/server.h"

#include <boost/asio/ssl.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "gateway/receive/probe_session.h"

namespace footfall::gateway {

namespace {

constexpr auto kAcceptRetry = std::chrono::milliseconds(100);  // after EMFILE and the like

std::string peer_of(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

ReceiveServer::ReceiveServer(asio::io_context& io, GatewayConfig config, Journal& journal)
    : io_(io),
      config_(std::move(config)),
      journal_(journal),
      acceptor_(io),
      registry_(counters_),
      intake_(io, config_, journal_, counters_, registry_),
      health_timer_(io),
      accept_retry_timer_(io) {}

ReceiveServer::~ReceiveServer() = default;

std::optional<ReceiveServer::StartError> ReceiveServer::start() {
  if (config_.tls.enabled()) {
    std::string error;
    tls_ = make_tls_context(config_.tls, error);
    if (!tls_) return StartError{error, true};
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(config_.listen_address, ec);
  if (ec) return StartError{"listen.address: not an IP address: " + config_.listen_address, true};
  const asio::ip::tcp::endpoint endpoint(address, config_.listen_port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return StartError{
        "cannot listen on " + config_.listen_address + ":" + std::to_string(config_.listen_port) + ": " + ec.message()};
  port_ = acceptor_.local_endpoint().port();
  spdlog::info("listening on {}:{} ({}), {} probes configured, journal {} ({} of {} MB used, {} batches held)",
               config_.listen_address, port_, tls_ ? (config_.tls.client_ca_file.empty() ? "tls" : "tls+client-cert") : "tcp",
               config_.probes.size(), journal_.dir().string(), journal_.stats().disk_bytes >> 20, config_.journal_max_mb,
               journal_.stats().held_records);
  do_accept();
  arm_health_timer();
  return std::nullopt;
}

void ReceiveServer::do_accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket socket) {
    if (stopping_ || !acceptor_.is_open()) return;
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
      accept_retry_timer_.expires_after(kAcceptRetry);
      accept_retry_timer_.async_wait([this](const boost::system::error_code& e) {
        if (!e && !stopping_) do_accept();
      });
      return;
    }
    const std::string peer = peer_of(socket);
    if (registry_.size() >= config_.max_connections) {
      ReceiveCounters::bump(counters_.connections_refused_max);
      spdlog::warn("connection from {} refused: limits.max_connections ({}) reached", peer, config_.max_connections);
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      boost::system::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // acks are small and latency-bound
      std::shared_ptr<ProbeSession> session;
      if (tls_) {
        session = std::make_shared<TlsSession>(intake_, asio::ssl::stream<asio::ip::tcp::socket>(std::move(socket), *tls_),
                                               peer, tls_);
      } else {
        session = std::make_shared<PlainSession>(intake_, std::move(socket), peer);
      }
      registry_.add(session);
      spdlog::debug("connection from {}", peer);
      session->start();
    }
    do_accept();
  });
}

ReceiveHealth ReceiveServer::health() const {
  ReceiveHealth h;
  h.tenant = config_.tenant;
  h.site = config_.site;
  h.written_ns = footfall::clock::wall_ns();
  h.probes = intake_.health().probes();
  h.receive = counters_.snapshot();
  h.config = reloads_;
  h.journal = journal_.stats();
  h.journal_full = intake_.journal_full();
  return h;
}

void ReceiveServer::write_health(bool log_summary) {
  if (log_summary)
    for (const auto& [id, h] : intake_.health().probes()) spdlog::info("{}", ProbeHealthBook::summary_line(id, h));
  if (const auto e = atomic_file::write(journal_.dir() / "health.json", to_json(health()).dump(2) + "\n"))
    spdlog::warn("health.json not written: {}", e->message());
}

void ReceiveServer::arm_health_timer() {
  health_timer_.expires_after(std::chrono::seconds(config_.health_interval_s));
  health_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    write_health();
    arm_health_timer();
  });
}

void ReceiveServer::reload(const GatewayConfig& next, std::shared_ptr<asio::ssl::context> tls) {
  // Sessions of probes no longer listed, or listed with another token, end now; their next Hello is refused.
  std::vector<std::pair<std::shared_ptr<ProbeSession>, CloseReason>> ending;
  for (auto& [id, session] : registry_.by_probe()) {
    const ProbeAccount* now = next.find_probe(id);
    const ProbeAccount* before = config_.find_probe(id);
    if (now == nullptr) ending.emplace_back(session, CloseReason::probe_removed);
    else if (before == nullptr || now->token != before->token) ending.emplace_back(session, CloseReason::token_changed);
  }
  tls_ = std::move(tls);
  config_ = next;
  intake_.probes_changed();
  for (auto& [session, reason] : ending)
    session->close(reason, reason == CloseReason::probe_removed ? "no longer in probes of the reloaded config"
                                                                : "the reloaded config holds another token");
}

void ReceiveServer::stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  intake_.stop();
  health_timer_.cancel();
  accept_retry_timer_.cancel();
  for (auto& s : registry_.all()) s->close(CloseReason::shutdown);
  if (journal_.needs_commit()) {
    if (const JournalError e = journal_.commit()) spdlog::error("journal commit at shutdown failed: {}", e.message());
  }
  write_health();
  spdlog::info("stopped: {} batches stored, {} duplicates, {} commits", ReceiveCounters::get(counters_.batches_stored),
               ReceiveCounters::get(counters_.batches_duplicate), ReceiveCounters::get(counters_.commits));
}

}  // namespace footfall::gateway
