#pragma once
// Keyed pseudonyms for device addresses and fingerprints: HMAC-SHA-256 under the tenant's epoch key.
//
//   device      = first 16 bytes of HMAC-SHA-256(key, "mac:" || 6 address bytes)        (32 hex chars)
//   fingerprint = first 8 bytes of  HMAC-SHA-256(key, "fp:"  || 8 bytes, big-endian)     (16 hex chars)
//   visit id    = first 16 bytes of HMAC-SHA-256(key, "visit:" || site || 0x00 || 6 address bytes
//                   || arrival ns, 8 bytes big-endian || 1 if BLE else 0)                  (32 hex chars)
//
// Why 128 bits for devices: a tenant sees at most ~10^8..10^9 distinct addresses per key epoch (random
// addresses inflate the count); the chance that two collide is ~n^2 / 2^129, below 10^-20 at 10^9,
// where 64 bits would give ~3% at 10^9 and merge two visitors' records. The full 256 bits would add 32
// hex chars to every record for no gain: an address has only 48 bits to hide, and what protects it is
// the secret key, not the output length.
// Why 64 bits for fingerprints: they name device models and OS versions (thousands of distinct values,
// shared by many phones), so collisions among ~10^5 values are ~10^-10 at 64 bits; more would only
// lengthen the record. 0 means "no fingerprint" and stays 0 (an HMAC prefix of 0 is mapped to 1).
// The prefixes "mac:" and "fp:" keep the two uses apart under the same key.
//
// Hot path: one EVP_MAC context per key, keyed once and re-initialised per message (no allocation), and
// bounded caches of device and fingerprint pseudonyms, so HMAC runs once per device (and per fingerprint) per
// key epoch rather than at its arrival and again at its visit. The caches die with the Pseudonymizer, i.e.
// with its epoch key: they hold nothing the key could not recompute. Full policy: clear (counted).
// Not thread-safe: one Pseudonymizer per thread.
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/mac_address.h"
#include "gateway/anonymize/secret_key.h"

namespace footfall::gateway {

struct EvpMacFree {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct EvpMacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// HMAC-SHA-256 with a fixed key (any length), through OpenSSL 3's EVP_MAC "HMAC".
class HmacSha256 {
 public:
  using Digest = std::array<std::uint8_t, 32>;
  // Throws std::runtime_error when OpenSSL cannot provide HMAC-SHA-256 (start-up, not per message).
  explicit HmacSha256(std::span<const std::uint8_t> key);

  // False only if OpenSSL fails mid-way (it does not for HMAC once keyed); `out` is then zeroed.
  bool digest(std::span<const std::uint8_t> message, Digest& out);
  // Same, over two parts, so a prefix and a value need no joining buffer.
  bool digest(std::span<const std::uint8_t> prefix, std::span<const std::uint8_t> value, Digest& out);

 private:
  std::unique_ptr<EVP_MAC, EvpMacFree> mac_;
  std::unique_ptr<EVP_MAC_CTX, EvpMacCtxFree> ctx_;
};

struct DevicePseudonym {
  std::array<std::uint8_t, 16> bytes{};
  [[nodiscard]] std::string hex() const;  // 32 lowercase hex chars
  auto operator<=>(const DevicePseudonym&) const = default;
};

struct PseudonymCacheCounters {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t clears = 0;  // the cache was full: emptied, then refilled as devices come
};

class Pseudonymizer {
 public:
  static constexpr std::size_t kDefaultCacheCapacity = 1u << 16;  // devices; fingerprints share the bound
  Pseudonymizer(const SecretKey& key, std::uint32_t epoch, std::size_t cache_capacity = kDefaultCacheCapacity);

  [[nodiscard]] std::uint32_t epoch() const { return epoch_; }
  DevicePseudonym device(const MacAddress& mac);
  std::uint64_t fingerprint(std::uint64_t fingerprint);  // 0 stays 0
  // Deterministic per (site, device, arrival): a visit produced twice (journal replay) gets the same id.
  DevicePseudonym visit_id(std::string_view site, const MacAddress& mac, std::int64_t arrival_ns, bool ble = false);
  [[nodiscard]] std::uint64_t failures() const { return failures_; }
  [[nodiscard]] const PseudonymCacheCounters& cache_counters() const { return cache_; }

 private:
  DevicePseudonym compute_device(const MacAddress& mac);
  std::uint64_t compute_fingerprint(std::uint64_t fingerprint);

  HmacSha256 hmac_;
  std::uint32_t epoch_;
  std::uint64_t failures_ = 0;  // OpenSSL errors (pseudonym then all-zero: never a raw value)
  std::size_t cache_capacity_;
  std::unordered_map<std::uint64_t, DevicePseudonym> devices_;
  std::unordered_map<std::uint64_t, std::uint64_t> fingerprints_;
  PseudonymCacheCounters cache_;
};

std::string hex64(std::uint64_t v);  // 16 lowercase hex chars

}  // namespace footfall::gateway
