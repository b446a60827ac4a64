#pragma once
// A bounded pool of PostgreSQL connections shared by the threads of one aggregator (the ingest writer, the
// publisher, report and import commands). Full-policy: wait — a borrower blocks until a connection is given
// back. Connections are opened on first need; one that broke (server restarted, network) is closed when
// given back and a new one is opened for the next borrower, so a server that comes back is used again
// without a restart of the aggregator.
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "aggregator/store/pg_handle.h"

namespace footfall::aggregator::pg {

class Pool {
 public:
  Pool(std::string conninfo, std::size_t size, std::string application_name);

  class Lease {
   public:
    Lease(Pool& pool, ConnHandle conn) : pool_(&pool), conn_(std::move(conn)) {}
    ~Lease() {
      if (pool_ != nullptr) pool_->give_back(std::move(conn_));
    }
    Lease(Lease&& o) noexcept : pool_(std::exchange(o.pool_, nullptr)), conn_(std::move(o.conn_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    [[nodiscard]] PGconn* get() const { return conn_.get(); }

   private:
    Pool* pool_;
    ConnHandle conn_;
  };

  // A connection, opened if none is idle and fewer than size are open; waits while all are lent.
  // Throws PgError when a new connection cannot be opened.
  Lease borrow();
  [[nodiscard]] const std::string& conninfo() const { return conninfo_; }
  [[nodiscard]] std::size_t size() const { return size_; }
  // Times a borrower had to wait for a connection to come back.
  [[nodiscard]] std::uint64_t waits() const;

 private:
  void give_back(ConnHandle conn);

  const std::string conninfo_;
  const std::size_t size_;
  const std::string application_name_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<ConnHandle> idle_;
  std::size_t open_ = 0;  // idle + lent
  std::uint64_t waits_ = 0;
};

}  // namespace footfall::aggregator::pg
