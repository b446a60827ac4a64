#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/anonymize/pseudonymizer.h"

using footfall::MacAddress;
using namespace footfall::gateway;

namespace {
std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string hex(std::span<const std::uint8_t> b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (auto v : b) {
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}
SecretKey key_of(std::uint8_t fill) {
  std::array<std::uint8_t, 32> k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(fill + i);
  return SecretKey(k);
}
// The same HMAC through OpenSSL's one-shot HMAC(), a different code path from ours.
std::string reference_hmac_hex(const SecretKey& key, std::vector<std::uint8_t> message, std::size_t keep) {
  std::array<std::uint8_t, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.bytes().data(), static_cast<int>(key.bytes().size()), message.data(), message.size(),
       out.data(), &len);
  REQUIRE(len == 32);
  return hex(std::span<const std::uint8_t>(out).first(keep));
}
const MacAddress phone = *MacAddress::parse("3c:22:fb:12:34:56");
}  // namespace

TEST_CASE("HMAC-SHA-256 known answers (RFC 4231) through HmacSha256") {
  HmacSha256::Digest d{};
  SUBCASE("test case 2: short key, prose message") {
    HmacSha256 hmac(bytes_of("Jefe"));
    REQUIRE(hmac.digest(bytes_of("what do ya want for nothing?"), d));
    CHECK(hex(d) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // The same message split into prefix and value, as the pseudonyms feed it, and the context reused.
    REQUIRE(hmac.digest(bytes_of("what do ya "), bytes_of("want for nothing?"), d));
    CHECK(hex(d) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  SUBCASE("test case 1: 20 x 0x0b, 'Hi There'") {
    const std::vector<std::uint8_t> key(20, 0x0b);
    HmacSha256 hmac(key);
    REQUIRE(hmac.digest(bytes_of("Hi There"), d));
    CHECK(hex(d) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  }
}

TEST_CASE("device pseudonym: HMAC(key, 'mac:' + 6 bytes) truncated to 16 bytes") {
  const SecretKey key = key_of(1);
  Pseudonymizer p(key, 7);
  const DevicePseudonym first = p.device(phone);
  CHECK(first.hex().size() == 32);
  CHECK(first.hex() == reference_hmac_hex(key, {'m', 'a', 'c', ':', 0x3c, 0x22, 0xfb, 0x12, 0x34, 0x56}, 16));
  CHECK(p.device(phone) == first);  // same address, same key: same pseudonym (context reused)
  CHECK(p.device(*MacAddress::parse("3c:22:fb:12:34:57")) != first);
  CHECK(p.epoch() == 7);
  CHECK(p.failures() == 0);

  Pseudonymizer same_tenant_other_site(key_of(1), 7);
  CHECK(same_tenant_other_site.device(phone) == first);
  Pseudonymizer other_tenant(key_of(2), 7);
  CHECK(other_tenant.device(phone) != first);
}

TEST_CASE("fingerprint pseudonym: HMAC(key, 'fp:' + 8 bytes big-endian) truncated to 8 bytes; 0 stays 0") {
  const SecretKey key = key_of(9);
  Pseudonymizer p(key, 1);
  const std::uint64_t fp = 0x0123456789abcdefULL;
  CHECK(hex64(p.fingerprint(fp)) ==
        reference_hmac_hex(key, {'f', 'p', ':', 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, 8));
  CHECK(p.fingerprint(0) == 0);
  CHECK(p.fingerprint(fp) != fp);
  CHECK(hex64(0x00ab) == "00000000000000ab");
}

TEST_CASE("a moved-from key is wiped") {
  SecretKey a = key_of(5);
  SecretKey b = std::move(a);
  CHECK(b.bytes()[0] == 5);
  const std::array<std::uint8_t, 32> zeros{};
  CHECK(std::equal(a.bytes().begin(), a.bytes().end(), zeros.begin()));  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("pseudonymizer: cached pseudonyms equal computed ones; the bounded cache clears when full, counted") {
  const SecretKey key = key_of(7);
  Pseudonymizer cached(key, 1, 2);
  const MacAddress a = *MacAddress::parse("da:a1:19:00:00:01");
  const MacAddress b = *MacAddress::parse("da:a1:19:00:00:02");
  const MacAddress c = *MacAddress::parse("da:a1:19:00:00:03");
  std::vector<std::uint8_t> msg{'m', 'a', 'c', ':'};
  msg.insert(msg.end(), a.octets.begin(), a.octets.end());
  const std::string expected_a = reference_hmac_hex(key, msg, 16);
  CHECK(cached.device(a).hex() == expected_a);
  CHECK(cached.device(a).hex() == expected_a);  // from the cache
  CHECK(cached.cache_counters().misses == 1);
  CHECK(cached.cache_counters().hits == 1);
  const DevicePseudonym pb = cached.device(b);
  CHECK(cached.device(c) == Pseudonymizer(key, 1).device(c));  // the third device: full, cleared first
  CHECK(cached.cache_counters().clears == 1);
  CHECK(cached.device(b) == pb);                                 // recomputed after the clear: the same
  CHECK(cached.device(a).hex() == expected_a);
  const std::uint64_t fp = cached.fingerprint(0x1122334455667788ull);
  CHECK(cached.fingerprint(0x1122334455667788ull) == fp);
  CHECK(fp == Pseudonymizer(key, 1).fingerprint(0x1122334455667788ull));
  CHECK(cached.fingerprint(0) == 0);
}
