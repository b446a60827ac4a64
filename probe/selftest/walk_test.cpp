#include "probe/selftest/walk_test.h"

#include <algorithm>
#include <cstdio>

#include "probe/selftest/checks.h"

namespace footfall::probe::selftest {

namespace {
constexpr int kSpreadWarningDb = 25;  // wider than this between p10 and p90: the walk or the placement is off
}

bool WalkTest::add(const Sighting& s) {
  if (s.mac != phone_ || s.kind == SightingKind::ble_adv) return false;
  ++frames_;
  if (first_ns_ == 0) first_ns_ = s.ts_ns;
  last_ns_ = std::max(last_ns_, s.ts_ns);
  if (s.has_rssi) {
    ++with_signal_;
    ++counts_[static_cast<std::size_t>(s.rssi_dbm + 128)];
  }
  if (per_freq_.size() < 64 || per_freq_.contains(s.freq_mhz)) ++per_freq_[s.freq_mhz];
  return true;
}

int WalkTest::percentile(int p) const {
  if (with_signal_ == 0) return 0;
  // Nearest rank: the smallest value with at least ceil(p/100 * n) values at or below it.
  const std::uint64_t rank = std::max<std::uint64_t>(1, (with_signal_ * static_cast<std::uint64_t>(p) + 99) / 100);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return static_cast<int>(i) - 128;
  }
  return 127;
}

WalkStats WalkTest::stats() const {
  WalkStats s;
  s.frames = frames_;
  s.with_signal = with_signal_;
  s.per_freq = per_freq_;
  s.first_ns = first_ns_;
  s.last_ns = last_ns_;
  if (with_signal_ > 0) {
    s.min_dbm = percentile(0);
    s.p10_dbm = percentile(10);
    s.median_dbm = percentile(50);
    s.p90_dbm = percentile(90);
    s.max_dbm = percentile(100);
  }
  return s;
}

std::string WalkTest::histogram(int bin_db, int width) const {
  if (with_signal_ == 0) return "  (no frames with a signal)\n";
  bin_db = std::max(1, bin_db);
  const int lo = percentile(0);
  const int hi = percentile(100);
  // Bins aligned on multiples of bin_db, so two walks print comparable rows.
  const int first = lo >= 0 ? lo / bin_db * bin_db : -((-lo + bin_db - 1) / bin_db) * bin_db;
  std::uint64_t tallest = 0;
  std::vector<std::uint64_t> bins;
  for (int b = first; b <= hi; b += bin_db) {
    std::uint64_t n = 0;
    for (int v = b; v < b + bin_db && v <= 127; ++v) n += counts_[static_cast<std::size_t>(v + 128)];
    bins.push_back(n);
    tallest = std::max(tallest, n);
  }
  std::string out;
  for (std::size_t i = bins.size(); i-- > 0;) {  // strongest first, as a signal meter reads
    const int b = first + static_cast<int>(i) * bin_db;
    const auto bar = static_cast<std::size_t>((bins[i] * static_cast<std::uint64_t>(width) + tallest - 1) / tallest);
    char label[48];
    std::snprintf(label, sizeof label, "  %4d..%4d dBm %6llu |", b, b + bin_db - 1,
                  static_cast<unsigned long long>(bins[i]));
    out += label + std::string(bar, '#') + "\n";
  }
  return out;
}

std::optional<ThresholdProposal> WalkTest::propose(const ThresholdRule& rule) const {
  if (with_signal_ < std::max<std::uint64_t>(rule.min_frames, 1)) return std::nullopt;
  const int p = std::clamp(rule.percentile, 1, 50);
  ThresholdProposal proposal;
  const int at = percentile(p);
  proposal.threshold_dbm = std::clamp(at - rule.margin_db, -128, 0);
  proposal.rule = "p" + std::to_string(p) + " of the " + std::to_string(with_signal_) +
                  " walk-line signals (nearest rank) = " + std::to_string(at) + " dBm" +
                  (rule.margin_db != 0 ? ", minus a margin of " + std::to_string(rule.margin_db) + " dB" : "") + ": " +
                  std::to_string(100 - p) + " % of the phone's frames on the line were at least this strong";
  const int spread = percentile(90) - percentile(10);
  if (spread > kSpreadWarningDb)
    proposal.warning = "the signal spread over " + std::to_string(spread) +
                       " dB (p10 to p90): walk the line again slowly, and check nothing blocks the probe";
  return proposal;
}

std::string config_line(int threshold_dbm) {
  return "\"presence\": {\"signal_floor_dbm\": " + std::to_string(threshold_dbm) + "}";
}

}  // namespace footfall::probe::selftest
