#pragma once
// One log line that can repeat per record, event or connection (a full disk, a refused peer, a malformed
// payload): the first occurrence is written, then at most one per interval, carrying how many were held back
// ("... (repeated 10587 times in the last 10 s)"). Only the log is thinned: the callers' counters count every
// occurrence. RepeatLimit decides and reads no clock (tests pass the time); RepeatedLog writes through spdlog.
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace footfall {

class RepeatLimit {
 public:
  struct Verdict {
    bool write = false;
    std::uint64_t held_back = 0;  // occurrences not written since the last written one
    std::int64_t over_ns = 0;     // since the last written one
  };

  explicit RepeatLimit(std::chrono::nanoseconds interval) : interval_ns_(interval.count()) {}

  // One occurrence at now_ns (steady nanoseconds).
  Verdict occur(std::int64_t now_ns) {
    ++total_;
    if (written_ && now_ns - last_written_ns_ < interval_ns_) {
      ++held_back_;
      return {};
    }
    Verdict v{true, held_back_, written_ ? now_ns - last_written_ns_ : 0};
    written_ = true;
    last_written_ns_ = now_ns;
    held_back_ = 0;
    return v;
  }

  // The occurrences held back so far, to be written now as a summary (nullopt when there are none).
  std::optional<Verdict> take_held_back(std::int64_t now_ns) {
    if (held_back_ == 0) return std::nullopt;
    Verdict v{true, held_back_, now_ns - last_written_ns_};
    last_written_ns_ = now_ns;
    held_back_ = 0;
    return v;
  }

  [[nodiscard]] std::uint64_t total() const { return total_; }
  [[nodiscard]] std::uint64_t held_back() const { return held_back_; }

 private:
  std::int64_t interval_ns_;
  std::int64_t last_written_ns_ = 0;
  bool written_ = false;
  std::uint64_t held_back_ = 0;
  std::uint64_t total_ = 0;
};

// " (repeated 10587 times in the last 10 s)", or "" when nothing was held back.
inline std::string repeat_suffix(const RepeatLimit::Verdict& v) {
  if (v.held_back == 0) return {};
  const std::string span = v.over_ns < 1'000'000'000
                               ? std::to_string((v.over_ns + 500'000) / 1'000'000) + " ms"
                               : std::to_string((v.over_ns + 500'000'000) / 1'000'000'000) + " s";
  return " (repeated " + std::to_string(v.held_back) + (v.held_back == 1 ? " time" : " times") + " in the last " +
         span + ")";
}

// A RepeatLimit in front of spdlog, for one call site; any thread. The destructor writes what is still held back.
class RepeatedLog {
 public:
  using SteadyClock = std::function<std::int64_t()>;
  static constexpr std::chrono::seconds kInterval{10};

  explicit RepeatedLog(spdlog::level::level_enum level, std::chrono::nanoseconds interval = kInterval,
                       SteadyClock clock = &clock::steady_ns)
      : level_(level), limit_(interval), clock_(std::move(clock)) {}
  ~RepeatedLog() { flush(); }
  RepeatedLog(const RepeatedLog&) = delete;
  RepeatedLog& operator=(const RepeatedLog&) = delete;

  // The message is formatted only when it is written; a held-back one costs a lock and a count.
  template <typename... Args>
  void operator()(spdlog::format_string_t<Args...> format, Args&&... args) {
    std::lock_guard lock(mutex_);
    const RepeatLimit::Verdict v = limit_.occur(clock_());
    if (!v.write) return;
    last_ = fmt::format(format, std::forward<Args>(args)...);
    spdlog::log(level_, "{}{}", last_, repeat_suffix(v));
  }

  // Writes the count of held-back occurrences now, after the text of the last written one; nothing when none.
  void flush() {
    std::lock_guard lock(mutex_);
    if (const auto v = limit_.take_held_back(clock_())) spdlog::log(level_, "{}{}", last_, repeat_suffix(*v));
  }

  [[nodiscard]] std::uint64_t total() const {
    std::lock_guard lock(mutex_);
    return limit_.total();
  }

 private:
  spdlog::level::level_enum level_;
  RepeatLimit limit_;
  SteadyClock clock_;
  mutable std::mutex mutex_;
  std::string last_;  // the text of the last written occurrence
};

}  // namespace footfall
