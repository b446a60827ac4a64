// The uplink against a fake gateway on loopback: delivery, resend after closes, lost acks and refusals, backoff, TLS.
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "probe/uplink/backoff.h"
#include "tests/support/fake_gateway.h"
#include "tests/support/probe_side.h"
#include "tests/support/test_certs.h"

using namespace footfall;
using namespace footfall::probe;
using namespace footfall::testing;
using namespace std::chrono_literals;
using wire::RefuseReason;

namespace {

std::set<std::uint64_t> seqs_1_to(std::uint64_t n) {
  std::set<std::uint64_t> s;
  for (std::uint64_t i = 1; i <= n; ++i) s.insert(i);
  return s;
}

// Every batch arrived with the body the probe spooled for it.
void check_bodies(const FakeGateway::Seen& seen) {
  for (const auto& [seq, body] : seen.bodies) CHECK(body == numbered_batch(seq).body);
}

// The server names (SNI) that reached an OpenSSL server, one entry per ClientHello ("" when none was sent).
class SniLog {
 public:
  explicit SniLog(boost::asio::ssl::context& server) {
    SSL_CTX_set_tlsext_servername_callback(server.native_handle(), &SniLog::on_client_hello);
    SSL_CTX_set_tlsext_servername_arg(server.native_handle(), this);
  }
  [[nodiscard]] std::vector<std::string> names() const {
    const std::lock_guard lock(mutex_);
    return names_;
  }

 private:
  static int on_client_hello(SSL* ssl, int*, void* self) {
    auto& log = *static_cast<SniLog*>(self);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const std::lock_guard lock(log.mutex_);
    log.names_.emplace_back(name ? name : "");
    return SSL_TLSEXT_ERR_OK;
  }
  mutable std::mutex mutex_;
  std::vector<std::string> names_;
};

// A probe with `config` and `batches` spooled never gets through the TLS handshake: it keeps failing to
// connect and no Hello reaches the gateway; every batch stays in its spool.
void check_refused_by_tls(const uplink::UplinkConfig& config, const FakeGateway& gateway, std::uint64_t batches) {
  ProbeSide probe(config);
  probe.append(batches);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.link().counters().connect_failures >= 2; }));
  CHECK(probe.link().counters().connects == 0);
  CHECK(gateway.seen().sessions == 0);  // no Hello ever crossed
  CHECK(probe.unacked() == batches);
}

}  // namespace

TEST_CASE("backoff: the ceiling doubles from initial and stops at max; full jitter stays below it") {
  const uplink::BackoffPolicy p{500ms, 30'000ms};
  CHECK(uplink::backoff_ceiling(p, 0) == 500ms);
  CHECK(uplink::backoff_ceiling(p, 1) == 1000ms);
  CHECK(uplink::backoff_ceiling(p, 2) == 2000ms);
  CHECK(uplink::backoff_ceiling(p, 5) == 16'000ms);
  CHECK(uplink::backoff_ceiling(p, 6) == 30'000ms);
  CHECK(uplink::backoff_ceiling(p, 4'000'000'000u) == 30'000ms);  // no overflow however long the outage
  for (std::uint32_t a = 1; a < 40; ++a) CHECK(uplink::backoff_ceiling(p, a) >= uplink::backoff_ceiling(p, a - 1));

  CHECK(uplink::backoff_delay(p, 3, 0.0) == 0ms);
  CHECK(uplink::backoff_delay(p, 3, 0.5) == 2000ms);
  CHECK(uplink::backoff_delay(p, 3, 0.999999) < 4000ms);
  CHECK(uplink::backoff_delay(p, 100, 0.999999) <= 30'000ms);
  CHECK(uplink::backoff_delay(p, 2, 7.0) == 2000ms);  // out-of-range randomness is clamped

  // A refused token waits the long way; a busy gateway is retried like a dropped connection.
  CHECK(uplink::refused_delay(p, RefuseReason::bad_token, 0, 0.0) == 15'000ms);
  CHECK(uplink::refused_delay(p, RefuseReason::unknown_probe, 0, 0.999999) <= 30'000ms);
  CHECK(uplink::refused_delay(p, RefuseReason::unknown_probe, 0, 0.999999) > 29'000ms);
  CHECK(uplink::refused_delay(p, RefuseReason::certificate_mismatch, 0, 0.0) == 15'000ms);
  CHECK(uplink::refused_delay(p, RefuseReason::gateway_busy, 0, 0.5) == 250ms);
}

TEST_CASE("uplink: a gateway that acks everything gets every batch, in order, once") {
  FakeGateway gateway;
  ProbeSide probe(test_uplink_config(gateway.port()));
  probe.append(40);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));

  probe.append(25);  // spooled while connected: the doorbell wakes the uplink
  REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));

  const auto seen = gateway.seen();
  CHECK(seen.held == seqs_1_to(65));
  CHECK(seen.batches == 65);
  CHECK(seen.duplicates == 0);
  check_bodies(seen);
  REQUIRE(seen.hellos.size() == 1);
  CHECK(seen.hellos[0].probe_id == "entrance");
  CHECK(seen.hellos[0].token == "s3cret");
  CHECK(seen.hellos[0].probe_clock_ns > 0);  // live probe: its wall clock
  const auto c = probe.link().counters();
  CHECK(c.connects == 1);
  CHECK(c.batches_sent == 65);
  CHECK(c.batches_acked == 65);
  CHECK(c.batches_resent == 0);
  CHECK(c.bytes_sent > 65 * 20);
}

TEST_CASE("uplink: the window bounds the batches in flight") {
  // The gateway stores quietly and never acks: exactly `window` batches go out, then the probe waits.
  GatewayPolicy policy;
  policy.batch = [](std::uint64_t, std::uint32_t, std::uint32_t) { return BatchAction::store_quiet; };
  FakeGateway gateway(policy);
  auto config = test_uplink_config(gateway.port());
  config.window = 3;
  config.ack_timeout = 60'000ms;
  ProbeSide probe(config);
  probe.append(10);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return gateway.seen().batches == 3; }));
  probe.run_for(150ms);
  CHECK(gateway.seen().batches == 3);
  CHECK(probe.link().counters().batches_sent == 3);
}

TEST_CASE("uplink: connections closed mid-stream: batches are resent after reconnect, none lost") {
  GatewayPolicy policy;
  // The first three sessions are cut at their third batch (which is neither stored nor acked).
  policy.batch = [](std::uint64_t, std::uint32_t nth, std::uint32_t session) {
    return session <= 3 && nth == 3 ? BatchAction::close : BatchAction::ack;
  };
  FakeGateway gateway(policy);
  ProbeSide probe(test_uplink_config(gateway.port()));
  probe.append(30);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));

  const auto seen = gateway.seen();
  CHECK(seen.held == seqs_1_to(30));
  check_bodies(seen);
  CHECK(seen.sessions >= 4);
  const auto c = probe.link().counters();
  CHECK(c.disconnects >= 3);
  CHECK(c.batches_resent >= 3);  // at least the batch each cut session swallowed
  CHECK(c.batches_acked == 30);
}

TEST_CASE("uplink: batches lost without an ack are resent after the ack timeout") {
  GatewayPolicy policy;
  // First session: every 7th batch vanishes; the others are acked selectively around the gaps.
  policy.batch = [](std::uint64_t seq, std::uint32_t, std::uint32_t session) {
    return session == 1 && seq % 7 == 0 ? BatchAction::lose : BatchAction::ack;
  };
  FakeGateway gateway(policy);
  ProbeSide probe(test_uplink_config(gateway.port()));
  probe.append(30);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));

  const auto seen = gateway.seen();
  CHECK(seen.held == seqs_1_to(30));
  check_bodies(seen);
  const auto c = probe.link().counters();
  CHECK(c.ack_timeouts >= 1);
  CHECK(c.connects >= 2);
  CHECK(c.batches_resent >= 1);
}

TEST_CASE("uplink: batches held without acks are forgotten after the next HelloReply's acked_through") {
  GatewayPolicy policy;
  policy.batch = [](std::uint64_t, std::uint32_t, std::uint32_t session) {
    return session == 1 ? BatchAction::store_quiet : BatchAction::ack;
  };
  FakeGateway gateway(policy);
  ProbeSide probe(test_uplink_config(gateway.port()));
  probe.append(4);  // exactly one window
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));
  const auto seen = gateway.seen();
  CHECK(seen.held == seqs_1_to(4));
  CHECK(seen.batches == 4);  // nothing resent: acked_through = 4 said the gateway had them
  CHECK(seen.duplicates == 0);
  CHECK(probe.link().counters().ack_timeouts == 1);
}

TEST_CASE("uplink: the Hello names the spool; a gateway claiming seqs the spool never made gets nothing acked") {
  FakeGateway gateway;  // one sequence space per probe id, whatever the spool: a gateway of before identities
  std::uint64_t old_identity = 0;
  {
    ProbeSide probe(test_uplink_config(gateway.port()));
    old_identity = probe.spool_identity();
    CHECK(old_identity != 0);
    probe.append(10);
    probe.link().start();
    REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));
    REQUIRE(gateway.seen().hellos.size() == 1);
    CHECK(gateway.seen().hellos[0].spool_id == old_identity);
  }
  // The same probe id with a new spool of 3 batches: the gateway says it holds 1..10. Those are not this spool's:
  // the probe acks none of its own, takes a new identity and tries again (and again, this gateway being blind).
  ProbeSide probe(test_uplink_config(gateway.port()));
  const std::uint64_t new_identity = probe.spool_identity();
  CHECK(new_identity != old_identity);
  probe.append(3);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.link().counters().spool_renewals >= 2; }));
  CHECK(probe.unacked() == 3);  // nothing discarded
  CHECK(probe.link().counters().batches_acked == 0);
  CHECK(probe.link().counters().connects == 0);
  const auto seen = gateway.seen();
  REQUIRE(seen.hellos.size() >= 3);
  CHECK(seen.hellos[1].spool_id == new_identity);
  CHECK(seen.hellos[2].spool_id != new_identity);  // each renewal is what the next Hello names
  CHECK(seen.hellos[2].spool_id != 0);
  CHECK(seen.batches == 10);  // no batch of the new spool was sent
}

TEST_CASE("uplink: a refused token is logged and retried the long way, not in a tight loop") {
  GatewayPolicy policy;
  policy.hello = [](const wire::Hello&, std::uint32_t) { return std::optional{RefuseReason::bad_token}; };
  FakeGateway gateway(policy);
  auto config = test_uplink_config(gateway.port());
  config.backoff = {5ms, 4000ms};
  ProbeSide probe(config);
  probe.append(3);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.link().counters().refusals == 1; }));
  probe.run_for(300ms);

  CHECK(gateway.seen().refused == 1);  // no second try within 300 ms
  CHECK(gateway.seen().batches == 0);  // nothing accepted from a refused probe
  CHECK(probe.link().last_refusal() == RefuseReason::bad_token);
  const auto waits = probe.link().recent_backoffs();
  REQUIRE(waits.size() == 1);
  CHECK(waits[0] >= 2000ms);
  CHECK(waits[0] <= 4000ms);
  CHECK(probe.unacked() == 3);
}

TEST_CASE("uplink: a busy gateway is retried soon and then gets everything") {
  GatewayPolicy policy;
  policy.hello = [](const wire::Hello&, std::uint32_t session) {
    return session <= 2 ? std::optional{RefuseReason::gateway_busy} : std::nullopt;
  };
  FakeGateway gateway(policy);
  ProbeSide probe(test_uplink_config(gateway.port()));
  probe.append(10);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));
  CHECK(gateway.seen().refused == 2);
  CHECK(gateway.seen().held == seqs_1_to(10));
  CHECK(probe.link().counters().refusals == 2);
}

TEST_CASE("uplink: reconnect waits grow with failures and stay under the cap") {
  std::uint16_t dead_port = 0;
  {
    // A port nothing listens on: bound once, then released.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }
  auto config = test_uplink_config(dead_port);
  config.backoff = {4ms, 64ms};
  ProbeSide probe(config);
  probe.link().start();
  REQUIRE(probe.run_until([&] { return probe.link().recent_backoffs().size() >= 10; }));
  const auto waits = probe.link().recent_backoffs();
  std::chrono::milliseconds early{0}, late{0};
  for (std::size_t i = 0; i < waits.size(); ++i) {
    CHECK(waits[i] <= uplink::backoff_ceiling(config.backoff, static_cast<std::uint32_t>(i)));
    CHECK(waits[i] <= 64ms);
    (i < 3 ? early : late) += waits[i];
  }
  // Three attempts under ceilings 4+8+16 against seven under 32, 64, 64, ...: the later waits are longer.
  CHECK(late > early);
  CHECK(probe.link().counters().connects == 0);
  CHECK(probe.link().counters().connect_failures >= 10);
}

TEST_CASE("uplink: heartbeats carry the probe's figures; a file replay sends probe clock 0") {
  FakeGateway gateway;
  auto config = test_uplink_config(gateway.port());
  config.heartbeat_interval = 20ms;
  config.replaying_file = true;
  ProbeSide probe(config, [] {
    wire::Heartbeat hb;
    hb.capture_received = 1234;
    hb.spool_records = 7;
    hb.cpu_permille = 15;
    return hb;
  });
  probe.link().start();
  REQUIRE(probe.run_until([&] { return gateway.seen().heartbeats >= 2; }));
  const auto seen = gateway.seen();
  REQUIRE(seen.last_heartbeat);
  CHECK(seen.last_heartbeat->capture_received == 1234);
  CHECK(seen.last_heartbeat->spool_records == 7);
  CHECK(seen.last_heartbeat->cpu_permille == 15);
  CHECK(seen.last_heartbeat->probe_clock_ns == 0);
  CHECK(seen.hellos.at(0).probe_clock_ns == 0);
}

TEST_CASE("uplink over TLS: the gateway's certificate is checked against ca_file and the server name") {
  TempDir dir;
  const PemFiles server = make_self_signed(dir.path(), "gateway", "gateway.test");
  const PemFiles stranger = make_self_signed(dir.path(), "stranger", "gateway.test");
  boost::asio::ssl::context server_tls(boost::asio::ssl::context::tls_server);
  server_tls.use_certificate_chain_file(server.cert.string());
  server_tls.use_private_key_file(server.key.string(), boost::asio::ssl::context::pem);
  FakeGateway gateway({}, &server_tls);

  SUBCASE("trusted certificate, matching name: delivered") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = server.cert.string();
    config.tls.server_name = "gateway.test";
    ProbeSide probe(config);
    probe.append(12);
    probe.link().start();
    REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));
    CHECK(gateway.seen().held == seqs_1_to(12));
    check_bodies(gateway.seen());
  }
  SUBCASE("certificate from another CA: rejected, nothing sent") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = stranger.cert.string();
    config.tls.server_name = "gateway.test";
    check_refused_by_tls(config, gateway, 2);
  }
  SUBCASE("trusted certificate, wrong name: rejected") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = server.cert.string();
    config.tls.server_name = "other.test";
    check_refused_by_tls(config, gateway, 1);
  }
  SUBCASE("host address checked against the certificate's IP entry when no name is given") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = server.cert.string();
    ProbeSide probe(config);
    probe.append(3);
    probe.link().start();
    REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));
    CHECK(gateway.seen().held == seqs_1_to(3));
  }
  SUBCASE("an address the certificate does not list: rejected") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = server.cert.string();
    config.tls.server_name = "127.0.0.2";  // connected to 127.0.0.1, the certificate's only IP entry
    check_refused_by_tls(config, gateway, 1);
  }
  SUBCASE("a CA file that cannot be read is an error naming the key") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = (dir.path() / "missing.pem").string();
    CHECK_THROWS_WITH_AS(uplink::make_client_tls_context(config.tls),
                         doctest::Contains("gateway.tls.ca_file"), std::runtime_error);
  }
  SUBCASE("a key that is not the client certificate's is an error naming the key") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = server.cert.string();
    config.tls.cert_file = server.cert.string();
    config.tls.key_file = stranger.key.string();
    CHECK_THROWS_WITH_AS(uplink::make_client_tls_context(config.tls),
                         doctest::Contains("gateway.tls.key_file"), std::runtime_error);
  }
}

TEST_CASE("uplink over TLS: the server name travels as SNI, and a gateway that asks for a client certificate gets it") {
  TempDir dir;
  const PemFiles server = make_self_signed(dir.path(), "gateway", "gateway.test");
  const PemFiles client = make_self_signed(dir.path(), "entrance", "entrance");
  boost::asio::ssl::context server_tls(boost::asio::ssl::context::tls_server);
  server_tls.use_certificate_chain_file(server.cert.string());
  server_tls.use_private_key_file(server.key.string(), boost::asio::ssl::context::pem);
  server_tls.load_verify_file(client.cert.string());
  server_tls.set_verify_mode(boost::asio::ssl::verify_peer | boost::asio::ssl::verify_fail_if_no_peer_cert);
  const SniLog sni(server_tls);
  FakeGateway gateway({}, &server_tls);

  SUBCASE("client certificate the gateway trusts: delivered, with the name as SNI") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = server.cert.string();
    config.tls.server_name = "gateway.test";
    config.tls.cert_file = client.cert.string();
    config.tls.key_file = client.key.string();
    ProbeSide probe(config);
    probe.append(5);
    probe.link().start();
    REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));
    CHECK(gateway.seen().held == seqs_1_to(5));
    REQUIRE_FALSE(sni.names().empty());
    CHECK(sni.names().front() == "gateway.test");
  }
  SUBCASE("no client certificate: the gateway refuses the handshake") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = server.cert.string();
    config.tls.server_name = "gateway.test";
    check_refused_by_tls(config, gateway, 1);
  }
  SUBCASE("an address as the gateway's name: no SNI (it carries names only)") {
    auto config = test_uplink_config(gateway.port());
    config.tls.ca_file = server.cert.string();
    config.tls.cert_file = client.cert.string();
    config.tls.key_file = client.key.string();
    ProbeSide probe(config);
    probe.append(2);
    probe.link().start();
    REQUIRE(probe.run_until([&] { return probe.unacked() == 0; }));
    REQUIRE_FALSE(sni.names().empty());
    CHECK(sni.names().front().empty());
  }
}
