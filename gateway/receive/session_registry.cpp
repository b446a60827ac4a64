#include "gateway/receive/session_registry.h"

#include "gateway/receive/probe_session.h"

namespace footfall::gateway {

void SessionRegistry::add(std::shared_ptr<ProbeSession> session) {
  ProbeSession* key = session.get();
  sessions_.emplace(key, std::move(session));
  ReceiveCounters::bump(counters_.connections_accepted);
  counters_.connections_open.store(sessions_.size(), std::memory_order_relaxed);
}

std::shared_ptr<ProbeSession> SessionRegistry::bind(const std::string& probe_id, ProbeSession& session) {
  auto& slot = by_probe_[probe_id];
  auto old = slot.lock();
  slot = session.weak_from_this();
  if (old && old.get() != &session) return old;
  return nullptr;
}

bool SessionRegistry::remove(ProbeSession& session) {
  bool current = false;
  if (!session.probe_id().empty()) {
    auto it = by_probe_.find(session.probe_id());
    if (it != by_probe_.end() && it->second.lock().get() == &session) {
      by_probe_.erase(it);
      current = true;
    }
  }
  sessions_.erase(&session);
  counters_.connections_open.store(sessions_.size(), std::memory_order_relaxed);
  return current;
}

std::vector<std::pair<std::string, std::shared_ptr<ProbeSession>>> SessionRegistry::by_probe() const {
  std::vector<std::pair<std::string, std::shared_ptr<ProbeSession>>> out;
  for (const auto& [id, weak] : by_probe_) {
    auto session = weak.lock();
    if (session && !session->closed()) out.emplace_back(id, std::move(session));
  }
  return out;
}

std::vector<std::shared_ptr<ProbeSession>> SessionRegistry::all() const {
  std::vector<std::shared_ptr<ProbeSession>> out;
  out.reserve(sessions_.size());
  for (const auto& [ptr, s] : sessions_) out.push_back(s);
  return out;
}

}  // namespace footfall::gateway
