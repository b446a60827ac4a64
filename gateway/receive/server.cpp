#include "gateway/receive/server.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>

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
  descriptors_ = raise_descriptor_limit();
  connection_cap_ = std::min<std::size_t>(config_.max_connections, descriptors_.connections);
  spare_fd_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (connection_cap_ < config_.max_connections) {
    spdlog::warn("open files: limit {} (hard {}, was {}), {} open, {} kept for the journal, outbox and broker: "
                 "limits.max_connections {} capped to {}; raise LimitNOFILE (systemd) or ulimit -n for more",
                 descriptors_.soft, descriptors_.hard, descriptors_.soft_before, descriptors_.in_use,
                 kReservedDescriptors, config_.max_connections, connection_cap_);
  } else {
    spdlog::info("open files: limit {} (hard {}, was {}), {} open: room for limits.max_connections {}",
                 descriptors_.soft, descriptors_.hard, descriptors_.soft_before, descriptors_.in_use,
                 config_.max_connections);
  }
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
    if (!ec) {
      on_accepted(std::move(socket));
      do_accept();
      return;
    }
    const bool out_of_fds = ec == asio::error::no_descriptors || ec.value() == ENFILE;
    if (out_of_fds && refuse_one_waiting()) {
      do_accept();
      return;
    }
    accept_failed_log_("accept failed: {}", ec.message());
    accept_retry_timer_.expires_after(kAcceptRetry);
    accept_retry_timer_.async_wait([this](const boost::system::error_code& e) {
      if (!e && !stopping_) do_accept();
    });
  });
}

bool ReceiveServer::refuse_one_waiting() {
  if (!spare_fd_.valid()) return false;
  spare_fd_.close_now();
  const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
  const bool refused = fd >= 0;
  if (refused) ::close(fd);
  spare_fd_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!refused) return false;
  ReceiveCounters::bump(counters_.connections_refused_fds);
  refused_log_("connection refused: out of file descriptors ({} connections open, open-file limit {})",
               registry_.size(), descriptors_.soft);
  return true;
}

void ReceiveServer::on_accepted(asio::ip::tcp::socket socket) {
  const std::string peer = peer_of(socket);
  if (registry_.size() >= connection_cap_) {
    ReceiveCounters::bump(counters_.connections_refused_max);
    refused_log_("connection from {} refused: {} connections open, the most limits.max_connections ({}) and the "
                 "open-file limit allow",
                 peer, registry_.size(), connection_cap_);
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
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
  connection_cap_ = std::min<std::size_t>(config_.max_connections, descriptors_.connections);
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
