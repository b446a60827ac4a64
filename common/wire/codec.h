#pragma once
// The one encoder and the one decoder of the probe <-> gateway protocol; both ends link the same code.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/wire/bad_reason.h"
#include "common/wire/batch_body.h"
#include "common/wire/frame.h"
#include "common/wire/messages.h"
#include "common/wire/zstd_codec.h"

namespace footfall::wire {

inline constexpr std::uint8_t kBatchCodecZstd = 1;

struct EncoderOptions {
  int zstd_level = kDefaultCompressionLevel;
  std::uint32_t max_frame_body = kDefaultMaxFrameBody;  // never emit what the peer's decoder would refuse
};

class Encoder {
 public:
  explicit Encoder(EncoderOptions options = {});

  // Appends one complete frame to `out`; on failure `out` is left as it was and the reason returned.
  std::optional<BadReason> encode(const Message& message, std::vector<std::uint8_t>& out);

 private:
  std::optional<BadReason> encode_batch(const Batch& batch, std::vector<std::uint8_t>& out);

  EncoderOptions options_;
  ZstdCompressor zstd_;
  BatchBodyWriter body_writer_;
  std::vector<std::uint8_t> raw_;  // uncompressed batch body, reused
};

struct DecoderLimits {
  std::uint32_t max_frame_body = kDefaultMaxFrameBody;         // checked from the header, before buffering
  std::size_t max_decompressed = kDefaultMaxDecompressed;      // checked from the zstd header, before allocating
};

class Decoder {
 public:
  // Every message type: the gateway's decoder.
  explicit Decoder(DecoderLimits limits = {});
  // The probe's: what a gateway sends. A Batch is refused as unknown_type, so neither the zstd decompressor nor
  // the batch body reader is allocated, nor linked into a program that makes only this kind (the static probe).
  [[nodiscard]] static Decoder for_probe(DecoderLimits limits = {});
  ~Decoder();
  Decoder(Decoder&&) noexcept;
  Decoder& operator=(Decoder&&) noexcept;

  // Request-parser style: feed whatever arrived. `consumed` says how much was taken; call again with the
  // rest after `good`. On `good`, `out` holds the message (its vectors are reused when the type repeats).
  // After `bad` the stream is unusable: every later call answers bad until reset().
  ParseResult parse(std::span<const std::uint8_t> in, Message& out);
  void reset();
  // The first frame must be `type` (the gateway: a Hello): another is refused as unexpected_type from the
  // header's type byte, so nothing of its body is buffered, decompressed or parsed. Lifted by a good frame.
  void require_first(MessageType type) { frames_.require_next(type); }
  // The type byte of the last frame whose header was read (good, or refused as unexpected_type).
  [[nodiscard]] MessageType frame_type() const { return frames_.type(); }

  // The last good frame exactly as received (header to CRC), valid until the next parse().
  [[nodiscard]] std::span<const std::uint8_t> last_frame() const { return frames_.frame(); }

 private:
  struct BatchDecoding;  // decompression and body reading; reached through a virtual call only (see for_probe)
  struct ZstdBatchDecoding;

  Decoder(DecoderLimits limits, std::nullptr_t no_batches);
  std::optional<BadReason> decode_body(MessageType type, std::span<const std::uint8_t> body, Message& out);

  FrameParser frames_;
  std::unique_ptr<BatchDecoding> batches_;  // null: a Batch is unknown_type
  std::optional<BadReason> failed_;
};

}  // namespace footfall::wire
