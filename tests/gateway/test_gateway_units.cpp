// The gateway's pieces without sockets: config table, dedup index, clock offset, hello check,
// journal records and the journal itself (reopen, torn tail, full, consume).
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "gateway/config/gateway_config.h"
#include "gateway/journal/held_seqs.h"
#include "gateway/journal/journal.h"
#include "gateway/journal/journal_record.h"
#include "gateway/probe_clock/clock_offset.h"
#include "gateway/receive/hello_check.h"
#include "tests/support/gateway_harness.h"

using namespace footfall;
using namespace footfall::gateway;
using footfall::gateway::testing::TempDir;

namespace {

std::string config_error(std::string_view text) {
  auto r = parse_config(text, "gateway.json");
  return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string();
}

}  // namespace

TEST_CASE("config: the brief's example parses, with defaults for what is left out") {
  const auto r = parse_config(R"({ "tenant": "acme", "site": "mall-1",
    "listen": {"address": "127.0.0.1", "port": 7700, "tls": {"cert_file": "", "key_file": "", "client_ca_file": ""}},
    "probes": [{"id": "entrance", "token": "s3cret", "zone": "entrance"}],
    "journal": {"dir": "/var/lib/footfall/journal", "max_mb": 1024, "fsync": "always"},
    "limits": {"max_connections": 1024, "max_frame_bytes": 1048576, "max_decompressed_bytes": 16777216,
               "hello_timeout_s": 10, "idle_timeout_s": 60},
    "log_level": "info" })",
                              "gateway.json");
  REQUIRE(std::holds_alternative<GatewayConfig>(r));
  const auto& c = std::get<GatewayConfig>(r);
  CHECK(c.site == "mall-1");
  CHECK(c.listen_port == 7700);
  REQUIRE(c.probes.size() == 1);
  CHECK(c.find_probe("entrance")->token == "s3cret");
  CHECK(c.find_probe("nobody") == nullptr);
  CHECK(c.clock_tolerance_ms == 2000);
  CHECK_FALSE(c.tls.enabled());
}

TEST_CASE("config: errors name the key path") {
  CHECK(config_error(R"({"journal": {"max_mb": 0}})") == "gateway.json: journal.max_mb: expected a positive integer (at most 16777216)");
  CHECK(config_error(R"({"journal": {"max_mb": "big"}})").starts_with("gateway.json: journal.max_mb: "));
  CHECK(config_error(R"({"listen": {"port": 70000}})") == "gateway.json: listen.port: expected an integer in [0, 65535]");
  CHECK(config_error(R"({"listen": {"tls": {"certfile": "x"}}})") == "gateway.json: listen.tls.certfile: unknown key");
  CHECK(config_error(R"({"limits": 5})") == "gateway.json: limits: expected an object");
  CHECK(config_error(R"({"journal": {"fsync": "sometimes"}})").starts_with("gateway.json: journal.fsync: "));
  CHECK(config_error(R"({"probes": [{"id": "a", "token": "t"}, {"id": "a", "token": "u"}]})")
            .starts_with("gateway.json: probes[1].id: duplicate"));
  CHECK(config_error(R"({"probes": [{"id": "a", "token": "t", "room": 1}]})") == "gateway.json: probes[0].room: unknown key");
  CHECK(config_error(R"({"listen": {"tls": {"cert_file": "c.pem"}}})").starts_with("gateway.json: listen.tls.key_file: "));
  CHECK(config_error(R"({"journal": {"max_mb": 2}, "limits": {"max_frame_bytes": 1048576}})")
            .starts_with("gateway.json: journal.max_mb: must hold"));
  CHECK(config_error("{ nope").starts_with("gateway.json: not valid JSON"));
  CHECK(config_error("[1]") == "gateway.json: expected a JSON object at the top level");
}

TEST_CASE("config: a key written twice is refused, naming it") {
  CHECK(config_error(R"({"mqtt": {"uri": "tcp://a:1883", "uri": "tcp://b:1883"}})") ==
        "gateway.json: duplicate key 'mqtt.uri'");
  CHECK(config_error(R"({"site": "a", "tenant": "t", "site": "b"})") == "gateway.json: duplicate key 'site'");
  CHECK(config_error(R"({"probes": [{"id": "a", "token": "t"}, {"id": "b", "token": "u", "token": "v"}]})") ==
        "gateway.json: duplicate key 'probes[1].token'");
  CHECK(config_error(R"({"listen": {"tls": {"cert_file": ""}}, "listen": {"port": 7701}})") ==
        "gateway.json: duplicate key 'listen'");
  // The same name in two objects (tls, cert_file; id in each probe) is two keys.
  const auto r = parse_config(R"({"listen": {"tls": {"cert_file": ""}}, "mqtt": {"tls": {"cert_file": ""}},
    "probes": [{"id": "a", "token": "t"}, {"id": "b", "token": "u"}]})", "gateway.json");
  CHECK(std::holds_alternative<GatewayConfig>(r));
}

TEST_CASE("config: publishing keys (mqtt, publish, outbox, privacy, merge) parse, with errors naming the key") {
  const auto r = parse_config(R"({"tenant": "acme", "site": "office-1",
    "mqtt": {"uri": "ssl://broker.example:8883", "username": "gw", "password": "pw",
             "tls": {"ca_file": "/etc/ca.pem", "cert_file": "c.pem", "key_file": "k.pem"}, "client_id": "gw-7"},
    "publish": {"interval_ms": 2000, "max_events": 100},
    "outbox": {"dir": "/data/outbox", "max_mb": 32},
    "privacy": {"key_dir": "/data/keys", "rotation": "7d", "opt_out_file": "/data/optout.txt", "create_keys": true},
    "merge": {"visit_grace_s": 120, "update_interval_s": 30}})",
                              "gateway.json");
  REQUIRE(std::holds_alternative<GatewayConfig>(r));
  const auto& c = std::get<GatewayConfig>(r);
  CHECK(c.mqtt.enabled());
  CHECK(c.mqtt.uri == "ssl://broker.example:8883");
  CHECK(c.mqtt.key_file == "k.pem");
  CHECK(c.mqtt.client_id == "gw-7");
  CHECK(c.publish_interval_ms == 2000);
  CHECK(c.publish_max_events == 100);
  CHECK(c.probes_interval_ms == 30000);
  CHECK(c.outbox_dir == "/data/outbox");
  CHECK(c.outbox_max_mb == 32);
  CHECK(c.key_rotation_s == 7 * 86400);
  CHECK(c.create_keys);
  CHECK(c.visit_grace_s == 120);
  CHECK(c.update_interval_s == 30);

  const auto defaults = std::get<GatewayConfig>(parse_config("{}", "gateway.json"));
  CHECK_FALSE(defaults.mqtt.enabled());  // receive only
  CHECK(defaults.key_rotation_s == 86400);
  CHECK(defaults.publish_interval_ms == 5000);
  CHECK(defaults.publish_max_events == 500);

  CHECK(config_error(R"({"tenant": "a", "site": "b", "mqtt": {"uri": "http://x"}})") ==
        "gateway.json: mqtt.uri: expected tcp://host:port or ssl://host:port");
  CHECK(config_error(R"({"mqtt": {"username": "gw"}})") == "gateway.json: mqtt.uri: required when other mqtt keys are set");
  CHECK(config_error(R"({"tenant": "a b", "site": "s", "mqtt": {"uri": "tcp://127.0.0.1:1883"}})").starts_with(
      "gateway.json: tenant: "));
  CHECK(config_error(R"({"tenant": "a", "site": "s", "mqtt": {"uri": "tcp://h:1", "tls": {"ca_file": "x"}}})")
            .starts_with("gateway.json: mqtt.tls: "));
  CHECK(config_error(R"({"tenant": "a", "site": "s", "mqtt": {"uri": "tcp://h:1", "password": "x"}})")
            .starts_with("gateway.json: mqtt.username: "));
  CHECK(config_error(R"({"privacy": {"rotation": "30m"}})").starts_with("gateway.json: privacy.rotation: "));
  CHECK(config_error(R"({"privacy": {"rotation": 86400}})").starts_with("gateway.json: privacy.rotation: "));
  CHECK(config_error(R"({"publish": {"max_events": 0}})").starts_with("gateway.json: publish.max_events: "));
  CHECK(config_error(R"({"outbox": {"max_mb": 1}})").starts_with("gateway.json: outbox.max_mb: "));
  CHECK(config_error(R"({"mqtt": {"tls": {"verify": false}}})") == "gateway.json: mqtt.tls.verify: unknown key");
  CHECK(config_error(R"({"merge": {"visit_grace_s": -1}})").starts_with("gateway.json: merge.visit_grace_s: "));

  CHECK(parse_duration_s("1d") == 86400);
  CHECK(parse_duration_s("24h") == 86400);
  CHECK(parse_duration_s("90m") == 5400);
  CHECK(parse_duration_s("3600") == 3600);
  CHECK_FALSE(parse_duration_s("1w"));
  CHECK_FALSE(parse_duration_s("d"));
}

TEST_CASE("config: the options table lists every key") {
  const auto table = options_table();
  for (const char* key : {"listen.port", "listen.tls.client_ca_file", "journal.max_mb", "limits.max_decompressed_bytes",
                          "clock.tolerance_ms", "health.interval_s", "probes", "mqtt.uri", "mqtt.tls.ca_file",
                          "mqtt.client_id", "publish.interval_ms", "publish.max_events", "outbox.dir", "outbox.max_mb",
                          "privacy.key_dir", "privacy.rotation", "privacy.opt_out_file", "merge.visit_grace_s"})
    CHECK(table.find(key) != std::string::npos);
}

TEST_CASE("config reload: every key of the table has a reload rule; probes, TLS files and limits apply") {
  // Every key printed by --help-config has a rule: one without would be neither applied nor reported.
  std::istringstream lines(options_table());
  std::size_t keys = 0;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("  ")) continue;
    const std::string key = line.substr(2, line.find(" | ") - 2);
    ++keys;
    INFO(key);
    REQUIRE(on_reload(key).has_value());
    CHECK(line.ends_with(" [reload]") == (on_reload(key) == OnReload::applies));
  }
  CHECK(keys > 40);
  for (const char* key : {"probes", "listen.tls.cert_file", "listen.tls.key_file", "listen.tls.client_ca_file",
                          "listen.tls.client_cert_names_probe",
                          "limits.idle_timeout_s", "limits.hello_timeout_s", "limits.max_connections", "log_level"})
    CHECK_MESSAGE(on_reload(key) == OnReload::applies, key);
  for (const char* key : {"listen.address", "listen.port", "journal.dir", "journal.max_mb", "mqtt.uri",
                          "mqtt.password", "outbox.dir", "privacy.key_dir", "merge.update_interval_s", "tenant", "site",
                          "limits.max_frame_bytes", "clock.window"})
    CHECK_MESSAGE(on_reload(key) == OnReload::needs_restart, key);
}

TEST_CASE("config reload: changes are listed by key; the reloaded config keeps what needs a restart") {
  const auto base = std::get<GatewayConfig>(parse_config(R"({"tenant": "acme", "site": "mall-1",
    "probes": [{"id": "entrance", "token": "a", "zone": "entrance"}], "journal": {"dir": "/var/j"}})", "gateway.json"));
  CHECK(config_changes(base, base).empty());
  // A default written out is no change.
  const auto same = std::get<GatewayConfig>(parse_config(R"({"tenant": "acme", "site": "mall-1",
    "listen": {"port": 7700}, "probes": [{"id": "entrance", "token": "a", "zone": "entrance"}],
    "journal": {"dir": "/var/j"}, "privacy": {"rotation": "24h"}})", "gateway.json"));
  CHECK(config_changes(base, same).empty());

  const auto next = std::get<GatewayConfig>(parse_config(R"({"tenant": "acme", "site": "mall-1",
    "listen": {"port": 7701}, "probes": [{"id": "entrance", "token": "b", "zone": "entrance"},
                                         {"id": "lobby", "token": "c", "zone": "lobby"}],
    "journal": {"dir": "/var/k"}, "limits": {"idle_timeout_s": 5}, "log_level": "debug"})", "gateway.json"));
  std::map<std::string, OnReload> changes;
  for (const ConfigChange& c : config_changes(base, next)) changes.emplace(c.key, c.effect);
  CHECK(changes == std::map<std::string, OnReload>{{"listen.port", OnReload::needs_restart},
                                                   {"probes", OnReload::applies},
                                                   {"journal.dir", OnReload::needs_restart},
                                                   {"limits.idle_timeout_s", OnReload::applies},
                                                   {"log_level", OnReload::applies}});
  const GatewayConfig applied = reloaded_config(base, next);
  CHECK(applied.probes == next.probes);
  CHECK(applied.idle_timeout_s == 5);
  CHECK(applied.log_level == "debug");
  CHECK(applied.listen_port == 7700);          // needs restart: the running value
  CHECK(applied.journal_dir == "/var/j");
}

TEST_CASE("held seqs: cumulative point, ranges, merging and acks") {
  HeldSeqs h;
  CHECK(h.insert(2));
  CHECK(h.insert(5));
  CHECK(h.cumulative() == 0);
  CHECK(h.to_ack() == wire::Ack{0, {{2, 2}, {5, 5}}});
  CHECK(h.insert(1));
  CHECK(h.cumulative() == 2);
  CHECK(h.insert(4));
  CHECK(h.to_ack() == wire::Ack{2, {{4, 5}}});
  CHECK_FALSE(h.insert(4));
  CHECK(h.contains(5));
  CHECK_FALSE(h.contains(3));
  CHECK(h.insert(3));
  CHECK(h.cumulative() == 5);
  CHECK(h.ranges().empty());
  // More gaps than an Ack carries: the newest ranges are kept.
  HeldSeqs many;
  for (std::uint64_t s = 2; s <= 200; s += 2) many.insert(s);
  const auto ack = many.to_ack();
  CHECK(ack.ranges.size() == wire::kMaxAckRanges);
  CHECK(ack.ranges.back() == wire::SeqRange{200, 200});
  CHECK(ack.covers(200));
  HeldSeqs restored;
  CHECK_FALSE(restored.restore(3, {{4, 6}}));  // adjacent to the cumulative point
  CHECK(restored.restore(3, {{5, 6}}));
  CHECK(restored.contains(6));
  CHECK_FALSE(restored.contains(4));
}

TEST_CASE("clock offset: minimum over the window, tolerance, replay") {
  ClockOffset clock(3, 2'000'000'000);
  CHECK_FALSE(clock.offset_ns());
  CHECK(clock.correction_ns() == 0);
  clock.add_sample(0, 1'000);  // replay: ignored
  CHECK(clock.samples() == 0);
  const std::int64_t h3 = 3LL * 3600 * 1'000'000'000;
  clock.add_sample(1'000'000'000'000, 1'000'000'000'000 + h3 + 40'000'000);  // 40 ms of delay
  clock.add_sample(2'000'000'000'000, 2'000'000'000'000 + h3 + 5'000'000);
  clock.add_sample(3'000'000'000'000, 3'000'000'000'000 + h3 + 90'000'000);
  CHECK(*clock.offset_ns() == h3 + 5'000'000);
  CHECK(clock.correction_ns() == h3 + 5'000'000);
  // The 5 ms sample leaves the window of 3 after three more.
  for (int i = 0; i < 3; ++i) clock.add_sample(4'000'000'000'000, 4'000'000'000'000 + h3 + 20'000'000);
  CHECK(*clock.offset_ns() == h3 + 20'000'000);
  ClockOffset synced(4, 2'000'000'000);
  synced.add_sample(1'000'000'000'000, 1'000'000'000'000 - 1'500'000'000);
  CHECK(*synced.offset_ns() == -1'500'000'000);
  CHECK(synced.correction_ns() == 0);  // within tolerance
  synced.reset();
  CHECK(synced.samples() == 0);
}

TEST_CASE("hello check") {
  const std::vector<ProbeAccount> probes{{"entrance", "s3cret", "e"}};
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}).accepted());
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}).account == &probes[0]);
  CHECK(check_hello(probes, {"entrance", "s3cre", "1", 0}).refusal == wire::RefuseReason::bad_token);
  CHECK(check_hello(probes, {"entrance", "s3cret!", "1", 0}).refusal == wire::RefuseReason::bad_token);
  CHECK(check_hello(probes, {"entrance", "", "1", 0}).refusal == wire::RefuseReason::bad_token);
  CHECK(check_hello(probes, {"exit", "s3cret", "1", 0}).refusal == wire::RefuseReason::unknown_probe);
  // A client certificate bound to probes: its name must be the Hello's probe id.
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}, "entrance").accepted());
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}, "lobby").refusal == wire::RefuseReason::certificate_mismatch);
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}, "").refusal == wire::RefuseReason::certificate_mismatch);
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}, "entrance ").refusal ==
        wire::RefuseReason::certificate_mismatch);
  CHECK(check_hello(probes, {"entrance", "bad", "1", 0}, "lobby").refusal == wire::RefuseReason::bad_token);
  CHECK(check_hello(probes, {"exit", "s3cret", "1", 0}, "lobby").refusal == wire::RefuseReason::unknown_probe);
}

TEST_CASE("journal record: golden bytes and hostile input") {
  JournalRecordMeta meta;
  meta.probe_id = "ab";
  meta.probe_seq = 0x0102;
  meta.received_ns = 5;
  meta.clock_offset_ns = -1;
  meta.correction_ns = 0;
  meta.offset_known = true;
  const std::vector<std::uint8_t> frame{0xaa, 0xbb};
  std::vector<std::uint8_t> out;
  encode_journal_record(meta, frame, out);
  const std::vector<std::uint8_t> golden{
      0x01, 0x02, 'a', 'b',                                           // version, id
      0x02, 0x01, 0, 0, 0, 0, 0, 0,                                   // probe seq
      0x05, 0, 0, 0, 0, 0, 0, 0,                                      // received
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                 // offset -1
      0, 0, 0, 0, 0, 0, 0, 0,                                         // correction
      0x01,                                                           // flags: offset known
      0x02, 0, 0, 0, 0xaa, 0xbb};                                     // frame
  CHECK(out == golden);
  const auto view = decode_journal_record(out);
  REQUIRE(view);
  CHECK(view->meta.probe_id == "ab");
  CHECK(view->meta.clock_offset_ns == -1);
  CHECK(view->meta.offset_known);
  CHECK_FALSE(view->meta.replay);
  CHECK(std::vector<std::uint8_t>(view->frame.begin(), view->frame.end()) == frame);
  for (std::size_t cut = 0; cut < out.size(); ++cut)
    CHECK_FALSE(decode_journal_record(std::span<const std::uint8_t>(out).first(cut)));
  auto longer = out;
  longer.push_back(0);
  CHECK_FALSE(decode_journal_record(longer));
  auto bad_flags = out;
  bad_flags[36] = 0x80;
  CHECK_FALSE(decode_journal_record(bad_flags));
}

TEST_CASE("journal: stores, dedups, survives reopen and a torn tail, and locks its directory") {
  TempDir dir;
  JournalOptions options;
  options.dir = dir.path();
  options.max_bytes = 8u << 20;
  const std::vector<std::uint8_t> frame(300, 0x5a);
  auto meta = [](std::string id, std::uint64_t seq) {
    JournalRecordMeta m;
    m.probe_id = std::move(id);
    m.probe_seq = seq;
    return m;
  };
  {
    auto j = Journal::open(options);
    REQUIRE(j.journal);
    CHECK_FALSE(Journal::open(options).journal);  // second opener refused
    CHECK(j.journal->store(meta("a", 1), frame) == StoreOutcome::stored);
    CHECK(j.journal->store(meta("a", 3), frame) == StoreOutcome::stored);
    CHECK(j.journal->store(meta("b", 1), frame) == StoreOutcome::stored);
    CHECK(j.journal->store(meta("a", 1), frame) == StoreOutcome::duplicate);
    CHECK(j.journal->durable_through("a") == 0);  // not before a commit
    CHECK(j.journal->needs_commit());
    REQUIRE_FALSE(j.journal->commit());
    CHECK(j.journal->durable_through("a") == 1);
    CHECK(j.journal->ack_for("a") == wire::Ack{1, {{3, 3}}});
  }
  // A crash mid-append leaves half a record: cut off on open, the rest kept.
  std::filesystem::path segment;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path()))
    if (f.path().extension() == ".spool") segment = f.path();
  REQUIRE_FALSE(segment.empty());
  {
    std::ofstream out(segment, std::ios::binary | std::ios::app);
    const char torn[] = "FSR1\x40\x01\x00\x00half";
    out.write(torn, sizeof torn - 1);
  }
  auto j = Journal::open(options);
  REQUIRE(j.journal);
  CHECK(j.journal->stats().torn_records == 1);
  CHECK(j.journal->durable_through("a") == 1);
  CHECK(j.journal->holds("a", 3));
  CHECK(j.journal->holds("b", 1));
  CHECK_FALSE(j.journal->holds("b", 2));
  JournalEntry e;
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  std::uint64_t after = 0;
  while (const auto s = j.journal->read_next(after, e)) {
    seen.emplace_back(e.meta.probe_id, e.meta.probe_seq);
    after = *s;
  }
  CHECK(seen == std::vector<std::pair<std::string, std::uint64_t>>{{"a", 1}, {"a", 3}, {"b", 1}});
  CHECK(j.journal->store(meta("a", 2), frame) == StoreOutcome::stored);
  REQUIRE_FALSE(j.journal->commit());
  CHECK(j.journal->durable_through("a") == 3);
  CHECK(j.journal->stats().last_journal_seq == 4);
}
