#include "common/wire/zstd_codec.h"

#include <new>

#include <zstd.h>

namespace footfall::wire {

void ZstdCompressor::Free::operator()(ZSTD_CCtx_s* c) const { ZSTD_freeCCtx(c); }
void ZstdDecompressor::Free::operator()(ZSTD_DCtx_s* c) const { ZSTD_freeDCtx(c); }

ZstdCompressor::ZstdCompressor(int level) : ctx_(ZSTD_createCCtx()), level_(level) {
  if (!ctx_) throw std::bad_alloc();  // start-up only: a probe without memory for this cannot run
}

std::optional<BadReason> ZstdCompressor::compress(std::span<const std::uint8_t> raw, std::vector<std::uint8_t>& out,
                                                  std::span<const std::size_t> block_ends) {
  ZSTD_CCtx* ctx = ctx_.get();
  ZSTD_CCtx_reset(ctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level_);
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1);  // the receiver's cap depends on it
  ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 0);     // the frame CRC already covers it
  if (ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(ctx, raw.size()))) return BadReason::compress_failed;
  const std::size_t start = out.size();
  // Each flush may add a block header beyond the one-shot bound.
  out.resize(start + ZSTD_compressBound(raw.size()) + 16 * (block_ends.size() + 1));
  ZSTD_outBuffer dst{out.data() + start, out.size() - start, 0};
  std::size_t from = 0;
  for (std::size_t b = 0; b <= block_ends.size(); ++b) {
    const std::size_t to = b < block_ends.size() ? std::min(block_ends[b], raw.size()) : raw.size();
    if (to < from) continue;
    const bool last = b == block_ends.size();
    ZSTD_inBuffer src{raw.data() + from, to - from, 0};
    std::size_t left = 0;
    do {
      left = ZSTD_compressStream2(ctx, &dst, &src, last ? ZSTD_e_end : ZSTD_e_flush);
      if (ZSTD_isError(left) || (left != 0 && dst.pos == dst.size)) {
        out.resize(start);
        return BadReason::compress_failed;
      }
    } while (left != 0 || src.pos < src.size);
    from = to;
  }
  out.resize(start + dst.pos);
  return std::nullopt;
}

ZstdDecompressor::ZstdDecompressor(std::size_t max_decompressed) : ctx_(ZSTD_createDCtx()), max_(max_decompressed) {
  if (!ctx_) throw std::bad_alloc();  // start-up only
}

std::optional<BadReason> ZstdDecompressor::decompress(std::span<const std::uint8_t> compressed,
                                                      std::vector<std::uint8_t>& out) {
  out.clear();
  // Exactly one frame: trailing frames or junk would otherwise be decoded into a buffer sized for the first.
  const std::size_t frame_bytes = ZSTD_findFrameCompressedSize(compressed.data(), compressed.size());
  if (ZSTD_isError(frame_bytes) || frame_bytes != compressed.size()) return BadReason::compressed_body_invalid;
  const unsigned long long stated = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (stated == ZSTD_CONTENTSIZE_ERROR) return BadReason::compressed_body_invalid;
  if (stated == ZSTD_CONTENTSIZE_UNKNOWN) return BadReason::content_size_unknown;
  if (stated > max_) return BadReason::decompressed_too_large;
  out.resize(static_cast<std::size_t>(stated));
  ZSTD_DCtx_reset(ctx_.get(), ZSTD_reset_session_only);
  const std::size_t n = ZSTD_decompressDCtx(ctx_.get(), out.data(), out.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != stated) {
    out.clear();
    return BadReason::decompress_failed;
  }
  return std::nullopt;
}

}  // namespace footfall::wire
