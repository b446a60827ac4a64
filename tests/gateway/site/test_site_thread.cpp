// SiteThread with a stand-in stage: steps until stopped, finishes once, reopens with a new config, falls back to
// the old one, or ends when neither opens. Waits are bounded (condition variables, futures), never sleeps.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/site/site_thread.h"

using namespace footfall::gateway;
using namespace std::chrono_literals;

namespace {

// What the stand-in stages did, shared with the test.
class StageLog {
 public:
  void add(std::string e) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(e));
    }
    changed_.notify_all();
  }
  void step() {
    {
      std::lock_guard lock(mutex_);
      ++steps_;
    }
    changed_.notify_all();
  }
  // True once `n` steps were taken in all (bounded wait).
  bool wait_steps(std::uint64_t n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return steps_ >= n; });
  }
  std::uint64_t steps() {
    std::lock_guard lock(mutex_);
    return steps_;
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> events_;  // "open <site>", "finish <site> @<now>"
  std::uint64_t steps_ = 0;
};

class FakeStage final : public SiteStage {
 public:
  FakeStage(StageLog& log, std::string site) : log_(log), site_(std::move(site)) {}
  bool step(std::int64_t) override {
    log_.step();
    return false;
  }
  void finish(std::int64_t now_ns) override { log_.add("finish " + site_ + " @" + std::to_string(now_ns)); }

 private:
  StageLog& log_;
  std::string site_;
};

SitePipelineConfig config_for(std::string site) {
  SitePipelineConfig c;
  c.site = std::move(site);
  return c;
}

// Opens a FakeStage named after the config's site, unless that site is listed in `refuse`.
SiteThread::Open opener(StageLog& log, std::vector<std::string> refuse) {
  return [&log, refuse = std::move(refuse)](SitePipelineConfig c) {
    for (const auto& r : refuse)
      if (c.site == r) return SiteThread::Opened{nullptr, "cannot open " + c.site};
    log.add("open " + c.site);
    return SiteThread::Opened{std::make_unique<FakeStage>(log, c.site), {}};
  };
}

using Answer = std::pair<SiteThread::Reopened, std::string>;

}  // namespace

TEST_CASE("site thread: steps until stopped, then finishes once at the clock's time and says so") {
  StageLog log;
  std::promise<void> finished;
  {
    SiteThread thread(std::make_unique<FakeStage>(log, "a"), config_for("a"), opener(log, {}),
                      [&finished] { finished.set_value(); }, [] { return std::int64_t{42}; });
    REQUIRE(log.wait_steps(2));  // an idle step is followed by another after kIdlePause
    thread.stop();
    REQUIRE(finished.get_future().wait_for(10s) == std::future_status::ready);
  }
  CHECK(log.events() == std::vector<std::string>{"finish a @42"});
}

TEST_CASE("site thread: reopen finishes the running stage, opens the new config and steps that one") {
  StageLog log;
  std::promise<Answer> answer;
  std::optional<SiteThread> thread;
  thread.emplace(std::make_unique<FakeStage>(log, "a"), config_for("a"), opener(log, {}), [] {},
                 [] { return std::int64_t{7}; });
  thread->reopen(config_for("b"), [&](SiteThread::Reopened how, const std::string& e) { answer.set_value({how, e}); });
  auto got = answer.get_future();
  REQUIRE(got.wait_for(10s) == std::future_status::ready);
  const Answer a = got.get();
  CHECK(a.first == SiteThread::Reopened::with_new_config);
  CHECK(a.second.empty());
  REQUIRE(log.wait_steps(log.steps() + 1));  // the new stage steps
  thread.reset();                            // stops and joins
  CHECK(log.events() == std::vector<std::string>{"finish a @7", "open b", "finish b @7"});
}

TEST_CASE("site thread: a config that does not open leaves the stage running with the old one, and says why") {
  StageLog log;
  std::promise<Answer> answer;
  std::optional<SiteThread> thread;
  thread.emplace(std::make_unique<FakeStage>(log, "a"), config_for("a"), opener(log, {"b"}), [] {},
                 [] { return std::int64_t{1}; });
  thread->reopen(config_for("b"), [&](SiteThread::Reopened how, const std::string& e) { answer.set_value({how, e}); });
  auto got = answer.get_future();
  REQUIRE(got.wait_for(10s) == std::future_status::ready);
  const Answer a = got.get();
  CHECK(a.first == SiteThread::Reopened::with_old_config);
  CHECK(a.second == "cannot open b");
  REQUIRE(log.wait_steps(log.steps() + 1));
  thread.reset();
  CHECK(log.events() == std::vector<std::string>{"finish a @1", "open a", "finish a @1"});
}

TEST_CASE("site thread: when neither config opens, the thread ends (on_finished) and both errors are told") {
  StageLog log;
  std::promise<Answer> answer;
  std::promise<void> finished;
  std::vector<std::string> refuse{"a", "b"};  // "a" opened before: only a reopen is refused
  SiteThread thread(std::make_unique<FakeStage>(log, "a"), config_for("a"), opener(log, refuse),
                    [&finished] { finished.set_value(); }, [] { return std::int64_t{3}; });
  thread.reopen(config_for("b"), [&](SiteThread::Reopened how, const std::string& e) { answer.set_value({how, e}); });
  auto got = answer.get_future();
  REQUIRE(got.wait_for(10s) == std::future_status::ready);
  const Answer a = got.get();
  CHECK(a.first == SiteThread::Reopened::not_at_all);
  CHECK(a.second == "cannot open b; cannot open a");
  REQUIRE(finished.get_future().wait_for(10s) == std::future_status::ready);
  CHECK(log.events() == std::vector<std::string>{"finish a @3"});
}
