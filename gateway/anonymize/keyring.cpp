#include "gateway/anonymize/keyring.h"

#include <limits>
#include <stdexcept>

namespace footfall::gateway {

std::optional<std::uint32_t> KeySchedule::epoch_of(std::int64_t ts_ns) const {
  if (ts_ns < origin_ns) return std::nullopt;
  const std::int64_t epoch = (ts_ns - origin_ns) / period_ns;
  if (epoch > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
  return static_cast<std::uint32_t>(epoch);
}

std::string validate(const KeySchedule& schedule) {
  constexpr std::int64_t hour = 3'600'000'000'000;
  if (schedule.period_ns < hour) return "key_period: at least one hour";
  if (schedule.period_ns > 366 * 24 * hour) return "key_period: at most 366 days";
  if (schedule.origin_ns < 0) return "key_origin: must not be before the Unix epoch";
  return {};
}

namespace {
KeySchedule checked(const KeySchedule& schedule) {
  if (auto error = validate(schedule); !error.empty()) throw std::invalid_argument(error);
  return schedule;
}
}  // namespace

Keyring::Keyring(KeyStore store, KeySchedule schedule) : store_(std::move(store)), schedule_(checked(schedule)) {}

Pseudonymizer* Keyring::for_time(std::int64_t ts_ns) {
  const auto epoch = schedule_.epoch_of(ts_ns);
  if (!epoch) {
    ++counters_.missing;
    last_error_ = "time " + std::to_string(ts_ns) + " ns is outside the key schedule";
    return nullptr;
  }
  return for_epoch(*epoch);
}

Pseudonymizer* Keyring::for_epoch(std::uint32_t epoch) {
  if (auto it = loaded_.find(epoch); it != loaded_.end()) return it->second.get();
  if (missing_.contains(epoch)) {
    ++counters_.missing;
    return nullptr;
  }
  KeyResult key = store_.load(epoch);
  if (auto* error = std::get_if<std::string>(&key)) {
    ++counters_.missing;
    missing_.insert(epoch);
    last_error_ = *error;
    return nullptr;
  }
  // The EVP_MAC context keeps its own copy of the key; ours is wiped when `key` goes out of scope.
  auto p = std::make_unique<Pseudonymizer>(std::get<SecretKey>(key), epoch);
  ++counters_.loaded;
  return loaded_.emplace(epoch, std::move(p)).first->second.get();
}

std::string Keyring::retire_before(std::uint32_t epoch) {
  std::string first_error;
  for (std::uint32_t old : store_.epochs()) {
    if (old >= epoch) break;
    if (auto error = store_.destroy(old); !error.empty()) {
      if (first_error.empty()) first_error = error;
      continue;
    }
    ++counters_.retired;
  }
  // Freeing the EVP_MAC context wipes its key schedule (OpenSSL cleanses HMAC state on free).
  loaded_.erase(loaded_.begin(), loaded_.lower_bound(epoch));
  missing_.erase(missing_.begin(), missing_.lower_bound(epoch));
  return first_error;
}

}  // namespace footfall::gateway
