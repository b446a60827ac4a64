// The whole site path with real processes: footfall-sim (office, 2 h) -> 3 x footfall-probe run -> footfall-gateway
// -> mosquitto -> a subscriber. Checks the visits against the simulator's truth, a one-minute broker outage
// mid-stream, that no address leaves the site in any spelling, and refused broker credentials.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "gateway/anonymize/key_store.h"
#include "gateway/anonymize/keyring.h"
#include "gateway/anonymize/pseudonymizer.h"
#include "gateway/publish/payloads.h"
#include "tests/system/site/site_run.h"

using namespace footfall::test;
using namespace footfall::test::site;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Tolerances of the comparison with the truth, and why (docs/mqtt.md repeats them).
// Arrival is the first frame a probe heard, departure the last one: both lag the walk in / walk out by up
// to a phone's interval between probe bursts (up to 270 s idle and 300 s associated in the simulator's models,
// taken from the captured phones), and a probe's -90 dBm floor can drop the faintest first or last frames the
// truth (-92 dBm) counts as heard.
constexpr std::int64_t kEdgeToleranceNs = 300'000'000'000;
// A passer-by walks past the entrance: short.
constexpr double kPasserMaxDwellS = 180.0;
// The truth counts frames down to -92 dBm, the probes keep -90 dBm and up: a device never heard louder
// than this may have no visit at all.
constexpr int kSurelyHeardDbm = -88;

std::int64_t ns_of(const std::string& iso) {
  // "YYYY-MM-DDTHH:MM:SS.mmmZ" -> ns, via days from civil
  const int y = std::stoi(iso.substr(0, 4));
  const unsigned m = static_cast<unsigned>(std::stoi(iso.substr(5, 2)));
  const unsigned d = static_cast<unsigned>(std::stoi(iso.substr(8, 2)));
  const int yy = y - (m <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const auto yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = std::int64_t{era} * 146097 + doe - 719468;
  const std::int64_t ms = ((std::stoll(iso.substr(11, 2)) * 60 + std::stoll(iso.substr(14, 2))) * 60 +
                           std::stoll(iso.substr(17, 2))) * 1000 + std::stoll(iso.substr(20, 3));
  return (days * 86'400'000 + ms) * 1'000'000;
}

// Waits until the gateway reports everything read, consumed and acknowledged by the broker; then until the
// subscriber holds every batch sequence number up to that report. Returns the report.
// min_records: the report must show at least this many journal records read by this gateway process.
// `min_consumed`: a journal record the site stage must have consumed (from a run before, when the report
// could be one that an earlier process queued in the outbox).
json wait_until_settled(TestSubscriber& sub, std::chrono::milliseconds timeout, std::uint64_t min_records,
                        std::uint64_t min_consumed = 0) {
  json settled;
  const bool done = wait_until([&] {
    const json h = latest_gateway_health(sub.messages());
    if (h.is_null()) return false;
    const json& c = h["gateway"]["counters"];
    if (c.value("journal.held_records", 1) != 0 || c.value("site.pinned_devices", 1) != 0 ||
        c.value("publish.outbox_records", 1) != 0 || c.value("site.records_read", std::uint64_t{0}) < min_records ||
        c.value("site.consumed_through", std::uint64_t{0}) < min_consumed)
      return false;
    settled = h;
    return true;
  }, timeout);
  if (!done) return {};
  const std::uint64_t through = settled["seq"];
  wait_until([&] {
    const Delivery d = collect(sub.messages());
    std::set<std::uint64_t> seqs(d.seqs.begin(), d.seqs.end());
    for (std::uint64_t s = 1; s <= through; ++s)
      if (!seqs.contains(s)) return false;
    return true;
  }, 20s);
  return settled;
}

struct Matching {
  std::size_t truth_visits = 0;
  std::size_t surely_heard = 0;
  std::size_t matched = 0;
  std::size_t arrival_ok = 0;
  std::size_t departure_ok = 0;
  std::size_t zones_ok = 0;        // the truth's path (less the walk out) appears in order in the published one
  std::size_t zones_exact = 0;     // ... and nothing else: the published path equals it
  std::size_t zone_checked = 0;
  std::size_t passers = 0;
  std::size_t passers_short = 0;
  std::size_t unexplained_devices = 0;  // published devices that are nobody in the truth
  std::vector<std::string> zone_mismatches;
};

// The pseudonyms the gateway gave the published visits: their one key epoch (two hours of one day), from
// the run's key folder.
footfall::gateway::Pseudonymizer pseudonyms_of(const std::vector<json>& visits, const std::filesystem::path& key_dir) {
  using namespace footfall::gateway;
  std::set<std::uint32_t> epochs;
  for (const json& v : visits) epochs.insert(v.at("key_epoch").get<std::uint32_t>());
  REQUIRE(epochs.size() == 1);
  KeyStore store(key_dir);
  auto key = store.load(*epochs.begin());
  REQUIRE_MESSAGE(std::holds_alternative<SecretKey>(key), std::get<std::string>(key));
  return Pseudonymizer(std::get<SecretKey>(key), *epochs.begin());
}

// Published visits by device pseudonym, matched to truth visits through the key the gateway used.
Matching match(const Truth& truth, const std::vector<json>& visits, const std::filesystem::path& key_dir) {
  Matching m;
  std::map<std::string, std::vector<const json*>> by_device;
  for (const json& v : visits) by_device[v.at("device")].push_back(&v);
  footfall::gateway::Pseudonymizer pseudonyms = pseudonyms_of(visits, key_dir);
  std::set<std::string> explained;
  for (const TruthVisit& t : truth.visits) {
    ++m.truth_visits;
    const bool sure = t.strongest_heard_dbm >= kSurelyHeardDbm;
    if (sure) ++m.surely_heard;
    const auto mac = footfall::MacAddress::parse(t.mac);
    REQUIRE(mac);
    const std::string device = pseudonyms.device(*mac).hex();
    explained.insert(device);
    const auto it = by_device.find(device);
    if (it == by_device.end()) continue;
    ++m.matched;
    // A visit split by a silence longer than the probes' departure silence still spans the person's stay.
    std::int64_t arrival = INT64_MAX;
    std::int64_t departure = 0;
    std::vector<std::string> zones;
    for (const json* v : it->second) {
      arrival = std::min(arrival, ns_of(v->at("arrival")));
      departure = std::max(departure, ns_of(v->at("departure")));
      for (const json& s : v->at("strongest_zone"))
        if (zones.empty() || zones.back() != s.at("zone")) zones.push_back(s.at("zone"));
    }
    if (arrival >= t.arrival_ns - 1'000'000 && arrival <= t.arrival_ns + kEdgeToleranceNs) ++m.arrival_ok;
    if (departure <= t.departure_ns + 1'000'000 && departure >= t.departure_ns - kEdgeToleranceNs) ++m.departure_ok;
    if (t.role == "visitor" || t.role == "group_member") {
      ++m.zone_checked;
      // Walking in and out through the entrance takes seconds, less than the 60 s intervals the strongest-zone
      // path is built from and than a phone's 40-270 s between probe bursts: the entrance at either end of the
      // walk is not expected, the rooms where people stay are.
      std::vector<std::string> core = t.zones;
      if (core.size() > 1 && core.back() == core.front()) core.pop_back();
      if (core.size() > 1) core.erase(core.begin());
      std::size_t k = 0;
      for (const auto& z : zones)
        if (k < core.size() && z == core[k]) ++k;
      if (k == core.size()) ++m.zones_ok;
      if (zones == core || zones == t.zones) {
        ++m.zones_exact;
      } else {
        std::string line = "truth";
        for (const auto& z : t.zones) line += " " + z;
        line += " / published";
        for (const auto& z : zones) line += " " + z;
        m.zone_mismatches.push_back(line);
      }
    }
    if (t.role == "passer_by") {
      ++m.passers;
      const double dwell = static_cast<double>(departure - arrival) / 1e9;
      if (dwell <= kPasserMaxDwellS) ++m.passers_short;
    }
  }
  for (const auto& [device, list] : by_device)
    if (!explained.contains(device)) ++m.unexplained_devices;
  return m;
}

}  // namespace

TEST_CASE("office site end to end: visits match the truth, a one-minute broker outage loses and doubles nothing, no "
          "address leaves the site") {
  BrokerOptions bo;
  bo.persistence = true;  // a consumer with a persistent session keeps its queue across the outage
  MosquittoBroker broker(bo);
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  SubscriberOptions so;
  so.uri = broker.uri();
  so.client_id = "central-ingest-e2e";
  so.persistent_session = true;
  TestSubscriber sub(so);
  REQUIRE_MESSAGE(sub.start(), sub.error());

  // 2 h of capture replayed at 120x: the stream lasts about a minute, so the outage falls in its middle.
  SiteRun run(broker.uri(), 120.0);
  REQUIRE_MESSAGE(run.setup_error().empty(), run.setup_error());
  run.write_gateway_config("", "");
  REQUIRE_MESSAGE(run.start_gateway(), run.log_of("gateway"));
  REQUIRE(run.start_probes());

  const std::string visits_topic = std::string("footfall/v1/") + kTenant + "/" + kSite + "/visits";
  REQUIRE_MESSAGE(wait_until([&] { return sub.count(visits_topic) >= 2; }, 60s), run.log_of("gateway"));
  broker.stop(SIGTERM);
  const auto outage_end = std::chrono::steady_clock::now() + 60s;
  MESSAGE("broker stopped mid-stream for 60 s");
  // The outage is the scenario, not a wait for something: the probes keep replaying meanwhile.
  std::this_thread::sleep_until(outage_end);
  REQUIRE_MESSAGE(broker.start(), broker.log());
  CHECK_MESSAGE(run.wait_probes(120s), run.log_of("probe-entrance"));

  const json settled = wait_until_settled(sub, 90s, 1);
  REQUIRE_MESSAGE(!settled.is_null(), run.log_of("gateway"));
  CHECK(run.stop_gateway() == 0);
  const json& counters = settled["gateway"]["counters"];
  const json& drops = settled["gateway"]["drops_by_reason"];
  MESSAGE("gateway counters at the end: " << counters.dump());
  MESSAGE("drops by reason: " << drops.dump());

  const auto messages = sub.messages();
  const Delivery d = collect(messages);
  // (b) nothing lost: every batch seq from 1 up arrived; nothing doubled once deduplicated by batch_id.
  REQUIRE_FALSE(d.seqs.empty());
  CHECK(d.seqs.front() == 1);
  CHECK(d.seqs.back() == d.seqs.size());
  CHECK(d.duplicates_identical);
  const std::vector<json> visits = visits_of(d);
  std::set<std::string> visit_ids;
  for (const json& v : visits) visit_ids.insert(v.at("visit_id").get<std::string>());
  CHECK(visit_ids.size() == visits.size());
  CHECK(visits.size() == counters["site.visits_submitted"].get<std::size_t>());
  CHECK(counters["publish.connection_losses"].get<std::uint64_t>() >= 1);
  MESSAGE("batches: " << d.batches.size() << " unique, " << d.duplicates << " redelivered copies; visits: "
                      << visits.size());
  // Nothing was dropped anywhere on the way (the probes' captures are files: no capture drops either).
  for (const auto& [reason, n] : drops.items())
    CHECK_MESSAGE(reason.starts_with("probe."), "drop " << reason << " = " << n.dump());

  // (a) visits against the truth.
  const Truth truth = read_truth(run.truth_file());
  const Matching m = match(truth, visits, run.key_dir());
  MESSAGE("truth visits " << m.truth_visits << " (surely heard " << m.surely_heard << "), matched " << m.matched
                          << ", arrival within tolerance " << m.arrival_ok << ", departure " << m.departure_ok
                          << ", visitor zones in order " << m.zones_ok << "/" << m.zone_checked << " (exactly "
                          << m.zones_exact << ")" << ", passers short "
                          << m.passers_short << "/" << m.passers << ", unexplained devices " << m.unexplained_devices);
  CHECK(m.matched >= m.surely_heard);
  CHECK(m.matched <= m.truth_visits);
  CHECK(m.unexplained_devices == 0);
  CHECK(m.arrival_ok == m.matched);
  CHECK(m.departure_ok == m.matched);
  CHECK(m.passers_short == m.passers);
  for (const auto& line : m.zone_mismatches) MESSAGE("zone path differs: " << line);
  CHECK(m.zone_checked >= 10);
  CHECK(m.zones_ok == m.zone_checked);  // every visitor's rooms appear in the order walked

  // (c) no address of the input, in any spelling, in any payload or topic.
  const auto hits = find_macs(messages, truth.macs);
  CHECK_MESSAGE(hits.empty(), hits.size() << " hit(s), first: " << (hits.empty() ? "" : hits.front()));
  MESSAGE(truth.macs.size() << " addresses searched in " << messages.size() << " payloads");
}

TEST_CASE("refused broker credentials: a clear error, the data kept, delivered once the credentials are fixed") {
  BrokerOptions bo;
  bo.users = {{"gateway", "right-password"}, {"consumer", "consumer-password"}};
  MosquittoBroker broker(bo);
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  SubscriberOptions so;
  so.uri = broker.uri();
  so.client_id = "central-ingest-auth";
  so.persistent_session = true;
  so.username = "consumer";
  so.password = "consumer-password";
  TestSubscriber sub(so);
  REQUIRE_MESSAGE(sub.start(), sub.error());

  SiteRun run(broker.uri(), 0.0);
  REQUIRE_MESSAGE(run.setup_error().empty(), run.setup_error());
  run.write_gateway_config("gateway", "wrong-password");
  REQUIRE_MESSAGE(run.start_gateway(), run.log_of("gateway"));
  REQUIRE(run.start_probes());
  CHECK_MESSAGE(run.wait_probes(120s), run.log_of("probe-entrance"));  // every batch acked: held by the gateway
  // CONNACK 4 (bad user name or password) or 5 (not authorized: what mosquitto answers), named with the user.
  REQUIRE_MESSAGE(wait_until([&] {
    return run.log_of("gateway").find("broker refused the connection") != std::string::npos;
  }, 30s), run.log_of("gateway"));
  const std::string log = run.log_of("gateway");
  CHECK((log.find("bad user name or password") != std::string::npos || log.find("not authorized") != std::string::npos));
  CHECK(log.find("as user 'gateway'") != std::string::npos);
  // The site stage went on: what it produced waits in the outbox (and the rest in the journal).
  std::uintmax_t kept = 0;
  for (const auto& dir : {run.outbox_dir(), run.journal_dir()})
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir))
      if (f.is_regular_file()) kept += f.file_size();
  CHECK(kept > 64 * 1024);
  CHECK(sub.count(std::string("footfall/v1/") + kTenant + "/" + kSite + "/visits") == 0);
  CHECK(run.stop_gateway() == 0);
  // Every batch the probes sent: the second process is settled once its site stage has consumed them all.
  std::uint64_t journaled = 0;
  {
    std::ifstream in(run.journal_dir() / "health.json");
    const json health = json::parse(in, nullptr, false);
    REQUIRE(health.is_object());
    journaled = health["journal"]["last_journal_seq"].get<std::uint64_t>();
  }
  REQUIRE(journaled > 0);

  run.write_gateway_config("gateway", "right-password");
  REQUIRE_MESSAGE(run.start_gateway(), run.log_of("gateway"));
  // The first process may have stopped with visits still open (waiting for the probes' disconnection to be
  // seen): this one replays their records, then sends its outbox. The outbox also holds the first process's
  // early health reports, which look settled: hence the consumed record.
  const json settled = wait_until_settled(sub, 90s, 0, journaled);
  if (settled.is_null()) {
    const std::string tail = run.log_of("gateway");
    MESSAGE(tail.substr(tail.size() > 4000 ? tail.size() - 4000 : 0));
  }
  REQUIRE(!settled.is_null());
  CHECK(run.stop_gateway() == 0);

  const auto messages = sub.messages();
  const Delivery d = collect(messages);
  REQUIRE_FALSE(d.seqs.empty());
  CHECK(d.seqs.front() == 1);
  CHECK(d.seqs.back() == d.seqs.size());
  const std::vector<json> visits = visits_of(d);
  std::set<std::string> visit_ids;
  for (const json& v : visits) visit_ids.insert(v.at("visit_id").get<std::string>());
  CHECK(visit_ids.size() == visits.size());
  const Truth truth = read_truth(run.truth_file());
  const Matching m = match(truth, visits, run.key_dir());
  MESSAGE("after fixing the credentials: " << visits.size() << " visits, matched " << m.matched << " of "
                                           << m.truth_visits << " truth visits (surely heard " << m.surely_heard << ")");
  CHECK(m.matched >= m.surely_heard);
  CHECK(m.unexplained_devices == 0);
  const auto hits = find_macs(messages, truth.macs);
  CHECK_MESSAGE(hits.empty(), hits.size() << " hit(s), first: " << (hits.empty() ? "" : hits.front()));
}

namespace {

// One replay of the office captures, each probe at its own speed: the published visits per person.
struct SpeedRun {
  std::map<std::string, std::size_t> visits_per_address;  // truth address -> published visits
  std::size_t visits = 0;
  std::uint64_t late_events = 0;
};

SpeedRun replay_at(const std::vector<double>& speeds, const json& merge) {
  MosquittoBroker broker;
  REQUIRE_MESSAGE(broker.setup_error().empty(), broker.setup_error());
  SubscriberOptions so;
  so.uri = broker.uri();
  so.client_id = "central-ingest-speeds";
  TestSubscriber sub(so);
  REQUIRE_MESSAGE(sub.start(), sub.error());
  SiteRun run(broker.uri(), speeds);
  REQUIRE_MESSAGE(run.setup_error().empty(), run.setup_error());
  run.write_gateway_config("", "", merge);
  REQUIRE_MESSAGE(run.start_gateway(), run.log_of("gateway"));
  REQUIRE(run.start_probes());
  CHECK_MESSAGE(run.wait_probes(120s), run.log_of("probe-negotiation"));
  const json settled = wait_until_settled(sub, 90s, 1);
  REQUIRE_MESSAGE(!settled.is_null(), run.log_of("gateway"));
  CHECK(run.stop_gateway() == 0);

  const std::vector<json> visits = visits_of(collect(sub.messages()));
  const Truth truth = read_truth(run.truth_file());
  std::map<std::string, std::size_t> by_device;
  for (const json& v : visits) ++by_device[v.at("device").get<std::string>()];
  footfall::gateway::Pseudonymizer pseudonyms = pseudonyms_of(visits, run.key_dir());
  SpeedRun out;
  out.visits = visits.size();
  out.late_events = settled["gateway"]["counters"].value("merge.late_events", std::uint64_t{0});
  for (const TruthVisit& t : truth.visits) {
    const auto it = by_device.find(pseudonyms.device(*footfall::MacAddress::parse(t.mac)).hex());
    out.visits_per_address[t.mac] = it == by_device.end() ? 0 : it->second;
  }
  return out;
}

std::size_t differences(const SpeedRun& a, const SpeedRun& b) {
  std::size_t n = 0;
  for (const auto& [mac, count] : a.visits_per_address) {
    const auto it = b.visits_per_address.find(mac);
    if (it == b.visits_per_address.end() || it->second != count) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("probes replaying at very different speeds: the site clock waits for the slowest, no visit splits") {
  // The entrance's stream runs far ahead of the rooms' (at its end, an hour of site time ahead of the
  // negotiation room's), as when probes drain their backlogs at different speeds after an outage.
  const std::vector<double> uneven = {360.0, 240.0, 200.0};
  const SpeedRun reference = replay_at({240.0, 240.0, 240.0}, json::object());
  const SpeedRun waited = replay_at(uneven, json::object());
  const SpeedRun unwaited = replay_at(uneven, json{{"max_probe_lag_s", 0}});
  MESSAGE("visits published: " << reference.visits << " at even speeds, " << waited.visits << " uneven, "
                               << unwaited.visits << " uneven without waiting; people whose visit count differs "
                               << "from the even run: " << differences(reference, waited) << " waited, "
                               << differences(reference, unwaited) << " without; late events "
                               << reference.late_events << ", " << waited.late_events << ", " << unwaited.late_events);
  CHECK(reference.visits > 0);
  // Not exactly equal: when each probe's first and last records come relative to the gateway asking who is
  // behind (every 0.5 s) moves a person's visit count now and then, also between two even runs.
  CHECK(differences(reference, waited) <= 2);
  CHECK(waited.visits <= reference.visits + 2);
  CHECK(waited.visits + 2 >= reference.visits);
  // The same run with a clock that waits for nobody (the newest event of any probe) splits visits: what the
  // comparison above would catch.
  CHECK(unwaited.visits > reference.visits);
  CHECK(unwaited.late_events > waited.late_events);
}
