#include "gateway/anonymize/pseudonymizer.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <algorithm>
#include <stdexcept>

namespace footfall::gateway {
namespace {
constexpr std::array<std::uint8_t, 4> mac_prefix{'m', 'a', 'c', ':'};
constexpr std::array<std::uint8_t, 3> fp_prefix{'f', 'p', ':'};
constexpr std::array<std::uint8_t, 6> visit_prefix{'v', 'i', 's', 'i', 't', ':'};
constexpr char hex_digits[] = "0123456789abcdef";
}  // namespace

HmacSha256::HmacSha256(std::span<const std::uint8_t> key)
    : mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)) {
  if (!mac_) throw std::runtime_error("OpenSSL: HMAC is not available");
  ctx_.reset(EVP_MAC_CTX_new(mac_.get()));
  if (!ctx_) throw std::runtime_error("OpenSSL: EVP_MAC_CTX_new failed");
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx_.get(), key.data(), key.size(), params) != 1)
    throw std::runtime_error("OpenSSL: HMAC-SHA-256 key setup failed");
}

bool HmacSha256::digest(std::span<const std::uint8_t> message, Digest& out) { return digest({}, message, out); }

bool HmacSha256::digest(std::span<const std::uint8_t> prefix, std::span<const std::uint8_t> value, Digest& out) {
  std::size_t written = 0;
  // A null key re-initialises the context with the key it already holds: no re-keying per message.
  const bool ok = EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) == 1 &&
                  (prefix.empty() || EVP_MAC_update(ctx_.get(), prefix.data(), prefix.size()) == 1) &&
                  (value.empty() || EVP_MAC_update(ctx_.get(), value.data(), value.size()) == 1) &&
                  EVP_MAC_final(ctx_.get(), out.data(), &written, out.size()) == 1 && written == out.size();
  if (!ok) out.fill(0);
  return ok;
}

std::string DevicePseudonym::hex() const {
  std::string s(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    s[2 * i] = hex_digits[bytes[i] >> 4];
    s[2 * i + 1] = hex_digits[bytes[i] & 0x0f];
  }
  return s;
}

std::string hex64(std::uint64_t v) {
  std::string s(16, '0');
  for (std::size_t i = 0; i < 16; ++i) s[15 - i] = hex_digits[(v >> (4 * i)) & 0x0f];
  return s;
}

Pseudonymizer::Pseudonymizer(const SecretKey& key, std::uint32_t epoch, std::size_t cache_capacity)
    : hmac_(key.bytes()), epoch_(epoch), cache_capacity_(std::max<std::size_t>(cache_capacity, 1)) {}

DevicePseudonym Pseudonymizer::device(const MacAddress& mac) {
  if (const auto it = devices_.find(mac.as_u64()); it != devices_.end()) {
    ++cache_.hits;
    return it->second;
  }
  ++cache_.misses;
  const std::uint64_t before = failures_;
  const DevicePseudonym p = compute_device(mac);
  if (failures_ != before) return p;  // never cache a failed (all-zero) result
  if (devices_.size() >= cache_capacity_) {
    devices_.clear();
    ++cache_.clears;
  }
  devices_.emplace(mac.as_u64(), p);
  return p;
}

std::uint64_t Pseudonymizer::fingerprint(std::uint64_t fingerprint) {
  if (fingerprint == 0) return 0;
  if (const auto it = fingerprints_.find(fingerprint); it != fingerprints_.end()) {
    ++cache_.hits;
    return it->second;
  }
  ++cache_.misses;
  const std::uint64_t before = failures_;
  const std::uint64_t p = compute_fingerprint(fingerprint);
  if (failures_ != before) return p;
  if (fingerprints_.size() >= cache_capacity_) {
    fingerprints_.clear();
    ++cache_.clears;
  }
  fingerprints_.emplace(fingerprint, p);
  return p;
}

DevicePseudonym Pseudonymizer::compute_device(const MacAddress& mac) {
  HmacSha256::Digest d;
  if (!hmac_.digest(mac_prefix, mac.octets, d)) ++failures_;
  DevicePseudonym p;
  std::copy_n(d.begin(), p.bytes.size(), p.bytes.begin());
  OPENSSL_cleanse(d.data(), d.size());
  return p;
}

std::uint64_t Pseudonymizer::compute_fingerprint(std::uint64_t fingerprint) {
  std::array<std::uint8_t, 8> be{};
  for (std::size_t i = 0; i < 8; ++i) be[i] = static_cast<std::uint8_t>(fingerprint >> (56 - 8 * i));
  HmacSha256::Digest d;
  if (!hmac_.digest(fp_prefix, be, d)) ++failures_;
  std::uint64_t out = 0;
  for (std::size_t i = 0; i < 8; ++i) out = (out << 8) | d[i];
  return out == 0 ? 1 : out;  // 0 is reserved for "none"
}

DevicePseudonym Pseudonymizer::visit_id(std::string_view site, const MacAddress& mac, std::int64_t arrival_ns,
                                        bool ble) {
  // site (at most a topic level, 64 bytes) || 0 || address || arrival || radio: no two inputs share bytes.
  std::array<std::uint8_t, 64 + 1 + 6 + 8 + 1> message{};
  const std::size_t site_len = std::min<std::size_t>(site.size(), 64);
  std::copy_n(site.begin(), site_len, message.begin());
  std::size_t n = site_len + 1;
  std::copy(mac.octets.begin(), mac.octets.end(), message.begin() + static_cast<std::ptrdiff_t>(n));
  n += mac.octets.size();
  const auto arrival = static_cast<std::uint64_t>(arrival_ns);
  for (std::size_t i = 0; i < 8; ++i) message[n++] = static_cast<std::uint8_t>(arrival >> (56 - 8 * i));
  message[n++] = ble ? 1 : 0;
  HmacSha256::Digest d;
  if (!hmac_.digest(visit_prefix, std::span<const std::uint8_t>(message.data(), n), d)) ++failures_;
  DevicePseudonym p;
  std::copy_n(d.begin(), p.bytes.size(), p.bytes.begin());
  OPENSSL_cleanse(d.data(), d.size());
  OPENSSL_cleanse(message.data(), message.size());
  return p;
}

}  // namespace footfall::gateway
