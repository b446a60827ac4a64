#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "gateway/anonymize/keyring.h"
#include "gateway/anonymize/privacy_filter.h"
#include "tests/support/scratch.h"

using footfall::MacAddress;
using footfall::testing::TempDir;
using namespace footfall::gateway;

namespace {
constexpr std::int64_t s = 1'000'000'000;
constexpr std::int64_t day = 86'400 * s;
const MacAddress phone = *MacAddress::parse("3c:22:fb:12:34:56");

std::string error_of(const KeyResult& r) { return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : ""; }
unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
void write_file(const std::filesystem::path& p, std::string_view bytes, std::filesystem::perms perms) {
  std::ofstream(p, std::ios::binary) << bytes;
  std::filesystem::permissions(p, perms);
}
}  // namespace

TEST_CASE("key store: create writes 32 random bytes, mode 0600, never replaces; load reads them back") {
  TempDir dir;
  REQUIRE_FALSE(dir.path().empty());
  KeyStore store(dir.path());
  KeyResult made = store.create(19'700);
  REQUIRE(error_of(made).empty());
  const auto path = store.file_of(19'700);
  CHECK(path.filename() == "epoch-19700.key");
  CHECK(std::filesystem::file_size(path) == 32);
  CHECK(mode_of(path) == 0600);

  KeyResult loaded = store.load(19'700);
  REQUIRE(error_of(loaded).empty());
  const auto& a = std::get<SecretKey>(made).bytes();
  const auto& b = std::get<SecretKey>(loaded).bytes();
  CHECK(std::equal(a.begin(), a.end(), b.begin()));

  KeyResult other = store.create(19'701);
  REQUIRE(error_of(other).empty());
  const auto& c = std::get<SecretKey>(other).bytes();
  CHECK_FALSE(std::equal(a.begin(), a.end(), c.begin()));  // random per epoch, not derived

  CHECK(error_of(store.create(19'700)).find("exists already") != std::string::npos);
  CHECK(std::filesystem::file_size(path) == 32);
  CHECK(store.epochs() == std::vector<std::uint32_t>{19'700, 19'701});
}

TEST_CASE("key store: a key file that is too open or the wrong size is refused, naming the file") {
  TempDir dir;
  KeyStore store(dir.path());
  using P = std::filesystem::perms;
  write_file(store.file_of(1), std::string(32, 'k'), P::owner_read | P::owner_write | P::group_read | P::others_read);
  const std::string open_error = error_of(store.load(1));
  CHECK(open_error.find("epoch-1.key") != std::string::npos);
  CHECK(open_error.find("mode 0644") != std::string::npos);

  write_file(store.file_of(2), std::string(31, 'k'), P::owner_read | P::owner_write);
  CHECK(error_of(store.load(2)).find("31 bytes") != std::string::npos);
  CHECK(error_of(store.load(3)).find("epoch-3.key: open") != std::string::npos);
  write_file(dir.path() / "notes.txt", "x", P::owner_read);
  CHECK(store.epochs() == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("key store: a destroyed key is gone from disk and cannot be loaded") {
  TempDir dir;
  KeyStore store(dir.path());
  REQUIRE(error_of(store.create(5)).empty());
  // Keep a hard link to the inode to see that its bytes were overwritten before the unlink.
  const auto witness = dir.path() / "witness";
  std::filesystem::create_hard_link(store.file_of(5), witness);
  CHECK(store.destroy(5).empty());
  CHECK_FALSE(std::filesystem::exists(store.file_of(5)));
  CHECK(error_of(store.load(5)).find("No such file") != std::string::npos);
  std::ifstream in(witness, std::ios::binary);
  const std::string left((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(left == std::string(32, '\0'));
  CHECK(store.destroy(5).empty());  // already gone: fine
}

TEST_CASE("keyring: pseudonyms change at the epoch boundary and are shared by the sites of a tenant") {
  TempDir tenant_dir, other_tenant_dir;
  KeyStore tenant(tenant_dir.path());
  const KeySchedule daily;  // defaults: one day from 00:00 UTC
  const std::int64_t boundary = 19'701 * day;
  REQUIRE(daily.epoch_of(boundary - 1) == 19'700u);
  REQUIRE(daily.epoch_of(boundary) == 19'701u);
  REQUIRE(error_of(tenant.create(19'700)).empty());
  REQUIRE(error_of(tenant.create(19'701)).empty());

  Keyring site_a(tenant, daily);
  Keyring site_b(KeyStore(tenant_dir.path()), daily);  // another site with the same distributed key files
  Pseudonymizer* before = site_a.for_time(boundary - 1);
  Pseudonymizer* after = site_a.for_time(boundary);
  REQUIRE(before != nullptr);
  REQUIRE(after != nullptr);
  CHECK(before->epoch() == 19'700);
  CHECK(after->epoch() == 19'701);
  const DevicePseudonym p_before = before->device(phone);
  CHECK(site_a.for_time(boundary - day)->device(phone) == p_before);  // same epoch, earlier in the day
  CHECK(after->device(phone) != p_before);
  CHECK(site_b.for_time(boundary - 1)->device(phone) == p_before);
  CHECK(site_a.counters().loaded == 2);

  KeyStore other(other_tenant_dir.path());
  REQUIRE(error_of(other.create(19'700)).empty());
  Keyring other_tenant(other, daily);
  CHECK(other_tenant.for_time(boundary - 1)->device(phone) != p_before);

  // A week-long period: the same pseudonym all week, another the next week.
  KeySchedule weekly;
  weekly.period_ns = 7 * day;
  CHECK(weekly.epoch_of(boundary) == 19'701u / 7);
  CHECK(validate(KeySchedule{0, 60 * s}).find("key_period") == 0);
}

TEST_CASE("keyring: retiring destroys old keys on disk and in memory; the filter then drops, counted") {
  TempDir dir;
  KeyStore store(dir.path());
  for (std::uint32_t e = 10; e <= 12; ++e) REQUIRE(error_of(store.create(e)).empty());
  Keyring ring(store, KeySchedule{});
  REQUIRE(ring.for_epoch(10) != nullptr);
  REQUIRE(ring.for_epoch(11) != nullptr);
  CHECK(ring.retire_before(12).empty());
  CHECK(ring.counters().retired == 2);
  CHECK(store.epochs() == std::vector<std::uint32_t>{12});
  CHECK(ring.for_epoch(10) == nullptr);  // not in memory any more, and the file is gone
  CHECK(ring.last_error().find("epoch-10.key") != std::string::npos);
  CHECK(ring.for_epoch(12) != nullptr);

  PrivacyFilter filter(ring);
  Visit v;
  v.device = phone;
  v.arrival_ns = 10 * day + 3600 * s;
  CHECK_FALSE(filter.visit(v).has_value());
  CHECK(filter.counters().no_key == 1);
  v.arrival_ns = 12 * day + 3600 * s;
  CHECK(filter.visit(v).has_value());
  CHECK(filter.counters().visits_out == 1);
}

TEST_CASE("privacy filter: the published visit carries the pseudonym and epoch, not the address") {
  TempDir dir;
  KeyStore store(dir.path());
  REQUIRE(error_of(store.create(20'000)).empty());
  Keyring ring(store, KeySchedule{});
  PrivacyFilter filter(ring);

  Visit v;
  v.device = phone;
  v.arrival_ns = 20'000 * day + 10 * 3600 * s;
  v.departure_ns = v.arrival_ns + 1800 * s;
  v.dwell_s = 1800;
  v.probes = {ProbeVisit{"p1", "entrance", v.arrival_ns, v.departure_ns, 40, -80, -50, -61, 2437, 1}};
  v.zones = {"entrance"};
  v.strongest_zone = {ZoneSegment{v.arrival_ns, "entrance"}};
  v.entry_zone = v.exit_zone = "entrance";
  v.fingerprint = 0xfeedface;
  v.frames = v.frames_heard = 40;
  const auto out = filter.visit(v);
  REQUIRE(out.has_value());
  Pseudonymizer* p = ring.for_epoch(20'000);
  CHECK(out->device == p->device(phone).hex());
  CHECK(out->key_epoch == 20'000);
  CHECK(out->fingerprint == hex64(p->fingerprint(0xfeedface)));
  REQUIRE(out->probes.size() == 1);
  const footfall::gateway::publish::ProbeSighting& heard = out->probes[0];
  CHECK(heard.probe == "p1");
  CHECK(heard.zone == "entrance");
  CHECK(heard.first_seen == v.arrival_ns / 1'000'000);
  CHECK(heard.last_seen == v.departure_ns / 1'000'000);
  CHECK(heard.frames == 40);
  CHECK(heard.rssi_max == -50);
  CHECK(heard.rssi_mean == -61.0);
  CHECK(out->departure - out->arrival == 1800 * 1000);  // the dwell, in ms
  CHECK(out->device.find("3c22fb") == std::string::npos);

  SiteArrival a{1, phone, v.arrival_ns, "entrance", false};
  const auto pa = filter.arrival(a);
  REQUIRE(pa.has_value());
  CHECK(pa->device == out->device);  // the arrival and its visit match up downstream
  v.fingerprint = 0;
  CHECK(filter.visit(v)->fingerprint.empty());
}
