#include "gateway/site/receive_snapshot.h"

#include <nlohmann/json.hpp>

namespace footfall::gateway {

namespace {

std::uint64_t count_at(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

}  // namespace

ReceiveSnapshot receive_snapshot(const nlohmann::json& health) {
  ReceiveSnapshot out;
  if (!health.is_object()) return out;
  if (const auto probes = health.find("probes"); probes != health.end() && probes->is_object()) {
    for (const auto& [id, p] : probes->items()) {
      publish::ProbeHealth h;
      h.probe = id;
      h.connected = p.value("connected", false);
      const auto& clock = p.at("clock");
      // The receive side's offset is gateway time minus probe time; the topic states probe minus gateway.
      if (clock.contains("offset_ns") && clock["offset_ns"].is_number_integer())
        h.clock_offset_us = -clock["offset_ns"].get<std::int64_t>() / 1000;
      if (clock.value("replay", false)) out.replaying.insert(id);
      const auto& hb = p.at("heartbeat");
      if (hb.is_object()) {
        h.last_heartbeat = hb.value("received_ns", std::int64_t{0}) / 1'000'000;
        h.capture_drops = count_at(hb, "capture_dropped") + count_at(hb, "capture_if_dropped");
        h.spool_depth_records = count_at(hb, "spool_records");
        h.spool_depth_bytes = count_at(hb, "spool_bytes");
        h.spool_full_drops = count_at(hb, "spool_full_drop_records");
        auto drop = [&out, &id](const std::string& reason, std::uint64_t n) {
          if (n != 0) out.drops_by_reason["probe." + id + "." + reason] = n;
        };
        drop("capture_drops", h.capture_drops);
        drop("parse_drops", count_at(hb, "parse_drops"));
        drop("spool_full_drops", h.spool_full_drops);
      }
      out.counters["probe." + id + ".batches_stored"] = count_at(p, "batches_stored");
      out.counters["probe." + id + ".events_stored"] = count_at(p, "events_stored");
      out.probes.push_back(std::move(h));
    }
  }
  if (const auto r = health.find("receive"); r != health.end() && r->is_object()) {
    for (const auto& [k, v] : r->items()) {
      if (v.is_number_unsigned()) {
        out.counters["receive." + k] = v.get<std::uint64_t>();
      } else if (v.is_object()) {
        // hello_refused and bad_frames lose what was sent; sessions_closed are closings, not losses.
        const bool loss = k == "hello_refused" || k == "bad_frames";
        for (const auto& [reason, n] : v.items()) {
          if (!n.is_number_unsigned()) continue;
          if (loss) out.drops_by_reason["receive." + k + "." + reason] = n.get<std::uint64_t>();
          else out.counters["receive." + k + "." + reason] = n.get<std::uint64_t>();
        }
      }
    }
  }
  if (const auto j = health.find("journal"); j != health.end() && j->is_object()) {
    // torn_records were never acked (the probes send them again): a counter, not a loss.
    for (const char* k : {"stored_batches", "duplicate_batches", "full_refusals", "held_records", "consumed_records",
                          "disk_bytes", "max_bytes", "last_journal_seq", "torn_records", "seqs_given_up"})
      out.counters[std::string("journal.") + k] = count_at(*j, k);
    if (const auto n = count_at(*j, "unreadable_records")) out.drops_by_reason["journal.unreadable_records"] = n;
  }
  // Config reloads (SIGHUP): a central server sees a refused reload as it sees any other counter.
  if (const auto c = health.find("config"); c != health.end() && c->is_object()) {
    out.counters["config.reloads_ok"] = count_at(*c, "reloads_ok");
    out.counters["config.reloads_failed"] = count_at(*c, "reloads_failed");
  }
  return out;
}

}  // namespace footfall::gateway
