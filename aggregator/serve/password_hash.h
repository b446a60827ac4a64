#pragma once
// Dashboard passwords: PBKDF2-HMAC-SHA256 from OpenSSL with a random salt, stored as
// "pbkdf2-sha256$<iterations>$<salt hex>$<key hex>" in aggregator.json (serve.users). Slow on purpose.
#include <cstdint>
#include <string>
#include <string_view>

namespace footfall::aggregator::serve {

// OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
inline constexpr std::uint32_t kDefaultIterations = 600'000;

// Throws std::runtime_error when OpenSSL fails (no randomness).
std::string hash_password(std::string_view password, std::uint32_t iterations = kDefaultIterations);

// False for a wrong password and for a hash that is not of the form above; compares in constant time.
bool verify_password(std::string_view password, std::string_view encoded);

}  // namespace footfall::aggregator::serve
