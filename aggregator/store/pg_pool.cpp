#include "aggregator/store/pg_pool.h"

namespace footfall::aggregator::pg {

Pool::Pool(std::string conninfo, std::size_t size, std::string application_name)
    : conninfo_(std::move(conninfo)), size_(size == 0 ? 1 : size), application_name_(std::move(application_name)) {}

Pool::Lease Pool::borrow() {
  std::unique_lock lock(mutex_);
  if (idle_.empty() && open_ >= size_) {
    ++waits_;
    returned_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
  }
  if (!idle_.empty()) {
    ConnHandle c = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(c));
  }
  ++open_;
  lock.unlock();
  try {
    return Lease(*this, connect(conninfo_, application_name_.c_str()));
  } catch (...) {
    lock.lock();
    --open_;
    returned_.notify_one();
    throw;
  }
}

void Pool::give_back(ConnHandle conn) {
  std::lock_guard lock(mutex_);
  // A connection that broke, or was left inside a transaction by an exception, is not lent again.
  if (conn && PQstatus(conn.get()) == CONNECTION_OK && PQtransactionStatus(conn.get()) == PQTRANS_IDLE) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
    // One broke: the server most likely restarted, and the idle ones went with it. Lending them would make
    // the next callers fail once each; new ones are opened on demand.
    if (conn && PQstatus(conn.get()) != CONNECTION_OK) {
      open_ -= idle_.size();
      idle_.clear();
    }
  }
  returned_.notify_one();
}

std::uint64_t Pool::waits() const {
  std::lock_guard lock(mutex_);
  return waits_;
}

}  // namespace footfall::aggregator::pg
