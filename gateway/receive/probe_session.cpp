#include "gateway/receive/probe_session.h"

#include <memory>

#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "gateway/receive/intake.h"

namespace footfall::gateway {

namespace {

constexpr std::size_t kReadBufferBytes = 64u << 10;
constexpr std::size_t kMaxOutboxBytes = 1u << 20;  // acks a probe does not read pile up to here, then it is cut
constexpr auto kRefusalLinger = std::chrono::seconds(2);  // time for a refused probe to read its HelloReply

wire::DecoderLimits limits_of(const GatewayConfig& c) {
  wire::DecoderLimits limits;
  limits.max_frame_body = c.max_frame_bytes;
  limits.max_decompressed = static_cast<std::size_t>(c.max_decompressed_bytes);
  return limits;
}

bool is_peer_close(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::ssl::error::stream_truncated;
}

// The subject CN of the peer's certificate: nullopt without one, "" when it has no CN or several (no probe
// is named by an ambiguous certificate).
std::optional<std::string> peer_certificate_name(SSL* ssl) {
  const std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(ssl), &X509_free);
  if (!cert) return std::nullopt;
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0) return std::string();
  const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                     static_cast<std::size_t>(ASN1_STRING_length(cn)));
}

}  // namespace

ProbeSession::ProbeSession(Intake& intake, const asio::any_io_executor& executor, std::string peer)
    : intake_(intake),
      in_(kReadBufferBytes),
      peer_(std::move(peer)),
      decoder_(limits_of(intake.config())),
      deadline_(executor) {
  // A peer that has not authenticated gets nothing decompressed or parsed: its first frame must be a Hello.
  decoder_.require_first(wire::MessageType::hello);
}

void ProbeSession::arm_hello_deadline() {
  // Covers the TLS handshake too: a peer that connects and says nothing is cut after hello_timeout_s.
  set_deadline(Clock::now() + std::chrono::seconds(intake_.config().hello_timeout_s), CloseReason::hello_timeout);
}

void ProbeSession::set_deadline(Clock::time_point at, CloseReason reason) {
  const bool earlier = at < deadline_at_;
  deadline_at_ = at;
  deadline_reason_ = reason;
  // A later deadline needs no new wait: the armed one fires and waits again until deadline_at_.
  if (earlier || deadline_generation_ == 0) wait_deadline(++deadline_generation_);
}

void ProbeSession::wait_deadline(std::uint64_t generation) {
  deadline_.expires_at(deadline_at_);
  deadline_.async_wait([self = shared_from_this(), this, generation](const boost::system::error_code& ec) {
    if (ec || state_ == State::closed || generation != deadline_generation_) return;
    if (Clock::now() >= deadline_at_) {
      close(deadline_reason_);
      return;
    }
    wait_deadline(generation);
  });
}

void ProbeSession::on_transport_ready() {
  if (state_ == State::closed) return;
  state_ = State::awaiting_hello;
  do_read();
}

void ProbeSession::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (state_ == State::closed) return;
  if (ec) {
    close(is_peer_close(ec) ? (state_ == State::refusing ? CloseReason::hello_refused : CloseReason::peer_closed)
                            : CloseReason::read_error,
          ec.message());
    return;
  }
  if (state_ == State::refusing) {  // nothing from a refused probe is looked at
    in_end_ = 0;
    do_read();
    return;
  }
  in_end_ += n;
  process_input();
}

void ProbeSession::process_input() {
  while (in_begin_ < in_end_ && state_ != State::closed && state_ != State::refusing && !waiting_) {
    const auto result =
        decoder_.parse(std::span<const std::uint8_t>(in_.data() + in_begin_, in_end_ - in_begin_), message_);
    in_begin_ += result.consumed;
    if (result.status == wire::ParseStatus::need_more) break;
    if (result.status == wire::ParseStatus::bad) {
      ReceiveCounters::bump(intake_.counters().bad_frames[static_cast<std::size_t>(result.reason)]);
      if (result.reason == wire::BadReason::unexpected_type) {
        close(CloseReason::frame_before_hello, wire::to_string(decoder_.frame_type()));
      } else {
        close(CloseReason::bad_frame, wire::to_string(result.reason));
      }
      return;
    }
    handle(message_);
  }
  if (state_ == State::closed || state_ == State::refusing || waiting_) return;
  in_begin_ = 0;
  in_end_ = 0;
  do_read();
}

void ProbeSession::handle(const wire::Message& message) {
  const auto type = wire::type_of(message);
  if (state_ == State::awaiting_hello) {
    if (type != wire::MessageType::hello) {  // refused from its header already (require_first): never reached
      close(CloseReason::frame_before_hello, wire::to_string(type));
      return;
    }
    const auto& hello = std::get<wire::Hello>(message);
    if (!intake_.on_hello(*this, hello)) {
      state_ = State::refusing;
      set_deadline(Clock::now() + kRefusalLinger, CloseReason::hello_refused);
      return;
    }
    probe_id_ = hello.probe_id;
    spool_id_ = hello.spool_id;
    replay_ = hello.probe_clock_ns == 0;
    state_ = State::established;
    set_deadline(Clock::now() + std::chrono::seconds(intake_.config().idle_timeout_s), CloseReason::idle_timeout);
    return;
  }
  // Established: any frame proves the probe alive.
  deadline_at_ = Clock::now() + std::chrono::seconds(intake_.config().idle_timeout_s);
  intake_.on_frame(*this);
  switch (type) {
    case wire::MessageType::batch: handle_batch(std::get<wire::Batch>(message)); return;
    case wire::MessageType::heartbeat: intake_.on_heartbeat(*this, std::get<wire::Heartbeat>(message)); return;
    case wire::MessageType::hello: close(CloseReason::unexpected_message, "second hello"); return;
    case wire::MessageType::hello_reply:
    case wire::MessageType::ack: close(CloseReason::unexpected_message, wire::to_string(type)); return;
  }
  close(CloseReason::unexpected_message, wire::to_string(type));
}

void ProbeSession::handle_batch(const wire::Batch& batch) {
  if (batch.seq == 0) {
    close(CloseReason::bad_batch_seq, "seq 0");
    return;
  }
  if (!batch_seen_) {
    batch_seen_ = true;
    intake_.on_first_batch(*this, batch.seq);
  }
  const auto frame = decoder_.last_frame();
  const auto outcome = intake_.store_batch(*this, batch.seq, frame, batch.body.events.size(), batch.body.sightings.size());
  if (outcome == StoreOutcome::full) {
    // Back-pressure: keep this batch, stop reading; the probe's window fills and its spool holds the rest.
    waiting_ = true;
    waiting_seq_ = batch.seq;
    waiting_events_ = batch.body.events.size();
    waiting_sightings_ = batch.body.sightings.size();
    waiting_frame_.assign(frame.begin(), frame.end());
    deadline_at_ = Clock::time_point::max();  // we are the ones not reading: no idle timeout meanwhile
    intake_.wait_for_space(shared_from_this());
  } else if (outcome == StoreOutcome::failed) {
    close(CloseReason::journal_failed, "batch could not be stored");
  }
}

bool ProbeSession::retry_waiting_batch() {
  if (!waiting_ || state_ == State::closed) return true;
  const auto outcome = intake_.store_batch(*this, waiting_seq_, waiting_frame_, waiting_events_, waiting_sightings_, true);
  if (outcome == StoreOutcome::full) return false;
  waiting_ = false;
  waiting_frame_.clear();
  waiting_frame_.shrink_to_fit();
  if (outcome == StoreOutcome::failed) {
    close(CloseReason::journal_failed, "batch could not be stored");
    return true;
  }
  set_deadline(Clock::now() + std::chrono::seconds(intake_.config().idle_timeout_s), CloseReason::idle_timeout);
  process_input();  // the rest of what was read, then reading resumes
  return true;
}

void ProbeSession::send(const wire::Message& message) {
  if (state_ == State::closed) return;
  intake_.encode(message, outbox_);
  if (outbox_.size() > kMaxOutboxBytes) {
    close(CloseReason::slow_reader, "unread acks above 1 MiB");
    return;
  }
  if (writing_) return;
  writing_ = true;
  sending_.swap(outbox_);
  outbox_.clear();
  do_write();
}

void ProbeSession::on_write(const boost::system::error_code& ec) {
  writing_ = false;
  sending_.clear();
  if (state_ == State::closed) return;
  if (ec) {
    close(is_peer_close(ec) ? CloseReason::peer_closed : CloseReason::write_error, ec.message());
    return;
  }
  if (!outbox_.empty()) {
    writing_ = true;
    sending_.swap(outbox_);
    outbox_.clear();
    do_write();
    return;
  }
  if (state_ == State::refusing) {
    // The refusal is out: half-close and discard whatever the probe still sends until it hangs up.
    shutdown_send();
    in_end_ = 0;
    do_read();
  }
}

void ProbeSession::close(CloseReason reason, std::string_view detail) {
  if (state_ == State::closed) return;
  const bool was_refusing = state_ == State::refusing;
  state_ = State::closed;
  ++deadline_generation_;
  deadline_.cancel();
  close_transport();
  const std::string who = probe_id_.empty() ? std::string("-") : probe_id_;
  switch (reason) {
    case CloseReason::peer_closed:
    case CloseReason::shutdown:
    case CloseReason::replaced:
      spdlog::info("session closed: peer={} probe={} reason={}{}{}", peer_, who, to_string(reason),
                   detail.empty() ? "" : ": ", detail);
      break;
    case CloseReason::hello_refused:
      if (was_refusing) break;  // the refusal itself was logged
      [[fallthrough]];
    default:
      intake_.closed_log(reason)("session closed: peer={} probe={} reason={}{}{}", peer_, who, to_string(reason),
                                 detail.empty() ? "" : ": ", detail);
  }
  intake_.on_closed(*this, reason);
}

template <typename Stream>
StreamSession<Stream>::StreamSession(Intake& intake, Stream stream, std::string peer,
                                     std::shared_ptr<asio::ssl::context> tls_context)
    : ProbeSession(intake, stream.get_executor(), std::move(peer)),
      tls_context_(std::move(tls_context)),
      stream_(std::move(stream)) {}

template <typename Stream>
void StreamSession<Stream>::start() {
  arm_hello_deadline();
  if constexpr (std::is_same_v<Stream, asio::ssl::stream<asio::ip::tcp::socket>>) {
    stream_.async_handshake(asio::ssl::stream_base::server,
                            [self = shared_from_this(), this](const boost::system::error_code& ec) {
                              if (ec) {
                                close(CloseReason::tls_handshake_failed, ec.message());
                                return;
                              }
                              certificate_name_ = peer_certificate_name(stream_.native_handle());
                              on_transport_ready();
                            });
  } else {
    on_transport_ready();
  }
}

template <typename Stream>
void StreamSession<Stream>::do_read() {
  stream_.async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                          [self = shared_from_this(), this](const boost::system::error_code& ec, std::size_t n) {
                            on_read(ec, n);
                          });
}

template <typename Stream>
void StreamSession<Stream>::do_write() {
  asio::async_write(stream_, asio::buffer(sending_),
                    [self = shared_from_this(), this](const boost::system::error_code& ec, std::size_t) { on_write(ec); });
}

template <typename Stream>
void StreamSession<Stream>::shutdown_send() {
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

template <typename Stream>
void StreamSession<Stream>::close_transport() {
  boost::system::error_code ignored;
  stream_.lowest_layer().close(ignored);
}

template class StreamSession<asio::ip::tcp::socket>;
template class StreamSession<asio::ssl::stream<asio::ip::tcp::socket>>;

}  // namespace footfall::gateway
