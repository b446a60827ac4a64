// The dashboard without sockets: password hashes, failed sign-ins slowed, bounded sessions, and requests
// answered from a real SQLite store with two tenants (a session sees its tenant's sites only).
#include <doctest/doctest.h>

#include <string>

#include "aggregator/config/aggregator_config.h"
#include "aggregator/serve/dashboard.h"
#include "aggregator/serve/password_hash.h"
#include "aggregator/serve/session_table.h"
#include "aggregator/serve/sign_in_guard.h"
#include "aggregator/store/sqlite_store.h"
#include "tests/support/scratch.h"

namespace {

using namespace footfall::aggregator;
using namespace footfall::aggregator::serve;
using footfall::testing::TempDir;

constexpr TimeMs kNow = 1'764'000'000'000;  // 2025-11-24T16:00Z
constexpr TimeMs kDay = 86'400'000;

std::string header(const Response& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return {};
}

IngestBatch visits_batch(const std::string& tenant, const std::string& site, int count) {
  IngestBatch b;
  b.kind = FeedKind::visits;
  b.batch_id = site + "-1-1";
  b.tenant = tenant;
  b.site = site;
  b.seq = 1;
  b.sent_at = kNow;
  for (int i = 0; i < count; ++i) {
    Visit v;
    v.tenant = tenant;
    v.site = site;
    v.visit_id = site + "-visit-" + std::to_string(i);
    v.device = site + "-device-" + std::to_string(i);
    v.arrival = kNow - kDay + i * 60'000;
    v.departure = v.arrival + 20 * 60'000;
    v.dwell_s = 1200;
    v.zones = {"entrance"};
    v.entry_zone = v.exit_zone = "entrance";
    b.visits.push_back(v);
  }
  return b;
}

}  // namespace

TEST_CASE("password hashes: the right password verifies, a wrong one or a damaged hash does not") {
  const std::string hash = hash_password("correct horse", 1000);
  CHECK(hash.starts_with("pbkdf2-sha256$1000$"));
  CHECK(verify_password("correct horse", hash));
  CHECK_FALSE(verify_password("correct horsE", hash));
  CHECK_FALSE(verify_password("correct horse", hash.substr(0, hash.size() - 2)));
  CHECK_FALSE(verify_password("correct horse", "pbkdf2-sha256$0$00$00"));
  CHECK_FALSE(verify_password("correct horse", "plain"));
  CHECK(hash != hash_password("correct horse", 1000));  // a new salt each time
}

TEST_CASE("failed sign-ins: the wait doubles per failure, per account and per address, and success clears it") {
  SignInGuard guard(SignInPolicy{.max_entries = 4, .first_delay_ms = 1000, .max_delay_ms = 4000, .forget_after_ms = 60'000});
  CHECK(guard.wait_ms("alice", "10.0.0.1", 0) == 0);
  guard.failed("alice", "10.0.0.1", 0);
  CHECK(guard.wait_ms("alice", "10.0.0.9", 500) == 500);   // the account waits, from any address
  CHECK(guard.wait_ms("mallory", "10.0.0.1", 500) == 500);  // the address waits, for any account
  CHECK(guard.wait_ms("alice", "10.0.0.1", 1000) == 0);
  guard.failed("alice", "10.0.0.1", 1000);
  CHECK(guard.wait_ms("alice", "10.0.0.1", 1000) == 2000);
  guard.failed("alice", "10.0.0.1", 3000);
  guard.failed("alice", "10.0.0.1", 7000);
  CHECK(guard.wait_ms("alice", "10.0.0.1", 7000) == 4000);  // capped
  CHECK(guard.wait_ms("alice", "10.0.0.1", 7000 + 60'000) == 0);  // forgotten after an hour's quiet
  guard.succeeded("alice", "10.0.0.1");
  CHECK(guard.wait_ms("alice", "10.0.0.1", 7001) == 0);
  const auto c = guard.counters();
  CHECK(c.failed == 4);
  CHECK(c.refused_waiting == 4);
  for (int i = 0; i < 6; ++i) guard.failed("u" + std::to_string(i), "a", 10'000 + i);
  CHECK(guard.counters().forgotten_full > 0);
}

TEST_CASE("sessions expire, and when full the least recently used one is closed") {
  SessionTable table(2, 1000);
  const std::string a = table.open("alice", "acme", 0);
  CHECK(a.size() == 64);
  const std::string b = table.open("bob", "globex", 10);
  CHECK(table.find(a, 20));  // alice used after bob
  const std::string c = table.open("carol", "acme", 30);
  CHECK_FALSE(table.find(b, 40));
  CHECK(table.find(a, 40)->tenant == "acme");
  CHECK(table.find(c, 40));
  CHECK(table.closed_full() == 1);
  CHECK_FALSE(table.find(a, 1000));  // expired
  table.close(c);
  CHECK_FALSE(table.find(c, 50));
}

TEST_CASE("the dashboard: sign-in, a tenant's own sites only, bad input named, failures slowed") {
  TempDir dir("serve");
  auto store = SqliteStore::open(dir.path() / "agg.db");
  store->store_batch(visits_batch("acme", "mall-7", 12), kNow);
  store->store_batch(visits_batch("globex", "plaza-1", 5), kNow);
  AggregatorConfig cfg;
  cfg.serve.chromium = (dir.path() / "no-chromium").string();
  cfg.serve.users = {{"alice", "acme", hash_password("alice-pw", 1000)}, {"bob", "globex", hash_password("bob-pw", 1000)}};
  TimeMs now = kNow;
  Dashboard dashboard(cfg, *store, [&] { return now; });

  const auto sign_in = [&](const std::string& body, const std::string& address = "127.0.0.1") {
    return dashboard.handle(Request{"POST", "/sign-in", "", "application/x-www-form-urlencoded", body, address});
  };
  const Response ok = sign_in("user=alice&password=alice-pw");
  REQUIRE(ok.status == 303);
  CHECK(header(ok, "Location") == "/portfolio");
  const std::string cookie = header(ok, "Set-Cookie");
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  CHECK(cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(cookie.find("Secure") == std::string::npos);  // no TLS configured
  const std::string session = cookie.substr(0, cookie.find(';'));
  const auto get = [&](const std::string& target, const std::string& c) {
    return dashboard.handle(Request{"GET", target, c, "", "", "127.0.0.1"});
  };

  const Response portfolio = get("/portfolio?from=2025-11-17&to=2025-11-24", session);
  CHECK(portfolio.status == 200);
  CHECK(portfolio.body.find("/sites/mall-7") != std::string::npos);
  CHECK(portfolio.body.find("plaza-1") == std::string::npos);
  CHECK(get("/sites/mall-7?from=2025-11-17&to=2025-11-24", session).status == 200);
  CHECK(get("/sites/plaza-1", session).status == 404);  // globex's site, as if unknown
  CHECK(get("/sites/plaza-1/days.csv", session).status == 404);
  CHECK(get("/live?site=plaza-1", session).status == 404);
  const Response csv = get("/sites/mall-7/days.csv?from=2025-11-22&to=2025-11-24", session);
  CHECK(csv.status == 200);
  CHECK(csv.body.starts_with("date,"));
  CHECK(csv.body.find("\r\n2025-11-23,") != std::string::npos);
  const Response pdf = get("/sites/mall-7/report.pdf", session);
  CHECK(pdf.status == 503);
  CHECK(pdf.body.find("not installed") != std::string::npos);
  const Response bad = get("/sites/mall-7?from=24.11.2025", session);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("from: expected a date YYYY-MM-DD") != std::string::npos);
  CHECK(get("/sites/mall-7?from=2025-11-24&to=2025-11-20", session).status == 400);
  CHECK(get("/portfolio?from=2020-01-01&to=2025-01-01", session).status == 400);  // over 366 days

  CHECK(get("/portfolio", "").status == 303);
  CHECK(get("/sites/mall-7/days.csv", "footfall_session=forged").status == 401);
  CHECK(dashboard.handle(Request{"DELETE", "/portfolio", session, "", "", "127.0.0.1"}).status == 405);

  // A wrong password, then at once the right one: refused unchecked until the wait is over.
  CHECK(sign_in("user=bob&password=nope", "10.1.1.1").status == 401);
  CHECK(sign_in("user=bob&password=bob-pw", "10.1.1.1").status == 429);
  now += 1000;
  CHECK(sign_in("user=bob&password=bob-pw", "10.1.1.1").status == 303);
  CHECK(sign_in("user=nobody&password=x", "10.1.1.2").status == 401);

  const std::string live = dashboard.live_event(LiveStream{"acme", "mall-7"});
  CHECK(live.find("\"site\":\"mall-7\"") != std::string::npos);
  CHECK(live.find("\"total\":null") != std::string::npos);  // no presence stored: no value, not zero

  now += 13LL * 3'600'000;  // past serve.session_hours
  CHECK(get("/portfolio", session).status == 303);
}

TEST_CASE("serve settings: users need a tenant and a hash from hash-password; TLS needs both files") {
  const auto error = [](const std::string& text) {
    const auto r = parse_config(text, "aggregator.json");
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
  };
  CHECK(error(R"({"serve": {"users": {"alice": {"tenant": "acme", "password_hash": "secret"}}}})")
            .find("serve.users.alice.password_hash") != std::string::npos);
  CHECK(error(R"({"serve": {"users": {"alice": {"password_hash": "pbkdf2-sha256$1$00$00"}}}})")
            .find("serve.users.alice.tenant") != std::string::npos);
  CHECK(error(R"({"serve": {"tls": {"cert_file": "a.pem"}}})").find("serve.tls.key_file") != std::string::npos);
  CHECK(error(R"({"serve": {"max_request_bytes": 10}})").find("serve.max_request_bytes") != std::string::npos);
  const auto ok = parse_config(R"({"serve": {"port": 0, "users": {"alice": {"tenant": "acme", "password_hash": "pbkdf2-sha256$1$00$00"}}}})",
                               "aggregator.json");
  REQUIRE(std::holds_alternative<AggregatorConfig>(ok));
  CHECK(std::get<AggregatorConfig>(ok).serve.users.at(0).tenant == "acme");
}
