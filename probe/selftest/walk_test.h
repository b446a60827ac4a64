#pragma once
// The calibration walk test: the signal one phone produces while the installer walks the entrance line, and
// the visitor threshold (presence.signal_floor_dbm) it suggests. Sans I/O: sightings in, statistics out.
//
// The rule: the threshold is the p-th percentile (default p10, nearest rank) of the signals heard from the
// line, minus an optional margin. 90 % of the phone's frames on the line were at least that strong, and a
// phone inside, nearer the probe, is louder; frames weaker than it come from beyond the line (passers-by).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/mac_address.h"
#include "common/records.h"

namespace footfall::probe::selftest {

struct WalkStats {
  std::uint64_t frames = 0;          // frames from the phone
  std::uint64_t with_signal = 0;     // of which carried a signal value
  int min_dbm = 0, p10_dbm = 0, median_dbm = 0, p90_dbm = 0, max_dbm = 0;  // valid when with_signal > 0
  std::map<std::uint16_t, std::uint64_t> per_freq;  // frames per channel frequency (0: unknown)
  std::int64_t first_ns = 0, last_ns = 0;
};

struct ThresholdRule {
  int percentile = 10;           // 1..50
  int margin_db = 0;             // subtracted: a lower threshold counts a little beyond the line too
  std::uint64_t min_frames = 20; // fewer frames with a signal: no proposal
};

struct ThresholdProposal {
  int threshold_dbm = 0;
  std::string rule;      // the rule in words, with the figures
  std::string warning;   // when the walk looks unreliable (wide spread, one channel only), else empty
};

class WalkTest {
 public:
  explicit WalkTest(MacAddress phone) : phone_(phone) {}

  // Counts the sighting when it comes from the phone; true then.
  bool add(const Sighting& s);

  [[nodiscard]] WalkStats stats() const;
  // Signal at the nearest-rank percentile p (0 < p <= 100) of the frames with a signal; 0 when none.
  [[nodiscard]] int percentile(int p) const;
  // Text histogram, `bin_db` dB per row, bars scaled to `width` characters; one row per bin from min to max.
  [[nodiscard]] std::string histogram(int bin_db = 2, int width = 40) const;
  [[nodiscard]] std::optional<ThresholdProposal> propose(const ThresholdRule& rule) const;
  [[nodiscard]] const MacAddress& phone() const { return phone_; }

 private:
  MacAddress phone_;
  std::array<std::uint64_t, 256> counts_{};  // per dBm value, -128..127: bounded whatever the walk's length
  std::uint64_t frames_ = 0;
  std::uint64_t with_signal_ = 0;
  std::map<std::uint16_t, std::uint64_t> per_freq_;  // at most one entry per channel
  std::int64_t first_ns_ = 0, last_ns_ = 0;
};

// The probe.json line that applies a threshold.
std::string config_line(int threshold_dbm);

}  // namespace footfall::probe::selftest
