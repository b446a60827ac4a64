// TLS on the receive side: a self-signed CA made for the test signs the gateway's and a probe's
// certificates; with client_ca_file set, a probe without a certificate is refused at the handshake.
#include <doctest/doctest.h>

#include <cstdlib>

#include "tests/gateway/gateway_harness.h"

using namespace footfall;
using namespace footfall::gateway;
using namespace footfall::gateway::testing;

namespace {

bool run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// CA, server cert (CN/SAN localhost) and client cert, all in dir. False when openssl is missing.
bool make_pki(const std::filesystem::path& d) {
  const std::string p = d.string();
  return run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=footfall-test-ca -keyout " + p +
             "/ca.key -out " + p + "/ca.pem") &&
         run("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + p + "/server.key -out " + p +
             "/server.csr") &&
         run("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1' > " + p + "/san.ext") &&
         run("openssl x509 -req -in " + p + "/server.csr -CA " + p + "/ca.pem -CAkey " + p +
             "/ca.key -CAcreateserial -days 2 -extfile " + p + "/san.ext -out " + p + "/server.pem") &&
         run("openssl req -newkey rsa:2048 -nodes -subj /CN=entrance -keyout " + p + "/client.key -out " + p +
             "/client.csr") &&
         run("openssl x509 -req -in " + p + "/client.csr -CA " + p + "/ca.pem -CAkey " + p +
             "/ca.key -CAcreateserial -days 2 -out " + p + "/client.pem");
}

asio::ssl::context client_context(const std::filesystem::path& d, bool with_cert) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file((d / "ca.pem").string());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  ctx.set_verify_callback(asio::ssl::host_name_verification("localhost"));
  if (with_cert) {
    ctx.use_certificate_chain_file((d / "client.pem").string());
    ctx.use_private_key_file((d / "client.key").string(), asio::ssl::context::pem);
  }
  return ctx;
}

}  // namespace

TEST_CASE("TLS: handshake with the gateway's certificate, then hello, batch and ack; a probe without a client certificate is refused") {
  TempDir pki;
  if (!make_pki(pki.path())) {
    MESSAGE("openssl CLI not available: TLS test skipped");
    return;
  }
  TempDir dir;
  auto config = test_config(dir.path());
  config.tls.cert_file = (pki.path() / "server.pem").string();
  config.tls.key_file = (pki.path() / "server.key").string();
  config.tls.client_ca_file = (pki.path() / "ca.pem").string();
  GatewayUnderTest gw(config);

  {
    auto ctx = client_context(pki.path(), true);
    TestProbe probe(&ctx, "localhost");
    REQUIRE(probe.connect(gw.port()));
    const auto reply = probe.hello("entrance", "s3cret", now_ns());
    REQUIRE(reply);
    CHECK(reply->status == wire::HelloStatus::accepted);
    std::mt19937 rng(1);
    REQUIRE(probe.send(make_batch(1, 20, now_ns(), rng)));
    const auto ack = probe.receive_as<wire::Ack>();
    REQUIRE(ack);
    CHECK(ack->cumulative == 1);
  }
  {
    auto ctx = client_context(pki.path(), false);
    TestProbe probe(&ctx, "localhost");
    // TLS 1.3 may finish the client's side before the server checks: either way no session follows.
    if (probe.connect(gw.port())) {
      probe.send(wire::Hello{"entrance", "s3cret", "t", now_ns()});
      CHECK_FALSE(probe.receive_as<wire::HelloReply>(3000ms));
    }
    CHECK(eventually([&] { return gw.counters().closes(CloseReason::tls_handshake_failed) == 1; }));
  }
  {
    // Plain TCP to a TLS port: the handshake fails, nothing else happens.
    TestProbe plain;
    REQUIRE(plain.connect(gw.port()));
    plain.send(wire::Hello{"entrance", "s3cret", "t", now_ns()});
    CHECK(plain.wait_closed());
    CHECK(eventually([&] { return gw.counters().closes(CloseReason::tls_handshake_failed) == 2; }));
  }
  CHECK(ReceiveCounters::get(gw.counters().sessions_established) == 1);
  CHECK(ReceiveCounters::get(gw.counters().batches_stored) == 1);
}
