#pragma once
// What the site stage's thread runs: SitePipeline in the gateway, a stand-in in tests.
#include <cstdint>

namespace footfall::gateway {

class SiteStage {
 public:
  SiteStage() = default;
  virtual ~SiteStage() = default;
  SiteStage(const SiteStage&) = delete;
  SiteStage& operator=(const SiteStage&) = delete;

  // One round at gateway time now_ns. True when it read records (call again at once); false when idle.
  virtual bool step(std::int64_t now_ns) = 0;
  // Shutdown: what it holds is made durable; called once, after the last step().
  virtual void finish(std::int64_t now_ns) = 0;
};

}  // namespace footfall::gateway
