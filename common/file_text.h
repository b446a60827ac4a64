#pragma once
// Whole small files (configs, checkpoints, keys, /proc and /sys entries) read with read(2).
// Not std::ifstream: iostreams bring libstdc++'s locale machinery into the static probe, about 0.3 MB of its
// 3 MB budget (docs/cross-builds.md, "Static probe").
#include <cstddef>
#include <filesystem>
#include <string>

namespace footfall {

struct FileText {
  std::string text;
  int error = 0;        // errno of the call that failed; 0 when the whole file was read
  bool opened = false;  // false: open(2) failed (missing file, permissions), `error` says which

  [[nodiscard]] bool ok() const { return error == 0; }
};

// Reads up to `limit` bytes; a longer file fails with EFBIG rather than filling memory.
FileText read_file(const std::filesystem::path& path, std::size_t limit = std::size_t{64} << 20);

}  // namespace footfall
