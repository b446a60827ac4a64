#include "gateway/receive/receive_health.h"

#include <nlohmann/json.hpp>

namespace footfall::gateway {

namespace {

nlohmann::json receive_json(const ReceiveCounts& c) {
  nlohmann::json refused = nlohmann::json::object();
  for (std::size_t i = 1; i < c.hello_refused.size(); ++i)
    if (c.hello_refused[i] != 0)
      refused[std::string(wire::to_string(static_cast<wire::RefuseReason>(i)))] = c.hello_refused[i];
  nlohmann::json bad = nlohmann::json::object();
  for (std::size_t i = 0; i < c.bad_frames.size(); ++i)
    if (c.bad_frames[i] != 0) bad[std::string(wire::to_string(static_cast<wire::BadReason>(i)))] = c.bad_frames[i];
  nlohmann::json closes_by = nlohmann::json::object();
  for (std::size_t i = 0; i < c.closed.size(); ++i)
    if (c.closed[i] != 0) closes_by[std::string(to_string(static_cast<CloseReason>(i)))] = c.closed[i];
  nlohmann::json out = {
      {"hello_refused", std::move(refused)},
      {"bad_frames", std::move(bad)},
      {"sessions_closed", std::move(closes_by)},
  };
  c.each_count([&out](const char* name, std::uint64_t n) { out[name] = n; });
  return out;
}

nlohmann::json config_json(const ReloadCounters& r) {
  return {
      {"reloads_ok", r.ok},
      {"reloads_failed", r.failed},
      {"last_reload_ns", r.last_ns},
      {"last_error", r.last_error},
      {"needs_restart", r.needs_restart},
  };
}

nlohmann::json journal_json(const JournalStats& j, bool full) {
  return {{"stored_batches", j.stored_batches},
          {"stored_bytes", j.stored_bytes},
          {"duplicate_batches", j.duplicate_batches},
          {"full_refusals", j.full_refusals},
          {"full", full},
          {"commits", j.commits},
          {"held_records", j.held_records},
          {"consumed_records", j.consumed_records},
          {"disk_bytes", j.disk_bytes},
          {"max_bytes", j.max_bytes},
          {"torn_records", j.torn_records},
          {"unreadable_records", j.unreadable_records},
          {"seqs_given_up", j.seqs_given_up},
          {"spools_new", j.spools_new},
          {"spools_forgotten", j.spools_forgotten},
          {"last_journal_seq", j.last_journal_seq}};
}

}  // namespace

nlohmann::json to_json(const ReceiveHealth& h) {
  nlohmann::json probes = nlohmann::json::object();
  for (const auto& [id, p] : h.probes) probes[id] = ProbeHealthBook::to_json(p);
  return {
      {"tenant", h.tenant},
      {"site", h.site},
      {"written_ns", h.written_ns},
      {"probes", std::move(probes)},
      {"receive", receive_json(h.receive)},
      {"config", config_json(h.config)},
      {"journal", journal_json(h.journal, h.journal_full)},
  };
}

}  // namespace footfall::gateway
