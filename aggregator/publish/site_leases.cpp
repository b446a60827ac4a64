#include "aggregator/publish/site_leases.h"

#include <map>

#include <spdlog/spdlog.h>

namespace footfall::aggregator {

using pg::Params;

void PostgresLeases::refresh() {
  try {
    refresh_once();
  } catch (const pg::PgError& e) {
    ++counters_.errors;
    if (!held_.empty()) counters_.lost += held_.size();
    held_.clear();
    conn_.reset();  // closing the session gives back whatever it still held: no site stays locked by a zombie
    failed_log_("publish: site leases: {}", e.what());
  }
}

void PostgresLeases::give_up() {
  if (!conn_) return;
  spdlog::warn("publish: giving back {} site leases while the broker is unreachable", held_.size());
  counters_.given_back += held_.size();
  held_.clear();
  conn_.reset();  // the session ends: its publisher mark and site locks with it
}

void PostgresLeases::refresh_once() {
  if (conn_ && PQstatus(conn_.get()) != CONNECTION_OK) {
    counters_.lost += held_.size();
    held_.clear();
    conn_.reset();
  }
  if (!conn_) {
    conn_ = pg::connect(conninfo_, "footfall-aggregator-publisher");
    // Marks this session as a live publisher for the others' share; ends with the session.
    pg::exec(conn_.get(), "SELECT pg_advisory_lock($1, pg_backend_pid())", Params().add(pg::kPublisherClass));
  }
  PGconn* c = conn_.get();
  const auto sites = pg::exec(c, "SELECT s.site_key, t.tenant, s.site FROM sites s JOIN tenants t USING (tenant_key)");
  std::map<std::int64_t, SiteKey> by_key;
  for (int i = 0; i < PQntuples(sites.get()); ++i)
    by_key.emplace(pg::integer(sites, i, 0), SiteKey{std::string(pg::text(sites, i, 1)), std::string(pg::text(sites, i, 2))});
  const auto live = pg::exec(c,
                             "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = "
                             "$1::bigint::oid AND objsubid = 2 AND granted AND database = "
                             "(SELECT oid FROM pg_database WHERE datname = current_database())",
                             Params().add(pg::kPublisherClass));
  publishers_ = std::max<std::int64_t>(1, pg::integer(live, 0, 0));
  const std::int64_t share = (static_cast<std::int64_t>(by_key.size()) + publishers_ - 1) / publishers_;
  // What the server says this session holds: the truth after any reconnect.
  const auto mine = pg::exec(c,
                             "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = "
                             "$1::bigint::oid AND objsubid = 2 AND granted AND pid = pg_backend_pid() ORDER BY 1",
                             Params().add(pg::kSiteLeaseClass));
  std::vector<std::int64_t> held_keys;
  for (int i = 0; i < PQntuples(mine.get()); ++i) held_keys.push_back(pg::integer(mine, i, 0));
  while (static_cast<std::int64_t>(held_keys.size()) > share) {
    pg::exec(c, "SELECT pg_advisory_unlock($1, $2)", Params().add(pg::kSiteLeaseClass).add(held_keys.back()));
    held_keys.pop_back();
    ++counters_.given_back;
  }
  if (static_cast<std::int64_t>(held_keys.size()) < share) {
    // Free sites in random order, so that instances starting together do not all race for the same ones.
    const auto free_sites = pg::exec(
        c,
        "SELECT s.site_key FROM sites s WHERE NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' "
        "AND l.classid = $1::bigint::oid AND l.objid = s.site_key::bigint::oid AND l.objsubid = 2 AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())) ORDER BY random() "
        "LIMIT $2",
        Params().add(pg::kSiteLeaseClass).add(share - static_cast<std::int64_t>(held_keys.size())));
    for (int i = 0; i < PQntuples(free_sites.get()); ++i) {
      const std::int64_t key = pg::integer(free_sites, i, 0);
      const auto won = pg::exec(c, "SELECT pg_try_advisory_lock($1, $2)", Params().add(pg::kSiteLeaseClass).add(key));
      if (pg::boolean(won, 0, 0)) {
        held_keys.push_back(key);
        ++counters_.taken;
      }
    }
  }
  std::set<SiteKey> now_held;
  for (const std::int64_t key : held_keys)
    if (const auto it = by_key.find(key); it != by_key.end()) now_held.insert(it->second);
  if (now_held != held_)
    spdlog::info("publish: this instance publishes {} of {} sites ({} live publishers)", now_held.size(), by_key.size(),
                 publishers_);
  held_ = std::move(now_held);
}

}  // namespace footfall::aggregator
