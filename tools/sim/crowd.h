#pragma once
// A synthetic crowd of phones of a few models, all heard by one probe: what device linking meets at a busy
// entrance where dozens of phones of one model are present at once. Used by bench/link_cost (its cost and its
// count) and by the crowd counting test (tests/probe/commands/test_presence_crowd.cpp).
//
// `devices` phones are present at once: each leaves after an exponential stay (mean 15 min) and a new one
// takes its place. `fingerprints` models with Zipf(1) shares, each its own fingerprint; 90 % of the phones use
// random addresses that change with chance `rotate` per burst; the models of even number go on counting their
// sequence number across an address change, the others draw a new one (as the iPhone 11 captures do); bursts
// of 1-3 frames 20 ms apart every 20-60 s (per phone, +-10 % each time) on channels 1/6/11; signal per phone
// uniform in -85..-40 dBm with 4 dB noise per frame. A `warmup_s` start (every phone heard about twice)
// comes before the `seconds` of the run proper.
#include <cstdint>
#include <functional>
#include <span>

namespace footfall::sim {

struct CrowdOptions {
  std::uint32_t devices = 10'000;
  std::uint32_t fingerprints = 20;
  double rotate = 0.5;
  double seconds = 600;
  double warmup_s = 120;
  std::uint64_t seed = 1;
};

// One frame of the crowd: radiotap + 802.11 probe request, as a probe captures it.
struct CrowdFrame {
  std::int64_t ts_ns = 0;
  std::span<const std::uint8_t> record;
  std::uint32_t phone = 0;  // which phone sent it (0, 1, ... in order of first frame): the truth
  bool randomizing = false;  // the phone uses random addresses
  bool warmup = false;       // in the warm-up
};

// Phones heard: in the run proper, and in the whole capture (warm-up included); of each, those with random
// addresses.
struct CrowdTruth {
  std::uint64_t phones = 0;
  std::uint64_t random_phones = 0;
  std::uint64_t all_phones = 0;
  std::uint64_t all_random_phones = 0;
};

// Calls `frame` for every frame in time order.
CrowdTruth generate_crowd(const CrowdOptions& options, const std::function<void(const CrowdFrame&)>& frame);

}  // namespace footfall::sim
