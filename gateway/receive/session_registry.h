#pragma once
// Every open probe session, and the one current session of each probe (the Asio example's
// connection_manager). Single-threaded: the io_context thread only.
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gateway/receive/receive_counters.h"

namespace footfall::gateway {

class ProbeSession;

class SessionRegistry {
 public:
  explicit SessionRegistry(ReceiveCounters& counters) : counters_(counters) {}

  // An accepted connection; counted, and kept until remove().
  void add(std::shared_ptr<ProbeSession> session);
  [[nodiscard]] std::size_t size() const { return sessions_.size(); }
  // Makes `session` its probe's current session; the one it takes over from (to be closed), if any.
  std::shared_ptr<ProbeSession> bind(const std::string& probe_id, ProbeSession& session);
  // Leaves the books (handlers in flight still hold the session). True when it was its probe's current session.
  bool remove(ProbeSession& session);
  // The current session of each probe that has one, open.
  [[nodiscard]] std::vector<std::pair<std::string, std::shared_ptr<ProbeSession>>> by_probe() const;
  // Every session, for closing them all.
  [[nodiscard]] std::vector<std::shared_ptr<ProbeSession>> all() const;

 private:
  ReceiveCounters& counters_;
  std::unordered_map<ProbeSession*, std::shared_ptr<ProbeSession>> sessions_;
  std::unordered_map<std::string, std::weak_ptr<ProbeSession>> by_probe_;
};

}  // namespace footfall::gateway
