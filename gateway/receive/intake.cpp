#include "common/clock.h"
#include "gateway/receive/intake.h"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "gateway/receive/hello_check.h"
#include "gateway/receive/probe_session.h"

namespace footfall::gateway {

namespace {

constexpr auto kSpaceRetry = std::chrono::milliseconds(200);  // how often batches waiting for journal space retry

}  // namespace

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

Intake::Intake(asio::io_context& io, const GatewayConfig& config, Journal& journal, ReceiveCounters& counters,
               SessionRegistry& registry)
    : io_(io),
      config_(config),
      journal_(journal),
      counters_(counters),
      registry_(registry),
      health_(config_.clock_window, static_cast<std::int64_t>(config_.clock_tolerance_ms) * 1'000'000),
      space_timer_(io) {
  for (std::size_t i = 0; i < kCloseReasonCount; ++i)
    closed_logs_.push_back(std::make_unique<RepeatedLog>(spdlog::level::warn));
  for (const ProbeAccount& p : config_.probes) health_.probe(p.id).zone = p.zone;
  for (const std::string& id : journal_.probes_held())
    health_.probe(id).acked_through = journal_.durable_through(id, journal_.latest_spool(id).value_or(0));
}

void Intake::encode(const wire::Message& message, std::vector<std::uint8_t>& out) {
  if (const auto bad = encoder_.encode(message, out))
    encode_failed_log_("cannot encode {}: {}", wire::to_string(wire::type_of(message)), wire::to_string(*bad));
}

bool Intake::on_hello(ProbeSession& session, const wire::Hello& hello) {
  const std::int64_t now = footfall::clock::wall_ns();
  // With client certificates bound to probes, a session without one (made before a reload asked for them) has
  // the name "", which names no probe.
  const bool bound = !config_.tls.client_ca_file.empty() && config_.tls.client_cert_names_probe;
  const HelloVerdict verdict = check_hello(config_.probes, hello,
                                           bound ? std::optional(session.certificate_name().value_or(""))
                                                 : std::nullopt);
  if (!verdict.accepted()) {
    ReceiveCounters::bump(counters_.hello_refused[static_cast<std::size_t>(verdict.refusal)]);
    hello_refused_log_("hello refused: peer={} probe=\"{}\" reason={}", session.peer(), printable(hello.probe_id),
                       wire::to_string(verdict.refusal));
    session.send(wire::HelloReply{wire::HelloStatus::refused, verdict.refusal, now, 0});
    return false;
  }
  // The new session wins: a restarted probe must not be locked out by a half-dead old connection.
  if (auto old = registry_.bind(hello.probe_id, session)) old->close(CloseReason::replaced, "new session from " + session.peer());
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
  if (journal_.begin_spool(hello.probe_id, hello.spool_id) && hello.spool_id != 0) {
    ReceiveCounters::bump(counters_.spools_new);
    if (const std::size_t earlier = journal_.spools_of(hello.probe_id) - 1; earlier > 0)
      spdlog::warn("probe {}: new spool {} (a replaced card or a wiped spool): its batch seqs start a sequence space "
                   "of their own; the journal keeps the batches of its {} earlier spool(s)",
                   hello.probe_id, spool_name(hello.spool_id), earlier);
    else
      spdlog::info("probe {}: first spool {}", hello.probe_id, spool_name(hello.spool_id));
  }
  h.acked_through = journal_.durable_through(hello.probe_id, hello.spool_id);
  ReceiveCounters::bump(counters_.sessions_established);
  session.send(wire::HelloReply{wire::HelloStatus::accepted, wire::RefuseReason::none, now, h.acked_through});
  const auto offset = h.clock.offset_ns();
  spdlog::info("session up: peer={} probe={} version={} acked_through={} clock={}", session.peer(), hello.probe_id,
               h.software_version, h.acked_through,
               h.replay ? std::string("replay") : fmt::format("{:+.3f}s", static_cast<double>(offset.value_or(0)) / 1e9));
  return true;
}

void Intake::on_frame(ProbeSession& session) { health_.probe(session.probe_id()).last_frame_ns = footfall::clock::wall_ns(); }

StoreOutcome Intake::store_batch(ProbeSession& session, std::uint64_t seq, std::span<const std::uint8_t> frame,
                                 std::size_t events, std::size_t sightings, bool retry) {
  ProbeHealth& h = health_.probe(session.probe_id());
  if (!retry) ReceiveCounters::bump(counters_.batches_received);
  JournalRecordMeta meta;
  meta.probe_id = session.probe_id();
  meta.spool_id = session.spool_id();
  meta.probe_seq = seq;
  meta.received_ns = footfall::clock::wall_ns();
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
      store_failed_log_("journal store failed: probe={} seq={}: {}", session.probe_id(), seq, error);
      break;
  }
  return outcome;
}

void Intake::on_first_batch(ProbeSession& session, std::uint64_t seq) {
  if (const std::uint64_t n = journal_.give_up_below(session.probe_id(), session.spool_id(), seq); n != 0)
    spdlog::warn("probe {}: resumes at batch {}; {} lower batch(es) never reached the journal and are gone from its "
                 "spool (its spool-full drops): acked_through moves past them",
                 session.probe_id(), seq, n);
}

void Intake::request_ack(ProbeSession& session) {
  if (!session.ack_due) {
    session.ack_due = true;
    ack_waiters_.push_back(session.weak_from_this());
  }
  if (commit_posted_) return;
  commit_posted_ = true;
  // Posted behind the reads already completed: one fdatasync covers every batch they carried.
  asio::post(io_, [this] { run_commit(); });
}

void Intake::run_commit() {
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
    wire::Ack ack = journal_.ack_for(s->probe_id(), s->spool_id());
    health_.probe(s->probe_id()).acked_through = ack.cumulative;
    s->send(ack);
    ReceiveCounters::bump(counters_.acks_sent);
  }
}

void Intake::on_heartbeat(ProbeSession& session, const wire::Heartbeat& heartbeat) {
  const std::int64_t now = footfall::clock::wall_ns();
  ReceiveCounters::bump(counters_.heartbeats);
  ProbeHealth& h = health_.probe(session.probe_id());
  h.has_heartbeat = true;
  h.heartbeat = heartbeat;
  h.last_heartbeat_ns = now;
  if (!session.replay()) h.clock.add_sample(heartbeat.probe_clock_ns, now);
}

void Intake::wait_for_space(const std::shared_ptr<ProbeSession>& session) {
  waiting_for_space_.push_back(session);
  arm_space_timer();
}

void Intake::arm_space_timer() {
  if (space_timer_armed_ || stopping_) return;
  space_timer_armed_ = true;
  space_timer_.expires_after(kSpaceRetry);
  space_timer_.async_wait([this](const boost::system::error_code& ec) {
    space_timer_armed_ = false;
    if (!ec && !stopping_) retry_waiting();
  });
}

void Intake::retry_waiting() {
  while (!waiting_for_space_.empty()) {
    auto s = waiting_for_space_.front().lock();
    if (s && !s->closed() && !s->retry_waiting_batch()) break;  // still full: the rest wait their turn
    waiting_for_space_.pop_front();
  }
  if (!waiting_for_space_.empty()) arm_space_timer();
}

void Intake::on_closed(ProbeSession& session, CloseReason reason) {
  ReceiveCounters::bump(counters_.closed[static_cast<std::size_t>(reason)]);
  if (registry_.remove(session)) health_.probe(session.probe_id()).connected = false;
}

void Intake::probes_changed() {
  for (const ProbeAccount& p : config_.probes) health_.probe(p.id).zone = p.zone;
}

void Intake::stop() {
  stopping_ = true;
  space_timer_.cancel();
}

}  // namespace footfall::gateway
