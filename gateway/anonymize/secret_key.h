#pragma once
// A tenant's pseudonymisation key for one epoch: 32 random bytes that never leave memory unwiped.
#include <array>
#include <cstdint>
#include <span>

namespace footfall::gateway {

class SecretKey {
 public:
  static constexpr std::size_t size = 32;

  SecretKey() = default;
  explicit SecretKey(std::span<const std::uint8_t, size> bytes);
  ~SecretKey();
  // Move-only, and a move wipes the source: one live copy per key.
  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;

  [[nodiscard]] std::span<const std::uint8_t, size> bytes() const { return bytes_; }
  [[nodiscard]] std::span<std::uint8_t, size> writable() { return bytes_; }
  // Overwrites the bytes with zeros in a way the compiler may not elide (OPENSSL_cleanse).
  void wipe();

 private:
  std::array<std::uint8_t, size> bytes_{};
};

}  // namespace footfall::gateway
