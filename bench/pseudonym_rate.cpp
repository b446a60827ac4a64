// Device pseudonyms per second: our reused EVP_MAC context against OpenSSL's one-shot HMAC(), which
// sets up a context per call, over the same 1,000,000 addresses in the same run.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "gateway/anonymize/pseudonymizer.h"

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }
}  // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  std::array<std::uint8_t, 32> raw{};
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) return 1;
  const footfall::gateway::SecretKey key(raw);

  std::vector<footfall::MacAddress> macs(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t v = 0x3c22fb000000ULL + i * 2654435761ULL;
    for (std::size_t b = 0; b < 6; ++b) macs[i].octets[b] = static_cast<std::uint8_t>(v >> (40 - 8 * b));
  }

  footfall::gateway::Pseudonymizer ours(key, 0);
  std::uint64_t sink = 0;
  auto start = Clock::now();
  for (const auto& m : macs) sink += ours.device(m).bytes[0];
  const double ours_s = seconds_since(start);

  std::uint64_t peer_sink = 0;
  std::array<std::uint8_t, 10> message{'m', 'a', 'c', ':'};
  std::array<std::uint8_t, 32> out{};
  start = Clock::now();
  for (const auto& m : macs) {
    std::memcpy(message.data() + 4, m.octets.data(), 6);
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.bytes().data(), static_cast<int>(key.bytes().size()), message.data(), message.size(),
         out.data(), &len);
    peer_sink += out[0];
  }
  const double peer_s = seconds_since(start);

  std::printf("addresses                  %zu\n", count);
  std::printf("Pseudonymizer::device      %.3f s  %.0f pseudonyms/s  (%.0f ns each)\n", ours_s, static_cast<double>(count) / ours_s,
              1e9 * ours_s / static_cast<double>(count));
  std::printf("peer one-shot HMAC()       %.3f s  %.0f pseudonyms/s  (%.0f ns each)\n", peer_s, static_cast<double>(count) / peer_s,
              1e9 * peer_s / static_cast<double>(count));
  std::printf("same outputs               %s\n", sink == peer_sink ? "yes" : "NO");
  std::printf("OpenSSL failures           %llu\n", static_cast<unsigned long long>(ours.failures()));
  return sink == peer_sink && ours.failures() == 0 ? 0 : 1;
}
