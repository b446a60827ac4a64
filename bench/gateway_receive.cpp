// Gateway receive throughput: N probes on loopback, each keeping a window of batches of realistic
// presence events in flight, against the real receive server and journal. Prints batches/s and
// events/s received and journaled (acked), and fdatasyncs/s, for journal.fsync "always" beside the
// same run with "never" (the cost of durability, same input).
//   gateway_receive [--probes 100] [--events 200] [--seconds 5] [--window 16] [--dir /tmp]
#include <cstdio>
#include <cstring>
#include <random>

#include <spdlog/spdlog.h>

#include "common/wire/crc32c.h"
#include "tests/support/gateway_harness.h"

using namespace footfall;
using namespace footfall::gateway;
using namespace footfall::gateway::testing;

namespace {

struct Options {
  int probes = 100;
  std::size_t events = 200;
  int seconds = 5;
  std::uint64_t window = 16;
  std::string dir = "/tmp";
};

// Pre-encoded batch frames (zstd level 12 is the probe's cost, not the gateway's); only the seq and the
// CRC are rewritten per send.
struct FramePool {
  std::vector<std::vector<std::uint8_t>> frames;  // without the CRC trailer
  void stamp(std::size_t i, std::uint64_t seq, std::vector<std::uint8_t>& out) const {
    out = frames[i % frames.size()];
    for (std::size_t b = 0; b < 8; ++b) out[wire::kFrameHeaderBytes + b] = static_cast<std::uint8_t>(seq >> (8 * b));
    const std::uint32_t crc = wire::crc32c(out);
    for (std::size_t b = 0; b < 4; ++b) out.push_back(static_cast<std::uint8_t>(crc >> (8 * b)));
  }
};

class BenchProbe : public std::enable_shared_from_this<BenchProbe> {
 public:
  BenchProbe(asio::io_context& io, const FramePool& pool, std::string id, std::uint64_t window)
      : socket_(io), pool_(pool), id_(std::move(id)), window_(window) {}

  void start(std::uint16_t port) {
    socket_.async_connect({asio::ip::make_address("127.0.0.1"), port}, [self = shared_from_this()](auto ec) {
      if (ec) return;
      std::vector<std::uint8_t> hello;
      self->encoder_.encode(wire::Hello{self->id_, "tok", "bench", now_ns()}, hello);
      self->queue(std::move(hello));
      self->do_read();
    });
  }
  void stop_sending() { sending_ = false; }
  [[nodiscard]] std::uint64_t acked() const { return acked_; }
  [[nodiscard]] std::uint64_t sent() const { return next_seq_ - 1; }

 private:
  void pump() {
    while (sending_ && ready_ && next_seq_ - 1 - acked_ < window_) {
      std::vector<std::uint8_t> frame;
      pool_.stamp(next_seq_, next_seq_, frame);
      ++next_seq_;
      queue(std::move(frame));
    }
  }
  void queue(std::vector<std::uint8_t> bytes) {
    outbox_.insert(outbox_.end(), bytes.begin(), bytes.end());
    if (!writing_) do_write();
  }
  void do_write() {
    if (outbox_.empty()) return;
    writing_ = true;
    sending_buf_.swap(outbox_);
    outbox_.clear();
    asio::async_write(socket_, asio::buffer(sending_buf_), [self = shared_from_this()](auto ec, std::size_t) {
      self->writing_ = false;
      if (!ec) self->do_write();
    });
  }
  void do_read() {
    socket_.async_read_some(asio::buffer(in_), [self = shared_from_this()](auto ec, std::size_t n) {
      if (ec) return;
      std::span<const std::uint8_t> rest(self->in_.data(), n);
      while (!rest.empty()) {
        const auto r = self->decoder_.parse(rest, self->message_);
        rest = rest.subspan(r.consumed);
        if (r.status == wire::ParseStatus::bad) return;
        if (r.status == wire::ParseStatus::need_more) break;
        if (std::holds_alternative<wire::HelloReply>(self->message_)) self->ready_ = true;
        if (const auto* ack = std::get_if<wire::Ack>(&self->message_)) self->acked_ = std::max(self->acked_, ack->cumulative);
      }
      self->pump();
      self->do_read();
    });
  }

  asio::ip::tcp::socket socket_;
  const FramePool& pool_;
  std::string id_;
  std::uint64_t window_;
  wire::Encoder encoder_;
  wire::Decoder decoder_;
  wire::Message message_;
  std::array<std::uint8_t, 16384> in_{};
  std::vector<std::uint8_t> outbox_, sending_buf_;
  bool writing_ = false;
  bool ready_ = false;
  bool sending_ = true;
  std::uint64_t next_seq_ = 1;
  std::uint64_t acked_ = 0;
};

struct Figures {
  double seconds = 0;
  std::uint64_t batches = 0, events = 0, commits = 0, journal_bytes = 0;
};

Figures run(const Options& o, const FramePool& pool, JournalFsync fsync) {
  char pattern[256];
  std::snprintf(pattern, sizeof pattern, "%s/ffgw-bench-XXXXXX", o.dir.c_str());
  const std::filesystem::path dir = ::mkdtemp(pattern);
  auto config = test_config(dir);
  config.journal_max_mb = 4096;
  config.journal_fsync = fsync;
  config.log_level = "warn";
  config.probes.clear();
  for (int i = 0; i < o.probes; ++i) config.probes.push_back({"p" + std::to_string(i), "tok", "z"});
  Figures f;
  {
    GatewayUnderTest gw(config);
    asio::io_context io;
    std::vector<std::shared_ptr<BenchProbe>> probes;
    for (int i = 0; i < o.probes; ++i) {
      probes.push_back(std::make_shared<BenchProbe>(io, pool, "p" + std::to_string(i), o.window));
      probes.back()->start(gw.port());
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto commits0 = ReceiveCounters::get(gw.counters().commits);
    io.run_for(std::chrono::seconds(o.seconds));
    for (auto& p : probes) p->stop_sending();
    const auto drain_deadline = std::chrono::steady_clock::now() + 10s;
    auto all_acked = [&] {
      for (auto& p : probes)
        if (p->acked() != p->sent()) return false;
      return true;
    };
    while (!all_acked() && std::chrono::steady_clock::now() < drain_deadline) io.run_for(10ms);
    f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (auto& p : probes) f.batches += p->acked();
    f.events = f.batches * o.events;
    f.commits = ReceiveCounters::get(gw.counters().commits) - commits0;
    f.journal_bytes = gw.call([](ReceiveServer& s) { return s.journal().stats().stored_bytes; });
    if (ReceiveCounters::get(gw.counters().events_stored) != f.events)
      std::fprintf(stderr, "mismatch: acked %llu events, journaled %llu\n", static_cast<unsigned long long>(f.events),
                   static_cast<unsigned long long>(ReceiveCounters::get(gw.counters().events_stored)));
  }
  std::filesystem::remove_all(dir);
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--probes") o.probes = std::atoi(argv[i + 1]);
    else if (k == "--events") o.events = static_cast<std::size_t>(std::atol(argv[i + 1]));
    else if (k == "--seconds") o.seconds = std::atoi(argv[i + 1]);
    else if (k == "--window") o.window = static_cast<std::uint64_t>(std::atol(argv[i + 1]));
    else if (k == "--dir") o.dir = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  FramePool pool;
  std::mt19937 rng(42);
  wire::Encoder encoder;
  std::size_t frame_bytes = 0;
  for (int i = 0; i < 32; ++i) {
    std::vector<std::uint8_t> frame;
    encoder.encode(make_batch(1, o.events, 1'718'000'000'000'000'000 + i * 1'000'000'000LL, rng), frame);
    frame_bytes += frame.size();
    frame.resize(frame.size() - wire::kFrameTrailerBytes);
    pool.frames.push_back(std::move(frame));
  }
  std::printf("gateway_receive: %d probes, window %llu, %zu events/batch (%.0f bytes/batch on the wire), %d s, journal in %s\n",
              o.probes, static_cast<unsigned long long>(o.window), o.events, static_cast<double>(frame_bytes) / 32.0,
              o.seconds, o.dir.c_str());
  std::printf("%-14s %12s %14s %12s %14s %16s\n", "journal.fsync", "batches/s", "events/s", "fsyncs/s",
              "batches/fsync", "journal MB/s");
  for (const auto mode : {JournalFsync::always, JournalFsync::never}) {
    const Figures f = run(o, pool, mode);
    std::printf("%-14s %12.0f %14.0f %12.1f %14.1f %16.2f\n", mode == JournalFsync::always ? "always" : "never",
                static_cast<double>(f.batches) / f.seconds, static_cast<double>(f.events) / f.seconds,
                mode == JournalFsync::always ? static_cast<double>(f.commits) / f.seconds : 0.0,
                f.commits ? static_cast<double>(f.batches) / static_cast<double>(f.commits) : 0.0,
                static_cast<double>(f.journal_bytes) / f.seconds / 1e6);
  }
  return 0;
}
