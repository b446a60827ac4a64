#include "aggregator/serve/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>
#include <vector>

namespace footfall::aggregator::serve {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kKeyBytes = 32;
constexpr std::uint32_t kMaxIterations = 100'000'000;  // a config typo must not stall sign-in for hours

std::string to_hex(const std::vector<unsigned char>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

bool from_hex(std::string_view text, std::vector<unsigned char>& out) {
  if (text.size() % 2 != 0) return false;
  out.clear();
  for (std::size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
    if (ec != std::errc() || p != text.data() + i + 2) return false;
    out.push_back(static_cast<unsigned char>(value));
  }
  return true;
}

std::vector<unsigned char> derive(std::string_view password, const std::vector<unsigned char>& salt,
                                  std::uint32_t iterations, std::size_t length) {
  std::vector<unsigned char> key(length);
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(), static_cast<int>(salt.size()),
                        static_cast<int>(iterations), EVP_sha256(), static_cast<int>(key.size()), key.data()) != 1)
    throw std::runtime_error("PKCS5_PBKDF2_HMAC failed");
  return key;
}

}  // namespace

std::string hash_password(std::string_view password, std::uint32_t iterations) {
  if (iterations == 0 || iterations > kMaxIterations) throw std::runtime_error("iterations: expected 1..100000000");
  std::vector<unsigned char> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" + to_hex(salt) + "$" +
         to_hex(derive(password, salt, iterations, kKeyBytes));
}

bool verify_password(std::string_view password, std::string_view encoded) {
  std::string_view parts[4];
  std::size_t n = 0;
  for (std::size_t start = 0; n < 4;) {
    const std::size_t end = encoded.find('$', start);
    parts[n++] = encoded.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (n != 4 || parts[0] != kScheme) return false;
  std::uint32_t iterations = 0;
  const auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || p != parts[1].data() + parts[1].size() || iterations == 0 || iterations > kMaxIterations)
    return false;
  std::vector<unsigned char> salt, want;
  // A key of another length is a damaged hash: a shorter one would accept guesses that share its prefix.
  if (!from_hex(parts[2], salt) || !from_hex(parts[3], want) || salt.empty() || want.size() != kKeyBytes) return false;
  const std::vector<unsigned char> got = derive(password, salt, iterations, want.size());
  return CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}

}  // namespace footfall::aggregator::serve
