#include "probe/uplink/uplink.h"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <stdexcept>

#include "common/clock.h"

namespace footfall::probe::uplink {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kRecentBackoffs = 64;

}  // namespace

TlsClientContext make_client_tls_context(const TlsConfig& tls) { return TlsClientContext(tls); }

Uplink::Uplink(asio::io_context& io, UplinkConfig config, spool::SharedSpool& spool, HeartbeatSource heartbeat,
               std::uint64_t random_seed)
    : io_(io),
      config_(std::move(config)),
      spool_(spool),
      heartbeat_(std::move(heartbeat)),
      resolver_(io),
      connect_timer_(io),
      retry_timer_(io),
      heartbeat_timer_(io),
      ack_timer_(io),
      random_(random_seed),
      read_buffer_(kReadChunk) {
  if (config_.tls.enabled()) tls_context_.emplace(make_client_tls_context(config_.tls));
  if (config_.window == 0) config_.window = 1;
}

Uplink::~Uplink() = default;

void Uplink::start() {
  if (state_ != State::idle) return;
  const auto [identity, note] =
      spool_.with([](spool::Spool& s) { return std::pair(s.identity(), s.identity_note()); });
  if (!note.empty()) spdlog::warn("uplink: {}", note);
  spdlog::info("uplink: spool identity {}{}", spool::format_identity(identity),
               identity == 0 ? " (a spool made before identities: the probe's one sequence space)" : "");
  do_connect();
}

void Uplink::stop() {
  if (state_ == State::stopped) return;
  close_session();
  state_ = State::stopped;
  retry_timer_.cancel();
  resolver_.cancel();
}

void Uplink::notify_spooled() {
  {
    const std::lock_guard lock(counters_mutex_);
    ++counters_.notices;
    if (notice_pending_.exchange(true)) {
      ++counters_.notices_coalesced;
      return;
    }
  }
  asio::post(io_, [this] {
    notice_pending_ = false;
    if (state_ == State::ready) pump();
  });
}

UplinkCounters Uplink::counters() const {
  const std::lock_guard lock(counters_mutex_);
  return counters_;
}

std::vector<std::chrono::milliseconds> Uplink::recent_backoffs() const {
  const std::lock_guard lock(counters_mutex_);
  return {backoffs_.begin(), backoffs_.end()};
}

double Uplink::unit_random() { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); }

std::int64_t Uplink::probe_clock_ns() const { return config_.replaying_file ? 0 : clock::wall_ns(); }

void Uplink::do_connect() {
  const std::uint64_t session = ++session_;
  state_ = State::connecting;
  {
    const std::lock_guard lock(counters_mutex_);
    ++counters_.connect_attempts;
  }
  decoder_.reset();
  pending_.clear();
  write_queue_.clear();
  writing_ = false;
  in_flight_.clear();
  stream_ = std::make_shared<GatewayStream>(io_, tls_context_ ? &*tls_context_ : nullptr);
  peer_ = config_.host + ":" + std::to_string(config_.port);

  // One deadline covers connect, TLS handshake and HelloReply: a gateway that accepts and says nothing is down.
  connect_timer_.expires_after(config_.connect_timeout);
  connect_timer_.async_wait([this, session](const error_code& ec) {
    if (ec || !current(session)) return;
    if (state_ == State::connecting || state_ == State::hello) fail("no answer within connect_timeout");
  });

  resolver_.async_resolve(config_.host, std::to_string(config_.port),
                          [this, session](const error_code& ec, const Tcp::resolver::results_type& endpoints) {
                            if (!current(session)) return;
                            if (ec) return fail("cannot resolve " + config_.host + ": " + ec.message());
                            asio::async_connect(stream_->socket(), endpoints,
                                                [this, session, keep = stream_](const error_code& cec,
                                                                                const Tcp::endpoint& ep) {
                                                  if (!current(session)) return;
                                                  if (cec) return fail("cannot connect: " + cec.message());
                                                  peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
                                                  on_tcp_connected(session);
                                                });
                          });
}

void Uplink::on_tcp_connected(std::uint64_t session) {
  error_code ignored;
  stream_->socket().set_option(Tcp::no_delay(true), ignored);  // acks and small batches should not wait
  if (!stream_->tls()) return send_hello(session);

  const std::string& name = config_.tls.server_name.empty() ? config_.host : config_.tls.server_name;
  stream_->async_handshake(name, [this, session, keep = stream_](const error_code& ec) {
    if (!current(session)) return;
    if (ec) return fail("TLS handshake failed: " + ec.message());
    send_hello(session);
  });
}

void Uplink::send_hello(std::uint64_t session) {
  state_ = State::hello;
  std::vector<std::uint8_t> frame;
  const std::uint64_t spool_id = spool_.with([](spool::Spool& s) { return s.identity(); });
  const wire::Hello hello{config_.probe_id, config_.token, config_.software_version, probe_clock_ns(), spool_id};
  if (auto bad = encoder_.encode(hello, frame)) return fail(std::string("cannot encode hello: ") + std::string(to_string(*bad)));
  enqueue(std::move(frame));
  do_read(session);
}

void Uplink::do_read(std::uint64_t session) {
  // The handler keeps its stream alive: a TLS operation still touches it after the socket was closed.
  auto handler = [this, session, keep = stream_](const error_code& ec, std::size_t n) {
    if (!current(session)) return;
    if (ec) {
      if (ec == asio::error::eof) return fail("gateway closed the connection");
      return fail("read failed: " + ec.message());
    }
    on_bytes(session, n);
  };
  stream_->async_read_some(asio::buffer(read_buffer_), std::move(handler));
}

void Uplink::on_bytes(std::uint64_t session, std::size_t n) {
  pending_.insert(pending_.end(), read_buffer_.begin(), read_buffer_.begin() + static_cast<std::ptrdiff_t>(n));
  std::size_t used = 0;
  while (used < pending_.size()) {
    const auto r = decoder_.parse(std::span<const std::uint8_t>(pending_).subspan(used), message_);
    used += r.consumed;
    if (r.status == wire::ParseStatus::need_more) break;
    if (r.status == wire::ParseStatus::bad) {
      {
        const std::lock_guard lock(counters_mutex_);
        ++counters_.protocol_errors;
      }
      return fail(std::string("bad frame from gateway: ") + std::string(to_string(r.reason)));
    }
    if (!on_message(message_)) return;  // the session ended inside
    if (!current(session)) return;
  }
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
  do_read(session);
}

bool Uplink::on_message(const wire::Message& message) {
  if (const auto* reply = std::get_if<wire::HelloReply>(&message); reply && state_ == State::hello) {
    on_hello_reply(*reply);
    return state_ == State::ready;
  }
  if (const auto* ack = std::get_if<wire::Ack>(&message); ack && state_ == State::ready) {
    on_ack(*ack);
    return state_ == State::ready;
  }
  {
    const std::lock_guard lock(counters_mutex_);
    ++counters_.protocol_errors;
  }
  fail(std::string("unexpected ") + std::string(wire::to_string(wire::type_of(message))) + " from gateway");
  return false;
}

void Uplink::on_hello_reply(const wire::HelloReply& reply) {
  connect_timer_.cancel();
  if (reply.status == wire::HelloStatus::refused) {
    last_refusal_ = reply.reason;
    spdlog::error("uplink: gateway {} refused probe '{}': {}", peer_, config_.probe_id, wire::to_string(reply.reason));
    {
      const std::lock_guard lock(counters_mutex_);
      ++counters_.refusals;
      ++counters_.connect_failures;
    }
    close_session();
    schedule_reconnect(refused_delay(config_.backoff, reply.reason, attempt_++, unit_random()));
    return;
  }
  last_refusal_.reset();
  // The gateway claims seqs this spool never made: its sequence space is another spool's under the same identity
  // (a spool restored from a copy, or emptied but for its identity file). Acking would discard batches it never
  // had: take a new identity, so the next session starts a space of its own, and resend everything unacked.
  struct Renewal {
    std::uint64_t last_seq, old_id, new_id;
    spool::SpoolError error;
  };
  const auto renewal = spool_.with([&](spool::Spool& s) -> std::optional<Renewal> {
    if (reply.acked_through <= s.last_seq()) return std::nullopt;
    const std::uint64_t old_id = s.identity();
    spool::SpoolError e = s.renew_identity();
    return Renewal{s.last_seq(), old_id, s.identity(), std::move(e)};
  });
  if (renewal) {
    {
      const std::lock_guard lock(counters_mutex_);
      ++counters_.spool_renewals;
      ++counters_.connect_failures;
    }
    spdlog::warn("uplink: gateway {} holds probe '{}' batches through seq {} of spool {}, above this spool's last seq "
                 "{}: not acking anything; {}",
                 peer_, config_.probe_id, reply.acked_through, spool::format_identity(renewal->old_id),
                 renewal->last_seq,
                 renewal->error ? "cannot write a new spool identity: " + renewal->error.message()
                                : "new spool identity " + spool::format_identity(renewal->new_id));
    close_session();
    schedule_reconnect(backoff_delay(config_.backoff, attempt_++, unit_random()));
    return;
  }
  state_ = State::ready;
  {
    const std::lock_guard lock(counters_mutex_);
    ++counters_.connects;
  }
  // The gateway holds everything up to acked_through: forget it here, resend only what is above.
  const std::uint64_t acked = spool_.with([&](spool::Spool& s) {
    const std::uint64_t before = s.depth().unacked_records;
    s.ack_through(reply.acked_through);
    return before - s.depth().unacked_records;
  });
  if (acked > 0) {
    const std::lock_guard lock(counters_mutex_);
    counters_.batches_acked += acked;  // acks lost with the last connection, confirmed here
  }
  cursor_ = reply.acked_through;
  last_progress_ = std::chrono::steady_clock::now();
  spdlog::info("uplink: connected to {}{}, gateway acked through {}, gateway clock offset {} ms", peer_,
               tls_context_ ? " (TLS)" : "", reply.acked_through,
               config_.replaying_file ? 0 : (reply.gateway_clock_ns - clock::wall_ns()) / 1'000'000);
  arm_heartbeat();
  pump();
  if (on_acked_) on_acked_();  // acked_through may have drained the spool
}

void Uplink::on_ack(const wire::Ack& ack) {
  const std::uint64_t newly = spool_.with([&](spool::Spool& s) {
    const std::uint64_t before = s.depth().unacked_records;
    s.ack_through(ack.cumulative);
    for (const InFlight& f : in_flight_)
      if (f.seq > ack.cumulative && ack.covers(f.seq)) (void)s.ack(f.seq);
    return before - s.depth().unacked_records;
  });
  std::erase_if(in_flight_, [&](const InFlight& f) { return ack.covers(f.seq); });
  if (newly > 0) {
    attempt_ = 0;  // the gateway is taking data: the next outage starts from the initial backoff again
    last_progress_ = std::chrono::steady_clock::now();
    const std::lock_guard lock(counters_mutex_);
    counters_.batches_acked += newly;
  }
  pump();
  if (on_acked_) on_acked_();
}

void Uplink::pump() {
  while (state_ == State::ready && in_flight_.size() < config_.window) {
    const spool::ReadResult r = spool_.with([&](spool::Spool& s) { return s.read_next_unacked(cursor_, payload_); });
    if (r.error) {
      spdlog::error("uplink: cannot read the spool: {}", r.error.message());
      break;  // tried again on the next doorbell or ack
    }
    if (!r.seq) break;
    const std::uint64_t seq = *r.seq;
    cursor_ = seq;
    if (in_flight_.empty()) last_progress_ = std::chrono::steady_clock::now();
    in_flight_.push_back({seq});
    {
      const std::lock_guard lock(counters_mutex_);
      ++counters_.batches_sent;
      counters_.bytes_sent += payload_.size();
      if (seq <= highest_sent_) ++counters_.batches_resent;
    }
    highest_sent_ = std::max(highest_sent_, seq);
    // The spool holds each batch as its complete wire frame: sent as stored, never re-encoded.
    enqueue(payload_);
  }
  arm_ack_timer();
}

void Uplink::enqueue(std::vector<std::uint8_t> frame) {
  write_queue_.push_back(std::move(frame));
  if (!writing_) do_write(session_);
}

void Uplink::do_write(std::uint64_t session) {
  if (write_queue_.empty() || !current(session)) {
    writing_ = false;
    return;
  }
  writing_ = true;
  // The frame and the stream live as long as the operation, whatever happens to the session meanwhile.
  auto frame = std::make_shared<std::vector<std::uint8_t>>(std::move(write_queue_.front()));
  write_queue_.pop_front();
  auto handler = [this, session, frame, keep = stream_](const error_code& ec, std::size_t) {
    if (!current(session)) return;
    if (ec) return fail("write failed: " + ec.message());
    do_write(session);
  };
  stream_->async_write(asio::buffer(*frame), std::move(handler));
}

void Uplink::arm_heartbeat() {
  heartbeat_timer_.expires_after(config_.heartbeat_interval);
  heartbeat_timer_.async_wait([this, session = session_](const error_code& ec) {
    if (ec || !current(session) || state_ != State::ready) return;
    wire::Heartbeat hb = heartbeat_ ? heartbeat_() : wire::Heartbeat{};
    hb.probe_clock_ns = probe_clock_ns();
    std::vector<std::uint8_t> frame;
    if (!encoder_.encode(hb, frame)) {
      enqueue(std::move(frame));
      const std::lock_guard lock(counters_mutex_);
      ++counters_.heartbeats_sent;
    }
    attempt_ = 0;  // a session alive for a heartbeat interval counts as healthy
    arm_heartbeat();
  });
}

void Uplink::arm_ack_timer() {
  if (in_flight_.empty()) {
    ack_timer_.cancel();
    return;
  }
  ack_timer_.expires_at(last_progress_ + config_.ack_timeout);
  ack_timer_.async_wait([this, session = session_](const error_code& ec) {
    if (ec || !current(session) || state_ != State::ready || in_flight_.empty()) return;
    if (std::chrono::steady_clock::now() - last_progress_ < config_.ack_timeout) return arm_ack_timer();
    {
      const std::lock_guard lock(counters_mutex_);
      ++counters_.ack_timeouts;
    }
    fail("no ack within ack_timeout for " + std::to_string(in_flight_.size()) + " batches in flight");
  });
}

void Uplink::fail(const std::string& why) {
  if (state_ == State::stopped || state_ == State::waiting) return;
  const bool was_ready = state_ == State::ready;
  {
    const std::lock_guard lock(counters_mutex_);
    if (was_ready)
      ++counters_.disconnects;
    else
      ++counters_.connect_failures;
  }
  const auto delay = backoff_delay(config_.backoff, attempt_++, unit_random());
  spdlog::warn("uplink: {} {}: {}; retrying in {} ms", was_ready ? "lost gateway" : "cannot reach gateway", peer_, why,
               delay.count());
  close_session();
  schedule_reconnect(delay);
}

void Uplink::close_session() {
  connect_timer_.cancel();
  heartbeat_timer_.cancel();
  ack_timer_.cancel();
  resolver_.cancel();
  if (stream_) stream_->close();
  in_flight_.clear();  // resent after the next HelloReply, from the spool
  write_queue_.clear();
  writing_ = false;
  ++session_;  // every handler of the old session now sees itself as stale
  state_ = State::waiting;
}

void Uplink::schedule_reconnect(std::chrono::milliseconds delay) {
  if (state_ == State::stopped) return;
  {
    const std::lock_guard lock(counters_mutex_);
    backoffs_.push_back(delay);
    if (backoffs_.size() > kRecentBackoffs) backoffs_.pop_front();
  }
  state_ = State::waiting;
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([this](const error_code& ec) {
    if (ec || state_ != State::waiting) return;
    do_connect();
  });
}

}  // namespace footfall::probe::uplink
