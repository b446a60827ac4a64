#pragma once
// The probe end of an uplink test: a spool in a temporary directory, filled with encoded batches, and an Uplink on
// an io_context the test runs until a condition holds (bounded by a deadline; never a sleep).
#include <doctest/doctest.h>
#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/wire/codec.h"
#include "probe/spool/spool.h"
#include "probe/uplink/uplink.h"
#include "tests/support/scratch.h"

namespace footfall::testing {

namespace spool = footfall::probe::spool;
namespace uplink = footfall::probe::uplink;


// A recognisable batch: one arrival whose MAC and times encode the seq.
inline wire::Batch numbered_batch(std::uint64_t seq) {
  wire::Batch b;
  b.seq = seq;
  PresenceEvent e;
  e.kind = PresenceKind::arrival;
  e.ts_ns = 1'800'000'000'000'000'000 + static_cast<std::int64_t>(seq) * 1'000'000'000;
  e.first_seen_ns = e.last_seen_ns = e.ts_ns;
  e.mac.octets = {0x02, 0x00, 0x00, 0x00, static_cast<std::uint8_t>(seq >> 8), static_cast<std::uint8_t>(seq)};
  e.randomized = true;
  e.frames = 1;
  b.body.events.push_back(e);
  return b;
}

inline uplink::UplinkConfig test_uplink_config(std::uint16_t port) {
  uplink::UplinkConfig c;
  c.probe_id = "entrance";
  c.token = "s3cret";
  c.software_version = "test";
  c.host = "127.0.0.1";
  c.port = port;
  c.window = 4;
  c.backoff = {std::chrono::milliseconds(5), std::chrono::milliseconds(40)};
  c.connect_timeout = std::chrono::milliseconds(2000);
  c.ack_timeout = std::chrono::milliseconds(300);
  c.heartbeat_interval = std::chrono::milliseconds(10'000);
  return c;
}

class ProbeSide {
 public:
  explicit ProbeSide(uplink::UplinkConfig config, uplink::Uplink::HeartbeatSource heartbeat = {}) {
    spool::OpenResult r = spool::Spool::open(dir_.path(), {}, {spool::FsyncMode::never, 1, 0});
    REQUIRE_MESSAGE(r.spool, r.error.message());
    spool_ = std::move(r.spool);
    shared_.emplace(*spool_);
    link_.emplace(io_, std::move(config), *shared_, std::move(heartbeat), 42);
  }

  void append(std::uint64_t count) {
    wire::Encoder encoder;
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t seq = shared_->with([](spool::Spool& s) { return s.last_seq() + 1; });
      std::vector<std::uint8_t> frame;
      REQUIRE_FALSE(encoder.encode(numbered_batch(seq), frame).has_value());
      const spool::SpoolError e = shared_->with([&](spool::Spool& s) { return s.append(seq, frame, 0); });
      REQUIRE_MESSAGE(!e, e.message());
    }
    link_->notify_spooled();
  }

  // Runs the io_context until `done` holds or the deadline passes; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  // Runs for exactly this long (to show that something does NOT happen meanwhile).
  void run_for(std::chrono::milliseconds span) {
    const auto deadline = std::chrono::steady_clock::now() + span;
    while (std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_until(deadline);
    }
  }

  std::uint64_t unacked() { return shared_->with([](spool::Spool& s) { return s.depth().unacked_records; }); }
  std::uint64_t spool_identity() { return shared_->with([](spool::Spool& s) { return s.identity(); }); }
  uplink::Uplink& link() { return *link_; }
  spool::SharedSpool& shared() { return *shared_; }
  boost::asio::io_context& io() { return io_; }

  ~ProbeSide() {
    link_->stop();
    io_.restart();
    io_.run_for(std::chrono::milliseconds(200));  // let the cancelled operations finish
  }

 private:
  TempDir dir_;
  std::unique_ptr<spool::Spool> spool_;
  std::optional<spool::SharedSpool> shared_;
  boost::asio::io_context io_;
  std::optional<uplink::Uplink> link_;
};

}  // namespace footfall::testing
