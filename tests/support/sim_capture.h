#pragma once
// Runs footfall-sim once per test process into a temporary folder and hands out its files.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/probe_side.h"

namespace footfall::testing {

// One line of truth-frames.tsv.
struct TruthFrame {
  int probe = 0;
  std::int64_t ts_ns = 0;
  std::string kind;
  std::string sa;
  int rssi = 0;
};

class SimCapture {
 public:
  // The office scenario, one simulated hour, seed 1, with the per-frame truth.
  static const SimCapture& office_hour() {
    static const SimCapture sim;
    return sim;
  }
  [[nodiscard]] std::filesystem::path pcap(int probe) const {
    return dir_.path() / ("probe-" + std::to_string(probe) + ".pcap");
  }
  [[nodiscard]] std::vector<TruthFrame> frames(int probe) const {
    std::ifstream in(dir_.path() / "truth-frames.tsv");
    std::string line;
    std::getline(in, line);  // header: probe ts_ns kind sa seq rssi
    std::vector<TruthFrame> out;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      TruthFrame f;
      int seq = 0;
      fields >> f.probe >> f.ts_ns >> f.kind >> f.sa >> seq >> f.rssi;
      if (f.probe == probe) out.push_back(f);
    }
    return out;
  }

 private:
  SimCapture() {
    const std::string cmd = std::string(FOOTFALL_BIN_DIR) +
                            "/footfall-sim --scenario office --seed 1 --duration 1h --truth-frames --out '" +
                            dir_.path().string() + "' > /dev/null";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, cmd);
  }
  TempDir dir_;
};

}  // namespace footfall::testing
