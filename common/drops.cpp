#include "common/drops.h"

namespace footfall::drops {

void DropCounts::add(const Drop& drop, std::uint64_t n) {
  if (n == 0) return;
  Tally& t = counts_[{drop.stage, drop.reason}];
  t.n += n;
  t.intentional = drop.intentional;
}

void DropCounts::add(const DropCounts& other) {
  for (const auto& [key, t] : other.counts_) add({key.first, key.second, t.intentional}, t.n);
}

std::uint64_t DropCounts::total() const {
  std::uint64_t n = 0;
  for (const auto& [key, t] : counts_) n += t.n;
  return n;
}

std::uint64_t DropCounts::errors() const {
  std::uint64_t n = 0;
  for (const auto& [key, t] : counts_)
    if (!t.intentional) n += t.n;
  return n;
}

std::uint64_t DropCounts::count(std::string_view stage, std::string_view reason) const {
  const auto it = counts_.find(std::pair<std::string, std::string>(stage, reason));
  return it == counts_.end() ? 0 : it->second.n;
}

std::map<std::string, std::uint64_t> DropCounts::by_reason() const {
  std::map<std::string, std::uint64_t> out;
  for (const auto& [key, t] : counts_) out[key.first + "." + key.second] += t.n;
  return out;
}

}  // namespace footfall::drops
