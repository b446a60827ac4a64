#pragma once
// The ground truth beside the captures: truth.json (site, devices, visits, totals) and, on request,
// truth-frames.tsv with one line per captured frame for exact checks.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>

#include "common/mac_address.h"
#include "tools/sim/simulation.h"

namespace footfall::sim {

// Version of the truth layout; bumped when a field changes meaning.
inline constexpr const char* kTruthFormat = "footfall-sim-truth/1";

void write_truth(const std::filesystem::path& path, const SimConfig& config, const SimResult& result);

// truth-frames.tsv: probe, ts_ns, kind, sa, seq, rssi; in the order the frames were captured.
class FrameLog {
 public:
  explicit FrameLog(const std::filesystem::path& path);
  void add(int probe_id, std::int64_t ts_ns, std::string_view kind, const MacAddress& sa, unsigned seq, int rssi);
  void close();

 private:
  struct FileClose {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, FileClose> file_;
};

}  // namespace footfall::sim
