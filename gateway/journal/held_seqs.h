#pragma once
// The batch sequence numbers of one probe the journal holds: a cumulative point (every seq <= it) plus
// disjoint ranges above it. This is the dedup index and the source of Acks and of acked_through.
#include <cstdint>
#include <map>

#include "common/wire/messages.h"

namespace footfall::gateway {

class HeldSeqs {
 public:
  [[nodiscard]] bool contains(std::uint64_t seq) const;
  // False when already held.
  bool insert(std::uint64_t seq);
  // Counts every seq <= through as held (the probe no longer has the ones missing: dropped from its full spool);
  // returns how many were not held.
  std::uint64_t raise_floor(std::uint64_t through);

  // Replaces the contents with a saved state; false (and unchanged) when the ranges are not ascending,
  // disjoint, non-adjacent and above cumulative + 1.
  bool restore(std::uint64_t cumulative, std::map<std::uint64_t, std::uint64_t> ranges);

  [[nodiscard]] std::uint64_t cumulative() const { return cumulative_; }
  [[nodiscard]] const std::map<std::uint64_t, std::uint64_t>& ranges() const { return ranges_; }
  // An Ack for these seqs; with more ranges than the wire allows, the highest ones are kept, since the
  // probe is waiting for its newest batches.
  [[nodiscard]] wire::Ack to_ack() const;

 private:
  std::uint64_t cumulative_ = 0;
  std::map<std::uint64_t, std::uint64_t> ranges_;  // first -> last, disjoint, non-adjacent, above cumulative_ + 1
};

}  // namespace footfall::gateway
