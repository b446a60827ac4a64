#pragma once
// Failed sign-ins, counted and slowed: after each failure an account and an address must wait before the
// next try (the delay doubles per failure up to a cap), and a try during the wait is refused without
// checking the password. Holds no clock: the caller passes now. Bounded: when full, the entry whose last
// failure is oldest is forgotten (policy "forget-oldest", counted).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "aggregator/model/site_records.h"

namespace footfall::aggregator::serve {

struct SignInPolicy {
  std::size_t max_entries = 4096;  // accounts and addresses remembered, together
  TimeMs first_delay_ms = 1000;
  TimeMs max_delay_ms = 60'000;
  TimeMs forget_after_ms = 3'600'000;  // failures older than this no longer count
};

struct SignInCounters {
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t refused_waiting = 0;  // tries during a wait, refused unchecked
  std::uint64_t forgotten_full = 0;   // entries dropped because the table was full
};

class SignInGuard {
 public:
  explicit SignInGuard(SignInPolicy policy = {}) : policy_(policy) {}

  // How long the account and the address must still wait before a try (0: may try now). A positive
  // answer counts as a refused try.
  TimeMs wait_ms(std::string_view account, std::string_view address, TimeMs now);
  void failed(std::string_view account, std::string_view address, TimeMs now);
  void succeeded(std::string_view account, std::string_view address);
  SignInCounters counters() const;

 private:
  struct Entry {
    std::uint32_t failures = 0;
    TimeMs last_failure = 0;
  };
  TimeMs wait_of(const std::string& key, TimeMs now) const;
  void note_failure(const std::string& key, TimeMs now);

  SignInPolicy policy_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;  // "user:NAME" and "addr:ADDRESS"
  SignInCounters counters_;
};

}  // namespace footfall::aggregator::serve
