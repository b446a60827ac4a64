// The receive side's session books without sockets: stand-in sessions fed Hello frames through the Intake,
// kept in the SessionRegistry (one current session per probe, the newest wins).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway/receive/intake.h"
#include "gateway/receive/probe_session.h"
#include "gateway/receive/session_registry.h"
#include "tests/support/gateway_harness.h"

using namespace footfall;
using namespace footfall::gateway;
using footfall::gateway::testing::TempDir;

namespace {

// A session with no transport: bytes are handed to it, what it sends goes nowhere.
class QuietSession final : public ProbeSession {
 public:
  QuietSession(Intake& intake, asio::io_context& io, std::string peer)
      : ProbeSession(intake, io.get_executor(), std::move(peer)) {}
  void start() override { on_transport_ready(); }
  void feed(const wire::Message& message) {
    std::vector<std::uint8_t> bytes;
    REQUIRE_FALSE(wire::Encoder().encode(message, bytes).has_value());
    std::copy(bytes.begin(), bytes.end(), in_.begin() + static_cast<std::ptrdiff_t>(in_end_));
    on_read({}, bytes.size());
  }

 private:
  void do_read() override {}
  void do_write() override {}
  void shutdown_send() override {}
  void close_transport() override {}
};

struct Desk {
  explicit Desk(const TempDir& dir) : config(gateway::testing::test_config(dir.path())) {
    JournalOptions options;
    options.dir = config.journal_dir;
    options.max_bytes = config.journal_max_mb << 20;
    auto opened = Journal::open(options);
    REQUIRE(opened.journal);
    journal = std::move(opened.journal);
    intake = std::make_unique<Intake>(io, config, *journal, counters, registry);
  }
  std::shared_ptr<QuietSession> connect(std::string peer) {
    auto s = std::make_shared<QuietSession>(*intake, io, std::move(peer));
    registry.add(s);
    s->start();
    return s;
  }
  bool connected(const std::string& probe) const { return intake->health().probes().at(probe).connected; }

  GatewayConfig config;
  asio::io_context io;
  std::unique_ptr<Journal> journal;
  ReceiveCounters counters;
  SessionRegistry registry{counters};
  std::unique_ptr<Intake> intake;
};

}  // namespace

TEST_CASE("session registry: a probe's new session replaces the old one, which closing does not disconnect") {
  TempDir dir;
  Desk desk(dir);
  auto first = desk.connect("10.0.0.5:1000");
  auto second = desk.connect("10.0.0.5:1001");
  CHECK(desk.registry.size() == 2);
  CHECK(ReceiveCounters::get(desk.counters.connections_accepted) == 2);
  CHECK(ReceiveCounters::get(desk.counters.connections_open) == 2);

  first->feed(wire::Hello{"entrance", "s3cret", "t", gateway::testing::now_ns()});
  REQUIRE(desk.registry.by_probe().size() == 1);
  CHECK(desk.registry.by_probe()[0].second == first);
  CHECK(desk.connected("entrance"));

  second->feed(wire::Hello{"entrance", "s3cret", "t", gateway::testing::now_ns()});
  CHECK(first->closed());
  CHECK(desk.counters.closes(CloseReason::replaced) == 1);
  REQUIRE(desk.registry.by_probe().size() == 1);
  CHECK(desk.registry.by_probe()[0].second == second);
  CHECK(desk.registry.size() == 1);
  CHECK(desk.connected("entrance"));  // the replaced session's close leaves its successor's probe connected

  second->close(CloseReason::peer_closed);
  CHECK(desk.registry.by_probe().empty());
  CHECK(desk.registry.size() == 0);
  CHECK(ReceiveCounters::get(desk.counters.connections_open) == 0);
  CHECK_FALSE(desk.connected("entrance"));
}

TEST_CASE("session registry: a refused hello binds nothing and all() lists every open session") {
  TempDir dir;
  Desk desk(dir);
  auto s = desk.connect("10.0.0.6:1000");
  s->feed(wire::Hello{"entrance", "wrong", "t", gateway::testing::now_ns()});
  CHECK(desk.counters.refused(wire::RefuseReason::bad_token) == 1);
  CHECK(desk.registry.by_probe().empty());
  CHECK(desk.registry.all().size() == 1);
  s->close(CloseReason::hello_refused);
  CHECK(desk.registry.all().empty());
}
