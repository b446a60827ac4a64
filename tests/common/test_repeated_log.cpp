// The repeat limit on an injected clock: the first occurrence is written, the rest of an interval is held back
// and counted, the next written line carries the count, and flush writes what is still held back.
#include <doctest/doctest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "common/repeated_log.h"

using footfall::RepeatedLog;
using footfall::RepeatLimit;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;

// Routes the default logger into a string for the life of the object.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
    sink->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace

TEST_CASE("RepeatLimit: first, then one per interval with the count held back") {
  RepeatLimit limit(std::chrono::seconds(10));
  const auto first = limit.occur(100 * kSecond);
  CHECK(first.write);
  CHECK(first.held_back == 0);
  for (int i = 1; i <= 10587; ++i) CHECK_FALSE(limit.occur(100 * kSecond + i * 1000).write);
  CHECK(limit.held_back() == 10587);
  CHECK_FALSE(limit.occur(110 * kSecond - 1).write);  // still inside the interval
  const auto next = limit.occur(110 * kSecond);
  CHECK(next.write);
  CHECK(next.held_back == 10588);
  CHECK(next.over_ns == 10 * kSecond);
  CHECK(footfall::repeat_suffix(next) == " (repeated 10588 times in the last 10 s)");
  CHECK(limit.total() == 10590);
  CHECK_FALSE(limit.take_held_back(111 * kSecond));  // nothing held back
  CHECK_FALSE(limit.occur(112 * kSecond).write);
  const auto held = limit.take_held_back(113 * kSecond);
  REQUIRE(held);
  CHECK(held->held_back == 1);
  CHECK(footfall::repeat_suffix(*held) == " (repeated 1 time in the last 3 s)");
  CHECK(footfall::repeat_suffix({true, 407, 10'400'000}) == " (repeated 407 times in the last 10 ms)");
  // After a quiet interval the line is written at once, with nothing to report.
  const auto later = limit.occur(500 * kSecond);
  CHECK(later.write);
  CHECK(later.held_back == 0);
  CHECK(footfall::repeat_suffix(later).empty());
}

TEST_CASE("RepeatedLog: a flood of 10588 becomes a few lines, the total stays exact") {
  CapturedLog captured;
  std::int64_t now = 50 * kSecond;
  {
    RepeatedLog log(spdlog::level::err, std::chrono::seconds(10), [&] { return now; });
    for (int i = 1; i <= 10588; ++i) {
      log("capture: batch of {} records lost: spool: {}", i, "No space left on device");
      now += 20 * 1000 * 1000;  // 50 per second: 212 s in all
    }
    CHECK(log.total() == 10588);
  }  // the destructor writes what is still held back
  const auto lines = captured.lines();
  // One line per 10 s of flood, plus the first and the summary at the end.
  CHECK(lines.size() >= 20);
  CHECK(lines.size() <= 24);
  CHECK(lines.front() == "error capture: batch of 1 records lost: spool: No space left on device");
  CHECK(lines[1] == "error capture: batch of 501 records lost: spool: No space left on device (repeated 499 times in the "
                    "last 10 s)");
  // Written lines plus the counts they carry account for every occurrence.
  std::uint64_t accounted = 0;
  for (const std::string& line : lines) {
    const auto at = line.find("(repeated ");
    accounted += 1 + (at == std::string::npos ? 0 : std::stoull(line.substr(at + 10)));
  }
  CHECK(accounted == 10588 + 1);  // the closing summary repeats the text of the last written line
}
