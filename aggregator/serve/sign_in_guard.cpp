#include "aggregator/serve/sign_in_guard.h"

#include <algorithm>

namespace footfall::aggregator::serve {

TimeMs SignInGuard::wait_of(const std::string& key, TimeMs now) const {
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.failures == 0) return 0;
  const Entry& e = it->second;
  if (now - e.last_failure >= policy_.forget_after_ms) return 0;
  TimeMs delay = policy_.first_delay_ms;
  for (std::uint32_t i = 1; i < e.failures && delay < policy_.max_delay_ms; ++i) delay *= 2;
  delay = std::min(delay, policy_.max_delay_ms);
  return std::max<TimeMs>(0, e.last_failure + delay - now);
}

TimeMs SignInGuard::wait_ms(std::string_view account, std::string_view address, TimeMs now) {
  std::lock_guard lock(mutex_);
  const TimeMs wait = std::max(wait_of("user:" + std::string(account), now), wait_of("addr:" + std::string(address), now));
  if (wait > 0) ++counters_.refused_waiting;
  return wait;
}

void SignInGuard::note_failure(const std::string& key, TimeMs now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= policy_.max_entries) {
      const auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.last_failure < b.second.last_failure;
      });
      entries_.erase(oldest);
      ++counters_.forgotten_full;
    }
    it = entries_.emplace(key, Entry{}).first;
  }
  if (now - it->second.last_failure >= policy_.forget_after_ms) it->second.failures = 0;
  ++it->second.failures;
  it->second.last_failure = now;
}

void SignInGuard::failed(std::string_view account, std::string_view address, TimeMs now) {
  std::lock_guard lock(mutex_);
  ++counters_.failed;
  note_failure("user:" + std::string(account), now);
  note_failure("addr:" + std::string(address), now);
}

void SignInGuard::succeeded(std::string_view account, std::string_view address) {
  std::lock_guard lock(mutex_);
  ++counters_.succeeded;
  entries_.erase("user:" + std::string(account));
  entries_.erase("addr:" + std::string(address));
}

SignInCounters SignInGuard::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace footfall::aggregator::serve
