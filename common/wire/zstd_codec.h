#pragma once
// zstd contexts owned by RAII handles and reused for every batch: a context costs hundreds of KiB
// to set up, far more than one batch takes to compress.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/wire/bad_reason.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace footfall::wire {

inline constexpr std::size_t kDefaultMaxDecompressed = 16u << 20;  // 16 MiB
inline constexpr int kDefaultCompressionLevel = 12;  // a 1-s batch is a few KiB: high levels cost little

class ZstdCompressor {
 public:
  explicit ZstdCompressor(int level = kDefaultCompressionLevel);
  // Appends one zstd frame (with its content size stated) holding `raw` to `out`. A new block is started
  // at each offset in `block_ends`, so unlike columns do not share one entropy table.
  std::optional<BadReason> compress(std::span<const std::uint8_t> raw, std::vector<std::uint8_t>& out,
                                    std::span<const std::size_t> block_ends = {});

 private:
  struct Free {
    void operator()(ZSTD_CCtx_s* c) const;
  };
  std::unique_ptr<ZSTD_CCtx_s, Free> ctx_;
  int level_;
};

class ZstdDecompressor {
 public:
  explicit ZstdDecompressor(std::size_t max_decompressed = kDefaultMaxDecompressed);
  // Replaces `out` with the content of the single zstd frame in `compressed`. Refuses frames that do not
  // state their size or state more than the cap before allocating anything, so a bomb costs nothing.
  std::optional<BadReason> decompress(std::span<const std::uint8_t> compressed, std::vector<std::uint8_t>& out);

 private:
  struct Free {
    void operator()(ZSTD_DCtx_s* c) const;
  };
  std::unique_ptr<ZSTD_DCtx_s, Free> ctx_;
  std::size_t max_;
};

}  // namespace footfall::wire
