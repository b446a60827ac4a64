#pragma once
// The site stage on its own thread; stop() ends it after finish() (outbox sealed, checkpoint, consume).
// reopen() makes it start again with another config (a reload changed the probes or their zones): the stage
// finishes what it holds and opens again, replaying the journal from its oldest unconsumed record exactly as
// after a restart, on its own thread, while the receive side goes on serving (and answering the journal feed).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "gateway/site/site_pipeline.h"
#include "gateway/site/site_stage.h"

namespace footfall::gateway {

class SiteThread {
 public:
  struct Opened {
    std::unique_ptr<SiteStage> stage;  // null on error
    std::string error;
  };
  using Open = std::function<Opened(SitePipelineConfig)>;
  using Clock = std::function<std::int64_t()>;  // gateway wall clock, ns since the Unix epoch
  enum class Reopened : std::uint8_t { with_new_config, with_old_config, not_at_all };
  static constexpr auto kIdlePause = std::chrono::milliseconds(50);  // nothing to read: look again after this

  // `stage` was opened with `config`; `on_finished` runs on the stage's thread once finish() is done.
  SiteThread(std::unique_ptr<SiteStage> stage, SitePipelineConfig config, Open open, std::function<void()> on_finished,
             Clock clock);
  ~SiteThread();
  SiteThread(const SiteThread&) = delete;
  SiteThread& operator=(const SiteThread&) = delete;

  void stop();
  // From any thread; `done` runs on the stage's thread once it runs again (or could not): with the new config,
  // with the old one (`error` says why not the new one), or not at all (`error` says why neither opened).
  void reopen(SitePipelineConfig config, std::function<void(Reopened, const std::string&)> done);

 private:
  struct Reopen {
    SitePipelineConfig config;
    std::function<void(Reopened, const std::string&)> done;
  };

  void run();
  void swap(Reopen r);

  std::unique_ptr<SiteStage> stage_;
  SitePipelineConfig config_;
  Open open_;
  std::function<void()> on_finished_;
  Clock clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<Reopen> reopen_;
  std::thread thread_;  // last: starts once everything above is ready
};

}  // namespace footfall::gateway
