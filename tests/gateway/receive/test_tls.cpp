// TLS on the receive side: a self-signed CA made for the test signs the gateway's and the probes'
// certificates; with client_ca_file set, a probe without a certificate is refused at the handshake, and one
// whose certificate names another probe is refused at the Hello (certificate_mismatch).
#include <doctest/doctest.h>

#include <cstdlib>

#include "tests/support/gateway_harness.h"

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
             "/ca.key -CAcreateserial -days 2 -out " + p + "/client.pem") &&
         // The food-court probe's certificate, signed by the same CA.
         run("openssl req -newkey rsa:2048 -nodes -subj /CN=food-court -keyout " + p + "/food.key -out " + p +
             "/food.csr") &&
         run("openssl x509 -req -in " + p + "/food.csr -CA " + p + "/ca.pem -CAkey " + p +
             "/ca.key -CAcreateserial -days 2 -out " + p + "/food.pem");
}

// `cert`: "client" (CN=entrance), "food" (CN=food-court) or "" for none.
asio::ssl::context client_context(const std::filesystem::path& d, const std::string& cert) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file((d / "ca.pem").string());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  ctx.set_verify_callback(asio::ssl::host_name_verification("localhost"));
  if (!cert.empty()) {
    ctx.use_certificate_chain_file((d / (cert + ".pem")).string());
    ctx.use_private_key_file((d / (cert + ".key")).string(), asio::ssl::context::pem);
  }
  return ctx;
}

// A gateway config with TLS on and client certificates required, over a PKI made in a temporary directory.
struct TlsSite {
  TempDir pki;
  TempDir dir;
  bool ready = make_pki(pki.path());
  GatewayConfig config = test_config(dir.path());
  TlsSite() {
    config.tls.cert_file = (pki.path() / "server.pem").string();
    config.tls.key_file = (pki.path() / "server.key").string();
    config.tls.client_ca_file = (pki.path() / "ca.pem").string();
  }
};

}  // namespace

TEST_CASE_FIXTURE(TlsSite, "TLS: handshake with the gateway's certificate, then hello, batch and ack; a probe without a client certificate is refused") {
  if (!ready) {
    MESSAGE("openssl CLI not available: TLS test skipped");
    return;
  }
  GatewayUnderTest gw(config);

  {
    auto ctx = client_context(pki.path(), "client");
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
    auto ctx = client_context(pki.path(), "");
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

TEST_CASE_FIXTURE(TlsSite, "TLS: a client certificate must name the probe of the Hello, unless listen.tls.client_cert_names_probe is false") {
  if (!ready) {
    MESSAGE("openssl CLI not available: TLS test skipped");
    return;
  }
  const auto hello_with = [&](GatewayUnderTest& gw, const std::string& cert, const std::string& id,
                              const std::string& token) {
    auto ctx = client_context(pki.path(), cert);
    TestProbe probe(&ctx, "localhost");
    REQUIRE(probe.connect(gw.port()));
    const auto reply = probe.hello(id, token, now_ns());
    REQUIRE(reply);
    return *reply;
  };
  {
    GatewayUnderTest gw(config);
    // The food-court certificate with the entrance probe's id and token: a box set up with the wrong files.
    const auto crossed = hello_with(gw, "food", "entrance", "s3cret");
    CHECK(crossed.status == wire::HelloStatus::refused);
    CHECK(crossed.reason == wire::RefuseReason::certificate_mismatch);
    // Without the token the certificate is not looked at: the refusal says only bad_token.
    CHECK(hello_with(gw, "food", "entrance", "guess").reason == wire::RefuseReason::bad_token);
    // Each certificate with its own probe passes.
    CHECK(hello_with(gw, "food", "food-court", "t0ken").status == wire::HelloStatus::accepted);
    CHECK(hello_with(gw, "client", "entrance", "s3cret").status == wire::HelloStatus::accepted);
    CHECK(eventually([&] { return gw.counters().refused(wire::RefuseReason::certificate_mismatch) == 1; }));
    CHECK(gw.counters().refused(wire::RefuseReason::bad_token) == 1);
    CHECK(ReceiveCounters::get(gw.counters().sessions_established) == 2);
  }
  {
    // A site whose probes share one certificate of the CA turns the binding off.
    config.tls.client_cert_names_probe = false;
    GatewayUnderTest gw(config);
    CHECK(hello_with(gw, "food", "entrance", "s3cret").status == wire::HelloStatus::accepted);
    CHECK(gw.counters().refused(wire::RefuseReason::certificate_mismatch) == 0);
  }
}
