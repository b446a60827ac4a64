#include "aggregator/serve/session_table.h"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace footfall::aggregator::serve {

std::string SessionTable::open(const std::string& user, const std::string& tenant, TimeMs now) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kDigits[b >> 4];
    token += kDigits[b & 15];
  }
  std::lock_guard lock(mutex_);
  for (auto it = sessions_.begin(); it != sessions_.end();) it = it->second.expires_at <= now ? sessions_.erase(it) : std::next(it);
  if (sessions_.size() >= max_sessions_) {
    sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.last_used < b.second.last_used;
    }));
    ++closed_full_;
  }
  sessions_[token] = Session{user, tenant, now + lifetime_ms_, now};
  return token;
}

std::optional<Session> SessionTable::find(std::string_view token, TimeMs now) {
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(token);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires_at <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second;
}

void SessionTable::close(std::string_view token) {
  std::lock_guard lock(mutex_);
  if (const auto it = sessions_.find(token); it != sessions_.end()) sessions_.erase(it);
}

std::uint64_t SessionTable::closed_full() const {
  std::lock_guard lock(mutex_);
  return closed_full_;
}

}  // namespace footfall::aggregator::serve
