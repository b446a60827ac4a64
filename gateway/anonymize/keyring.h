#pragma once
// Which key pseudonymises what: epochs of a fixed period since an origin, one key each, loaded on
// demand from the KeyStore and kept in memory until retired. Retiring destroys the file and wipes the
// in-memory copy, so pseudonyms of that epoch can no longer be recomputed from an address.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "gateway/anonymize/key_store.h"
#include "gateway/anonymize/pseudonymizer.h"

namespace footfall::gateway {

struct KeySchedule {
  std::int64_t origin_ns = 0;                    // the Unix epoch: periods start at 00:00 UTC
  std::int64_t period_ns = 86'400'000'000'000;   // one day (docs/privacy.md argues the default)

  // nullopt before the origin or beyond 2^32 epochs.
  [[nodiscard]] std::optional<std::uint32_t> epoch_of(std::int64_t ts_ns) const;
  [[nodiscard]] std::int64_t start_of(std::uint32_t epoch) const { return origin_ns + std::int64_t{epoch} * period_ns; }
};

// Empty when usable, else a message naming the bad key.
std::string validate(const KeySchedule& schedule);

struct KeyringCounters {
  std::uint64_t loaded = 0;
  std::uint64_t missing = 0;   // lookups for an epoch whose key is not in the store
  std::uint64_t retired = 0;
};

class Keyring {
 public:
  // Throws std::invalid_argument naming the key when validate() objects.
  Keyring(KeyStore store, KeySchedule schedule);

  [[nodiscard]] const KeySchedule& schedule() const { return schedule_; }
  [[nodiscard]] const KeyStore& store() const { return store_; }

  // The pseudonymiser of the epoch that contains ts_ns; nullptr when its key is absent (counted; the
  // reason is kept in last_error()). A missing epoch is not looked up on disk again until refresh().
  Pseudonymizer* for_time(std::int64_t ts_ns);
  Pseudonymizer* for_epoch(std::uint32_t epoch);
  // Forget which epochs were missing (after new key files were installed).
  void refresh() { missing_.clear(); }

  // Destroys the keys of every epoch before `epoch`, on disk and in memory. Empty on success, else the
  // first failure (the others are still attempted).
  std::string retire_before(std::uint32_t epoch);

  [[nodiscard]] const KeyringCounters& counters() const { return counters_; }
  [[nodiscard]] const std::string& last_error() const { return last_error_; }

 private:
  KeyStore store_;
  KeySchedule schedule_;
  std::map<std::uint32_t, std::unique_ptr<Pseudonymizer>> loaded_;
  std::set<std::uint32_t> missing_;
  KeyringCounters counters_;
  std::string last_error_;
};

}  // namespace footfall::gateway
