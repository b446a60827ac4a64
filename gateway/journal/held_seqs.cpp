#include "gateway/journal/held_seqs.h"

#include <iterator>

namespace footfall::gateway {

bool HeldSeqs::contains(std::uint64_t seq) const {
  if (seq <= cumulative_) return true;
  auto it = ranges_.upper_bound(seq);
  if (it == ranges_.begin()) return false;
  --it;
  return seq <= it->second;
}

bool HeldSeqs::insert(std::uint64_t seq) {
  if (contains(seq)) return false;
  auto next = ranges_.upper_bound(seq);  // first range starting above seq
  std::uint64_t first = seq;
  std::uint64_t last = seq;
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->second + 1 == seq) {
      first = prev->first;
      ranges_.erase(prev);
    }
  }
  if (next != ranges_.end() && next->first == seq + 1) {
    last = next->second;
    ranges_.erase(next);
  }
  if (first == cumulative_ + 1) {
    cumulative_ = last;
  } else {
    ranges_.emplace(first, last);
  }
  return true;
}

std::uint64_t HeldSeqs::raise_floor(std::uint64_t through) {
  if (through <= cumulative_) return 0;
  std::uint64_t missing = through - cumulative_;
  std::uint64_t floor = through;
  while (!ranges_.empty() && ranges_.begin()->first <= floor + 1) {
    const auto [first, last] = *ranges_.begin();
    missing -= std::min(last, through) >= first ? std::min(last, through) - first + 1 : 0;
    floor = std::max(floor, last);
    ranges_.erase(ranges_.begin());
  }
  cumulative_ = floor;
  return missing;
}

bool HeldSeqs::restore(std::uint64_t cumulative, std::map<std::uint64_t, std::uint64_t> ranges) {
  std::uint64_t prev_last = cumulative;
  for (const auto& [first, last] : ranges) {
    if (first < prev_last + 2 || last < first) return false;
    prev_last = last;
  }
  cumulative_ = cumulative;
  ranges_ = std::move(ranges);
  return true;
}

wire::Ack HeldSeqs::to_ack() const {
  wire::Ack ack;
  ack.cumulative = cumulative_;
  auto it = ranges_.begin();
  if (ranges_.size() > wire::kMaxAckRanges) std::advance(it, static_cast<std::ptrdiff_t>(ranges_.size() - wire::kMaxAckRanges));
  for (; it != ranges_.end(); ++it) ack.ranges.push_back({it->first, it->second});
  return ack;
}

}  // namespace footfall::gateway
