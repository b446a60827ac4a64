#pragma once
// What the receive side reports, as one typed value: its probes, counters, reloads and journal. Made on the
// io thread (ReceiveServer::health()) and handed on as it is: to the site stage (receive_snapshot) and to
// health.json, whose JSON is made here only (to_json).
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "gateway/health/probe_health.h"
#include "gateway/journal/journal.h"
#include "gateway/receive/receive_counters.h"

namespace footfall::gateway {

struct ReceiveHealth {
  std::string tenant;
  std::string site;
  std::int64_t written_ns = 0;  // gateway wall clock when made
  std::map<std::string, ProbeHealth, std::less<>> probes;
  ReceiveCounts receive;
  ReloadCounters config;
  JournalStats journal;
  bool journal_full = false;  // batches wait in the probes' spools
};

// health.json's content.
nlohmann::json to_json(const ReceiveHealth& h);

}  // namespace footfall::gateway
