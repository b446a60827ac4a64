#include "gateway/site/site_thread.h"

namespace footfall::gateway {

SiteThread::SiteThread(std::unique_ptr<SiteStage> stage, SitePipelineConfig config, Open open,
                       std::function<void()> on_finished, Clock clock)
    : stage_(std::move(stage)),
      config_(std::move(config)),
      open_(std::move(open)),
      on_finished_(std::move(on_finished)),
      clock_(std::move(clock)),
      thread_([this] { run(); }) {}

SiteThread::~SiteThread() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void SiteThread::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

void SiteThread::reopen(SitePipelineConfig config, std::function<void(Reopened, const std::string&)> done) {
  {
    std::lock_guard lock(mutex_);
    reopen_.emplace(Reopen{std::move(config), std::move(done)});
  }
  wake_.notify_all();
}

void SiteThread::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_ && stage_) {
    if (reopen_) {
      Reopen r = std::move(*reopen_);
      reopen_.reset();
      lock.unlock();
      swap(std::move(r));
      lock.lock();
      continue;
    }
    lock.unlock();
    const bool busy = stage_->step(clock_());
    lock.lock();
    if (!busy) wake_.wait_for(lock, kIdlePause, [this] { return stopping_ || reopen_.has_value(); });
  }
  lock.unlock();
  if (stage_) stage_->finish(clock_());
  on_finished_();
}

void SiteThread::swap(Reopen r) {
  stage_->finish(clock_());
  stage_.reset();
  auto opened = open_(r.config);
  if (opened.stage) {
    stage_ = std::move(opened.stage);
    config_ = std::move(r.config);
    r.done(Reopened::with_new_config, {});
    return;
  }
  const std::string error = opened.error;
  auto again = open_(config_);
  stage_ = std::move(again.stage);
  r.done(stage_ ? Reopened::with_old_config : Reopened::not_at_all, stage_ ? error : error + "; " + again.error);
}

}  // namespace footfall::gateway
