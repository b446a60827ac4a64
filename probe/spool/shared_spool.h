#pragma once
// The spool as both probe threads see it: the capture thread appends, the uplink reads and acks. Every use
// holds the lock; none of them waits on the network.
#include <mutex>

#include "probe/spool/spool.h"

namespace footfall::probe::spool {

class SharedSpool {
 public:
  explicit SharedSpool(Spool& spool) : spool_(spool) {}
  template <typename F>
  auto with(F&& f) {
    const std::lock_guard lock(mutex_);
    return f(spool_);
  }

 private:
  std::mutex mutex_;
  Spool& spool_;
};

}  // namespace footfall::probe::spool
