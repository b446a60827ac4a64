#pragma once
// One probe connection: TLS handshake (optional), Hello, then Batches and Heartbeats in, HelloReply and
// Acks out. The bytes go through the shared wire Decoder (request-parser style: good / bad / need-more);
// every session has a deadline (hello, then idle) and the decoder's frame and decompression limits.
// The protocol lives in ProbeSession; StreamSession<Stream> adds the socket, plain or TLS.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/wire/codec.h"
#include "gateway/receive/receive_counters.h"

namespace footfall::gateway {

namespace asio = boost::asio;
class Intake;

class ProbeSession : public std::enable_shared_from_this<ProbeSession> {
 public:
  ProbeSession(Intake& intake, const asio::any_io_executor& executor, std::string peer);
  virtual ~ProbeSession() = default;
  ProbeSession(const ProbeSession&) = delete;
  ProbeSession& operator=(const ProbeSession&) = delete;

  virtual void start() = 0;
  // Idempotent: logs the reason, counts it, closes the socket and leaves the registry.
  void close(CloseReason reason, std::string_view detail = {});
  void send(const wire::Message& message);
  // Journal space may have been freed: store the batch that waited. True when nothing waits any more.
  bool retry_waiting_batch();

  [[nodiscard]] const std::string& peer() const { return peer_; }
  [[nodiscard]] const std::string& probe_id() const { return probe_id_; }
  // The probe's spool (wire::Hello::spool_id): the sequence space its batch seqs count in.
  [[nodiscard]] std::uint64_t spool_id() const { return spool_id_; }
  [[nodiscard]] bool closed() const { return state_ == State::closed; }
  [[nodiscard]] bool replay() const { return replay_; }
  // Subject CN of the client certificate the TLS handshake verified ("" when it has none or several);
  // nullopt when the probe showed no certificate.
  [[nodiscard]] const std::optional<std::string>& certificate_name() const { return certificate_name_; }

  bool ack_due = false;  // in the intake's list of sessions to ack after the next commit

 protected:
  virtual void do_read() = 0;
  virtual void do_write() = 0;
  virtual void shutdown_send() = 0;
  virtual void close_transport() = 0;

  void arm_hello_deadline();
  void on_transport_ready();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void on_write(const boost::system::error_code& ec);

  Intake& intake_;
  std::vector<std::uint8_t> in_;       // read buffer; the decoder keeps partial frames itself
  std::size_t in_end_ = 0;
  std::vector<std::uint8_t> sending_;  // the bytes of the write in flight
  std::optional<std::string> certificate_name_;

 private:
  enum class State : std::uint8_t { connecting, awaiting_hello, established, refusing, closed };
  using Clock = std::chrono::steady_clock;

  void process_input();
  void handle(const wire::Message& message);
  void handle_batch(const wire::Batch& batch);
  void set_deadline(Clock::time_point at, CloseReason reason);
  void wait_deadline(std::uint64_t generation);

  std::string peer_;
  std::string probe_id_;
  std::uint64_t spool_id_ = 0;
  State state_ = State::connecting;
  bool replay_ = false;
  bool batch_seen_ = false;  // the first batch of a session is the probe's oldest unacked one
  wire::Decoder decoder_;
  wire::Message message_;
  std::size_t in_begin_ = 0;
  std::vector<std::uint8_t> outbox_;  // frames queued while a write is in flight
  bool writing_ = false;
  asio::steady_timer deadline_;
  Clock::time_point deadline_at_ = Clock::time_point::max();
  CloseReason deadline_reason_ = CloseReason::hello_timeout;
  std::uint64_t deadline_generation_ = 0;
  // A batch that arrived while the journal was full: kept (one per session) and not acked.
  bool waiting_ = false;
  std::uint64_t waiting_seq_ = 0;
  std::size_t waiting_events_ = 0;
  std::size_t waiting_sightings_ = 0;
  std::vector<std::uint8_t> waiting_frame_;
};

template <typename Stream>
class StreamSession final : public ProbeSession {
 public:
  // `tls_context`: the context `stream` was made with, kept while the session lives (a reload may replace the server's).
  StreamSession(Intake& intake, Stream stream, std::string peer,
                std::shared_ptr<asio::ssl::context> tls_context = nullptr);
  void start() override;

 private:
  void do_read() override;
  void do_write() override;
  void shutdown_send() override;
  void close_transport() override;

  std::shared_ptr<asio::ssl::context> tls_context_;  // before stream_: outlives it
  Stream stream_;
};

using PlainSession = StreamSession<asio::ip::tcp::socket>;
using TlsSession = StreamSession<asio::ssl::stream<asio::ip::tcp::socket>>;

}  // namespace footfall::gateway
