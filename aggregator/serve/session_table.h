#pragma once
// Signed-in sessions: a random token (the cookie's value) -> user and tenant, until it expires or the user
// signs out. Bounded: when full, the session used least recently is closed (policy "close-least-recent",
// counted). Holds no clock: the caller passes now.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "aggregator/model/site_records.h"

namespace footfall::aggregator::serve {

struct Session {
  std::string user;
  std::string tenant;
  TimeMs expires_at = 0;
  TimeMs last_used = 0;
};

class SessionTable {
 public:
  SessionTable(std::size_t max_sessions, TimeMs lifetime_ms) : max_sessions_(max_sessions), lifetime_ms_(lifetime_ms) {}

  // A new session; returns its token (64 hex digits from OpenSSL's RAND_bytes). Throws when there is no randomness.
  std::string open(const std::string& user, const std::string& tenant, TimeMs now);
  // The session of a token, when it exists and has not expired (an expired one is removed).
  std::optional<Session> find(std::string_view token, TimeMs now);
  void close(std::string_view token);
  std::uint64_t closed_full() const;

 private:
  std::size_t max_sessions_;
  TimeMs lifetime_ms_;
  mutable std::mutex mutex_;
  std::map<std::string, Session, std::less<>> sessions_;
  std::uint64_t closed_full_ = 0;
};

}  // namespace footfall::aggregator::serve
