#include "gateway/site/receive_snapshot.h"

namespace footfall::gateway {

namespace {

void add_probe(const std::string& id, const ProbeHealth& p, ReceiveSnapshot& out) {
  publish::ProbeReport h;
  h.probe = id;
  h.connected = p.connected;
  // The receive side's offset is gateway time minus probe time; the topic states probe minus gateway.
  if (const auto offset = p.clock.offset_ns()) h.clock_offset_us = -*offset / 1000;
  if (p.replay) out.replaying.insert(id);
  if (p.has_heartbeat) {
    const wire::Heartbeat& hb = p.heartbeat;
    h.last_heartbeat = p.last_heartbeat_ns / 1'000'000;
    h.capture_drops = hb.capture_dropped + hb.capture_if_dropped;
    h.spool_depth_records = hb.spool_records;
    h.spool_depth_bytes = hb.spool_bytes;
    h.spool_full_drops = hb.spool_full_drop_records;
    const std::string stage = "probe." + id;
    out.drops.add({stage, "capture_drops", false}, h.capture_drops);
    out.drops.add({stage, "parse_drops", false}, hb.parse_drops);
    out.drops.add({stage, "spool_full_drops", true}, h.spool_full_drops);  // the spool's full policy
  }
  out.counters["probe." + id + ".batches_stored"] = p.batches_stored;
  out.counters["probe." + id + ".events_stored"] = p.events_stored;
  out.probes.push_back(std::move(h));
}

void add_receive(const ReceiveCounts& c, ReceiveSnapshot& out) {
  c.each_count([&out](const char* name, std::uint64_t n) { out.counters[std::string("receive.") + name] = n; });
  // A refused hello and a bad frame lose what was sent; closed sessions are closings, not losses.
  for (std::size_t i = 1; i < c.hello_refused.size(); ++i)
    out.drops.add({"receive.hello_refused", std::string(wire::to_string(static_cast<wire::RefuseReason>(i))), true},
                  c.hello_refused[i]);
  for (std::size_t i = 0; i < c.bad_frames.size(); ++i)
    out.drops.add({"receive.bad_frames", std::string(wire::to_string(static_cast<wire::BadReason>(i))), false},
                  c.bad_frames[i]);
  for (std::size_t i = 0; i < c.closed.size(); ++i)
    if (c.closed[i] != 0)
      out.counters["receive.sessions_closed." + std::string(to_string(static_cast<CloseReason>(i)))] = c.closed[i];
}

void add_journal(const JournalStats& j, ReceiveSnapshot& out) {
  // torn_records were never acked (the probes send them again): a counter, not a loss.
  out.counters["journal.stored_batches"] = j.stored_batches;
  out.counters["journal.duplicate_batches"] = j.duplicate_batches;
  out.counters["journal.full_refusals"] = j.full_refusals;
  out.counters["journal.held_records"] = j.held_records;
  out.counters["journal.consumed_records"] = j.consumed_records;
  out.counters["journal.disk_bytes"] = j.disk_bytes;
  out.counters["journal.max_bytes"] = j.max_bytes;
  out.counters["journal.last_journal_seq"] = j.last_journal_seq;
  out.counters["journal.torn_records"] = j.torn_records;
  out.counters["journal.seqs_given_up"] = j.seqs_given_up;
  out.drops.add({"journal", "unreadable_records", false}, j.unreadable_records);
}

}  // namespace

ReceiveSnapshot receive_snapshot(const ReceiveHealth& health) {
  ReceiveSnapshot out;
  for (const auto& [id, p] : health.probes) add_probe(id, p, out);
  add_receive(health.receive, out);
  add_journal(health.journal, out);
  // Config reloads (SIGHUP): a central server sees a refused reload as it sees any other counter.
  out.counters["config.reloads_ok"] = health.config.ok;
  out.counters["config.reloads_failed"] = health.config.failed;
  return out;
}

}  // namespace footfall::gateway
