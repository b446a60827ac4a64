#include "gateway/anonymize/secret_key.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace footfall::gateway {

SecretKey::SecretKey(std::span<const std::uint8_t, size> bytes) { std::copy(bytes.begin(), bytes.end(), bytes_.begin()); }

SecretKey::~SecretKey() { wipe(); }

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) { other.wipe(); }

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    other.wipe();
  }
  return *this;
}

void SecretKey::wipe() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

}  // namespace footfall::gateway
