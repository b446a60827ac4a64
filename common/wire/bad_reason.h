#pragma once
// Why the wire decoder refused a frame. A peer that sends one of these is broken or hostile: the
// connection is closed and the reason counted; none of them is ever an exception.
#include <array>
#include <cstdint>
#include <string_view>

namespace footfall::wire {

#define FOOTFALL_WIRE_BAD_REASONS(X)                                                        \
  /* framing: decided from the 12 bytes of header and trailer */                            \
  X(bad_magic)                 /* stream is not this protocol, or lost sync */              \
  X(bad_version)               /* frame version outside what this decoder speaks */        \
  X(unknown_type)              /* message type not defined in this version */              \
  X(unexpected_type)           /* a known type not allowed yet (batch before hello) */     \
  X(frame_too_large)           /* header announces a body above the configured limit */    \
  X(crc_mismatch)              /* header+body do not match the CRC-32C trailer */          \
  /* message bodies */                                                                      \
  X(truncated_body)            /* body ends before its fields do */                        \
  X(trailing_bytes)            /* body continues after its last field */                   \
  X(string_too_long)           /* probe id / token / version over its limit */             \
  X(bad_value)                 /* enum, flag or field outside its defined range */         \
  X(bad_varint)                /* varint longer than 10 bytes or above 64 bits */          \
  X(bad_ack_ranges)            /* ack ranges empty, overlapping, unordered or too many */  \
  /* batch: compression */                                                                  \
  X(unknown_codec)             /* batch body codec byte not known */                       \
  X(compressed_body_invalid)   /* not a single well-formed zstd frame */                   \
  X(content_size_unknown)      /* zstd frame does not state its decompressed size */       \
  X(decompressed_too_large)    /* stated decompressed size above the configured cap */     \
  X(decompress_failed)         /* zstd refused the data or it disagreed with its header */ \
  /* batch: decompressed body */                                                            \
  X(count_too_large)           /* a table or record count cannot fit in the bytes left */  \
  X(index_out_of_range)        /* record refers past the end of a table */                 \
  /* encoder side */                                                                        \
  X(compress_failed)           /* zstd could not compress (out of memory) */

enum class BadReason : std::uint8_t {
#define FOOTFALL_X(name) name,
  FOOTFALL_WIRE_BAD_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
};

inline constexpr std::size_t kBadReasonCount = 0
#define FOOTFALL_X(name) +1
    FOOTFALL_WIRE_BAD_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
    ;

constexpr std::string_view to_string(BadReason r) {
  constexpr std::array<std::string_view, kBadReasonCount> names{
#define FOOTFALL_X(name) #name,
      FOOTFALL_WIRE_BAD_REASONS(FOOTFALL_X)
#undef FOOTFALL_X
  };
  const auto i = static_cast<std::size_t>(r);
  return i < names.size() ? names[i] : std::string_view{"unknown"};
}

}  // namespace footfall::wire
