#pragma once
// Which sites this instance publishes. Several aggregator instances share one PostgreSQL store; each site's
// retained metrics and alerts must come from exactly one of them at a time, else two instances would
// overwrite each other's retained figures. SiteLeases says which sites are this instance's:
//  * EverySite: one instance (SQLite): all of them;
//  * PostgresLeases: a PostgreSQL session-level advisory lock per site, taken on a connection of its own.
//    Each instance holds an even share (sites / live publishers, rounded up) and gives back what is above it,
//    so a new instance gets its share and a dead one's sites are taken over at the next refresh: the server
//    ends a dead instance's session (its socket closes with the process), and with it the locks.
#include <cstdint>
#include <set>
#include <string>

#include "aggregator/store/pg_handle.h"
#include "aggregator/store/site_store.h"
#include "common/repeated_log.h"

namespace footfall::aggregator {

struct LeaseCounters {
  std::uint64_t taken = 0;     // site leases won
  std::uint64_t given_back = 0;  // released because this instance held more than its share
  std::uint64_t lost = 0;      // lost with the connection (server restarted, network)
  std::uint64_t errors = 0;
};

class SiteLeases {
 public:
  virtual ~SiteLeases() = default;
  // Brings the held set up to date (takes, gives back). Never throws: a failure holds nothing until the next.
  virtual void refresh() = 0;
  [[nodiscard]] virtual bool holds(const SiteKey& site) const = 0;
  // This instance cannot publish (its broker is away): lets the others take its sites until it can again.
  virtual void give_up() = 0;
};

class EverySite final : public SiteLeases {
 public:
  void refresh() override {}
  [[nodiscard]] bool holds(const SiteKey&) const override { return true; }
  void give_up() override {}
};

class PostgresLeases final : public SiteLeases {
 public:
  explicit PostgresLeases(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  void refresh() override;
  [[nodiscard]] bool holds(const SiteKey& site) const override { return held_.contains(site); }
  void give_up() override;
  [[nodiscard]] const std::set<SiteKey>& held() const { return held_; }
  [[nodiscard]] const LeaseCounters& counters() const { return counters_; }
  // Live publishers seen at the last refresh (this one included).
  [[nodiscard]] std::int64_t publishers() const { return publishers_; }

 private:
  void refresh_once();

  std::string conninfo_;
  pg::ConnHandle conn_;
  std::set<SiteKey> held_;
  std::int64_t publishers_ = 0;
  LeaseCounters counters_;
  RepeatedLog failed_log_{spdlog::level::warn};
};

}  // namespace footfall::aggregator
