#include "gateway/receive/server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "gateway/receive/hello_check.h"

namespace footfall::gateway {

namespace {

constexpr auto kSpaceRetry = std::chrono::milliseconds(200);   // how often batches waiting for journal space retry
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);  // after EMFILE and the like

std::string peer_of(const asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

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

std::string printable(std::string_view untrusted) {
  std::string out;
  for (const char c : untrusted) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out.push_back(c);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

ReceiveServer::ReceiveServer(asio::io_context& io, GatewayConfig config, Journal& journal)
    : io_(io),
      config_(std::move(config)),
      journal_(journal),
      acceptor_(io),
      health_(config_.clock_window, static_cast<std::int64_t>(config_.clock_tolerance_ms) * 1'000'000),
      space_timer_(io),
      health_timer_(io),
      accept_retry_timer_(io) {
  for (const ProbeAccount& p : config_.probes) health_.probe(p.id).zone = p.zone;
  for (const std::string& id : journal_.probes_held()) health_.probe(id).acked_through = journal_.durable_through(id);
}

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
    if (sessions_.size() >= config_.max_connections) {
      ReceiveCounters::bump(counters_.connections_refused_max);
      spdlog::warn("connection from {} refused: limits.max_connections ({}) reached", peer, config_.max_connections);
      boost::system::error_code ignored;
      socket.close(ignored);
    } else {
      boost::system::error_code ignored;
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);  // acks are small and latency-bound
      std::shared_ptr<ProbeSession> session;
      if (tls_) {
        session = std::make_shared<TlsSession>(*this, asio::ssl::stream<asio::ip::tcp::socket>(std::move(socket), *tls_),
                                               peer, tls_);
      } else {
        session = std::make_shared<PlainSession>(*this, std::move(socket), peer);
      }
      sessions_.emplace(session.get(), session);
      ReceiveCounters::bump(counters_.connections_accepted);
      counters_.connections_open.store(sessions_.size(), std::memory_order_relaxed);
      spdlog::debug("connection from {}", peer);
      session->start();
    }
    do_accept();
  });
}

void ReceiveServer::encode(const wire::Message& message, std::vector<std::uint8_t>& out) {
  if (const auto bad = encoder_.encode(message, out))
    spdlog::error("cannot encode {}: {}", wire::to_string(wire::type_of(message)), wire::to_string(*bad));
}

bool ReceiveServer::on_hello(ProbeSession& session, const wire::Hello& hello) {
  const std::int64_t now = clock::wall_ns();
  // With client certificates bound to probes, a session without one (made before a reload asked for them) has
  // the name "", which names no probe.
  const bool bound = !config_.tls.client_ca_file.empty() && config_.tls.client_cert_names_probe;
  const HelloVerdict verdict = check_hello(config_.probes, hello,
                                           bound ? std::optional(session.certificate_name().value_or(""))
                                                 : std::nullopt);
  if (!verdict.accepted()) {
    ReceiveCounters::bump(counters_.hello_refused[static_cast<std::size_t>(verdict.refusal)]);
    spdlog::warn("hello refused: peer={} probe=\"{}\" reason={}", session.peer(), printable(hello.probe_id),
                 wire::to_string(verdict.refusal));
    session.send(wire::HelloReply{wire::HelloStatus::refused, verdict.refusal, now, 0});
    return false;
  }
  auto& slot = by_probe_[hello.probe_id];
  if (auto old = slot.lock(); old && old.get() != &session) {
    // The new session wins: a restarted probe must not be locked out by a half-dead old connection.
    old->close(CloseReason::replaced, "new session from " + session.peer());
  }
  slot = session.weak_from_this();
  ProbeHealth& h = health_.probe(hello.probe_id);
  h.connected = true;
  h.peer = session.peer();
  h.software_version = printable(hello.software_version);
  h.sessions += 1;
  h.connected_since_ns = now;
  h.last_frame_ns = now;
  h.replay = hello.probe_clock_ns == 0;
  h.clock.reset();
  h.clock.add_sample(hello.probe_clock_ns, now);
  h.acked_through = journal_.durable_through(hello.probe_id);
  ReceiveCounters::bump(counters_.sessions_established);
  session.send(wire::HelloReply{wire::HelloStatus::accepted, wire::RefuseReason::none, now, h.acked_through});
  const auto offset = h.clock.offset_ns();
  spdlog::info("session up: peer={} probe={} version={} acked_through={} clock={}", session.peer(), hello.probe_id,
               h.software_version, h.acked_through,
               h.replay ? std::string("replay") : fmt::format("{:+.3f}s", static_cast<double>(offset.value_or(0)) / 1e9));
  return true;
}

void ReceiveServer::on_frame(ProbeSession& session) { health_.probe(session.probe_id()).last_frame_ns = clock::wall_ns(); }

StoreOutcome ReceiveServer::store_batch(ProbeSession& session, std::uint64_t seq, std::span<const std::uint8_t> frame,
                                        std::size_t events, std::size_t sightings, bool retry) {
  ProbeHealth& h = health_.probe(session.probe_id());
  if (!retry) ReceiveCounters::bump(counters_.batches_received);
  JournalRecordMeta meta;
  meta.probe_id = session.probe_id();
  meta.probe_seq = seq;
  meta.received_ns = clock::wall_ns();
  meta.replay = session.replay();
  const auto offset = h.clock.offset_ns();
  meta.offset_known = offset.has_value();
  meta.clock_offset_ns = offset.value_or(0);
  meta.correction_ns = session.replay() ? 0 : h.clock.correction_ns();
  std::string error;
  const StoreOutcome outcome = journal_.store(meta, frame, &error);
  switch (outcome) {
    case StoreOutcome::stored:
      if (journal_full_) {
        journal_full_ = false;
        spdlog::info("journal has room again: accepting batches");
      }
      ReceiveCounters::bump(counters_.batches_stored);
      ReceiveCounters::bump(counters_.events_stored, events);
      ReceiveCounters::bump(counters_.sightings_stored, sightings);
      h.batches_stored += 1;
      h.events_stored += events;
      h.sightings_stored += sightings;
      h.last_batch_seq = std::max(h.last_batch_seq, seq);
      request_ack(session);
      break;
    case StoreOutcome::duplicate:
      ReceiveCounters::bump(counters_.batches_duplicate);
      h.batches_duplicate += 1;
      spdlog::debug("duplicate batch: probe={} seq={} (acked again, not stored)", session.probe_id(), seq);
      request_ack(session);
      break;
    case StoreOutcome::full:
      if (!retry) ReceiveCounters::bump(counters_.batches_waiting_full);
      if (!journal_full_) {
        journal_full_ = true;
        const auto s = journal_.stats();
        spdlog::warn("journal full ({} of {} bytes, {}): not acking; batches wait in the probes' spools",
                     s.disk_bytes, s.max_bytes, error);
      }
      break;
    case StoreOutcome::failed:
      spdlog::error("journal store failed: probe={} seq={}: {}", session.probe_id(), seq, error);
      break;
  }
  return outcome;
}

void ReceiveServer::on_first_batch(ProbeSession& session, std::uint64_t seq) {
  if (const std::uint64_t n = journal_.give_up_below(session.probe_id(), seq); n != 0)
    spdlog::warn("probe {}: resumes at batch {}; {} lower batch(es) never reached the journal and are gone from its "
                 "spool (its spool-full drops): acked_through moves past them",
                 session.probe_id(), seq, n);
}

void ReceiveServer::request_ack(ProbeSession& session) {
  if (!session.ack_due) {
    session.ack_due = true;
    ack_waiters_.push_back(session.weak_from_this());
  }
  if (commit_posted_) return;
  commit_posted_ = true;
  // Posted behind the reads already completed: one fdatasync covers every batch they carried.
  asio::post(io_, [this] { run_commit(); });
}

void ReceiveServer::run_commit() {
  commit_posted_ = false;
  auto waiters = std::move(ack_waiters_);
  ack_waiters_.clear();
  if (journal_.needs_commit()) {
    if (const JournalError e = journal_.commit()) {
      spdlog::error("journal commit failed: {}: closing the sessions waiting for acks", e.message());
      for (auto& w : waiters)
        if (auto s = w.lock()) {
          s->ack_due = false;
          s->close(CloseReason::journal_failed, e.message());
        }
      return;
    }
    ReceiveCounters::bump(counters_.commits);
  }
  for (auto& w : waiters) {
    auto s = w.lock();
    if (!s) continue;
    s->ack_due = false;
    if (s->closed()) continue;
    wire::Ack ack = journal_.ack_for(s->probe_id());
    health_.probe(s->probe_id()).acked_through = ack.cumulative;
    s->send(ack);
    ReceiveCounters::bump(counters_.acks_sent);
  }
}

void ReceiveServer::on_heartbeat(ProbeSession& session, const wire::Heartbeat& heartbeat) {
  const std::int64_t now = clock::wall_ns();
  ReceiveCounters::bump(counters_.heartbeats);
  ProbeHealth& h = health_.probe(session.probe_id());
  h.has_heartbeat = true;
  h.heartbeat = heartbeat;
  h.last_heartbeat_ns = now;
  if (!session.replay()) h.clock.add_sample(heartbeat.probe_clock_ns, now);
}

void ReceiveServer::wait_for_space(const std::shared_ptr<ProbeSession>& session) {
  waiting_for_space_.push_back(session);
  arm_space_timer();
}

void ReceiveServer::arm_space_timer() {
  if (space_timer_armed_ || stopping_) return;
  space_timer_armed_ = true;
  space_timer_.expires_after(kSpaceRetry);
  space_timer_.async_wait([this](const boost::system::error_code& ec) {
    space_timer_armed_ = false;
    if (!ec && !stopping_) retry_waiting();
  });
}

void ReceiveServer::retry_waiting() {
  while (!waiting_for_space_.empty()) {
    auto s = waiting_for_space_.front().lock();
    if (s && !s->closed() && !s->retry_waiting_batch()) break;  // still full: the rest wait their turn
    waiting_for_space_.pop_front();
  }
  if (!waiting_for_space_.empty()) arm_space_timer();
}

void ReceiveServer::journal_space_freed() { retry_waiting(); }

void ReceiveServer::on_closed(ProbeSession& session, CloseReason reason) {
  ReceiveCounters::bump(counters_.closed[static_cast<std::size_t>(reason)]);
  if (!session.probe_id().empty()) {
    auto it = by_probe_.find(session.probe_id());
    if (it != by_probe_.end() && it->second.lock().get() == &session) {
      by_probe_.erase(it);
      health_.probe(session.probe_id()).connected = false;
    }
  }
  sessions_.erase(&session);  // handlers in flight still hold the session; it goes when they finish
  counters_.connections_open.store(sessions_.size(), std::memory_order_relaxed);
}

nlohmann::json ReceiveServer::health_json() const {
  nlohmann::json probes = nlohmann::json::object();
  for (const auto& [id, h] : health_.probes()) probes[id] = ProbeHealthBook::to_json(h);
  const JournalStats j = journal_.stats();
  return {
      {"tenant", config_.tenant},
      {"site", config_.site},
      {"written_ns", clock::wall_ns()},
      {"probes", std::move(probes)},
      {"receive", counters_.to_json()},
      {"config", reloads_.to_json()},
      {"journal",
       {{"stored_batches", j.stored_batches},
        {"stored_bytes", j.stored_bytes},
        {"duplicate_batches", j.duplicate_batches},
        {"full_refusals", j.full_refusals},
        {"full", journal_full_},
        {"commits", j.commits},
        {"held_records", j.held_records},
        {"consumed_records", j.consumed_records},
        {"disk_bytes", j.disk_bytes},
        {"max_bytes", j.max_bytes},
        {"torn_records", j.torn_records},
        {"unreadable_records", j.unreadable_records},
        {"seqs_given_up", j.seqs_given_up},
        {"last_journal_seq", j.last_journal_seq}}},
  };
}

void ReceiveServer::write_health(bool log_summary) {
  if (log_summary)
    for (const auto& [id, h] : health_.probes()) spdlog::info("{}", ProbeHealthBook::summary_line(id, h));
  if (const auto e = atomic_file::write(journal_.dir() / "health.json", health_json().dump(2) + "\n"))
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
  for (const auto& [id, weak] : by_probe_) {
    auto session = weak.lock();
    if (!session || session->closed()) continue;
    const ProbeAccount* now = next.find_probe(id);
    const ProbeAccount* before = config_.find_probe(id);
    if (now == nullptr) ending.emplace_back(session, CloseReason::probe_removed);
    else if (before == nullptr || now->token != before->token) ending.emplace_back(session, CloseReason::token_changed);
  }
  tls_ = std::move(tls);
  config_ = next;
  for (const ProbeAccount& p : config_.probes) health_.probe(p.id).zone = p.zone;
  for (auto& [session, reason] : ending)
    session->close(reason, reason == CloseReason::probe_removed ? "no longer in probes of the reloaded config"
                                                                : "the reloaded config holds another token");
}

void ReceiveServer::stop() {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  space_timer_.cancel();
  health_timer_.cancel();
  accept_retry_timer_.cancel();
  std::vector<std::shared_ptr<ProbeSession>> all;
  for (auto& [ptr, s] : sessions_) all.push_back(s);
  for (auto& s : all) s->close(CloseReason::shutdown);
  if (journal_.needs_commit()) {
    if (const JournalError e = journal_.commit()) spdlog::error("journal commit at shutdown failed: {}", e.message());
  }
  write_health();
  spdlog::info("stopped: {} batches stored, {} duplicates, {} commits", ReceiveCounters::get(counters_.batches_stored),
               ReceiveCounters::get(counters_.batches_duplicate), ReceiveCounters::get(counters_.commits));
}

}  // namespace footfall::gateway
