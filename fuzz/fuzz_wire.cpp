// libFuzzer entry for the wire decoder: arbitrary bytes, fed in pieces whose sizes come from the input,
// must only ever produce good / bad(reason) / need_more. Every good message must re-encode and decode
// to itself, so the decoder never accepts what the encoder could not have produced.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "common/wire/codec.h"

using namespace footfall::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Small caps keep each run fast; the limits are exercised, not the allocator.
  static Decoder decoder({64u << 10, 1u << 20});
  static Decoder check({64u << 10, 1u << 20});
  static Encoder encoder({1, 1u << 20});
  static Message message;
  static Message again;
  static std::vector<std::uint8_t> reencoded;
  decoder.reset();
  if (size == 0) return 0;

  // The first byte picks the chunk size, so the incremental paths get split at every point.
  const std::size_t chunk = (data[0] % 32) + 1;
  std::span<const std::uint8_t> rest(data + 1, size - 1);
  while (!rest.empty()) {
    std::span<const std::uint8_t> piece = rest.first(std::min(chunk, rest.size()));
    rest = rest.subspan(piece.size());
    while (!piece.empty()) {
      const ParseResult r = decoder.parse(piece, message);
      if (r.status == ParseStatus::bad) return 0;
      if (r.consumed > piece.size()) std::abort();
      piece = piece.subspan(r.consumed);
      if (r.status == ParseStatus::need_more) {
        if (!piece.empty()) std::abort();  // need_more takes everything it was given
        break;
      }
      reencoded.clear();
      if (encoder.encode(message, reencoded)) continue;  // e.g. frame too large for this encoder's cap
      check.reset();
      const ParseResult r2 = check.parse(reencoded, again);
      if (r2.status != ParseStatus::good || r2.consumed != reencoded.size() || !(again == message)) std::abort();
    }
  }
  return 0;
}
