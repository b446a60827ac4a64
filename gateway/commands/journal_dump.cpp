#include "gateway/commands/journal_dump.h"

#include <ostream>

#include <nlohmann/json.hpp>

#include "gateway/journal/corrected_batch.h"

namespace footfall::gateway {

namespace {

std::string_view kind_name(PresenceKind k) {
  switch (k) {
    case PresenceKind::arrival: return "arrival";
    case PresenceKind::update: return "update";
    case PresenceKind::departure: return "departure";
  }
  return "unknown";
}

std::string_view kind_name(SightingKind k) {
  switch (k) {
    case SightingKind::probe_req: return "probe_req";
    case SightingKind::probe_resp: return "probe_resp";
    case SightingKind::beacon: return "beacon";
    case SightingKind::ble_adv: return "ble_adv";
  }
  return "unknown";
}

}  // namespace

int dump_journal(const GatewayConfig& config, std::ostream& out, std::ostream& err) {
  JournalOptions options;
  options.dir = config.journal_dir;
  options.max_bytes = config.journal_max_mb << 20;
  options.max_frame_bytes = config.max_frame_bytes;
  auto opened = Journal::open(options);
  if (!opened.journal) {
    err << "footfall-gateway journal: " << opened.error << "\n";
    return 1;
  }
  wire::DecoderLimits limits;
  limits.max_frame_body = config.max_frame_bytes;
  limits.max_decompressed = static_cast<std::size_t>(config.max_decompressed_bytes);
  wire::Decoder decoder(limits);
  wire::Batch batch;
  JournalEntry entry;
  std::uint64_t after = 0;
  std::uint64_t records = 0, events = 0, sightings = 0, unreadable = 0;
  std::string error;
  while (const auto seq = opened.journal->read_next(after, entry, &error)) {
    after = *seq;
    ++records;
    if (const auto bad = corrected_batch(entry, decoder, batch)) {
      ++unreadable;
      err << "journal record " << entry.journal_seq << " (probe " << entry.meta.probe_id << " seq "
          << entry.meta.probe_seq << ") does not decode: " << wire::to_string(*bad) << "\n";
      continue;
    }
    const auto common = [&](nlohmann::json& j) {
      j["journal_seq"] = entry.journal_seq;
      j["probe"] = entry.meta.probe_id;
      j["spool"] = spool_name(entry.meta.spool_id);  // probe_seq counts within it
      j["probe_seq"] = entry.meta.probe_seq;
      j["received_ns"] = entry.meta.received_ns;
      j["clock_offset_ns"] = entry.meta.correction_ns;
      j["estimated_offset_ns"] = entry.meta.offset_known ? nlohmann::json(entry.meta.clock_offset_ns) : nlohmann::json();
      j["replay"] = entry.meta.replay;
    };
    for (const PresenceEvent& e : batch.body.events) {
      nlohmann::json j = {{"record", "event"},
                          {"kind", kind_name(e.kind)},
                          {"ts_ns", e.ts_ns},
                          {"mac", e.mac.to_string()},
                          {"randomized", e.randomized},
                          {"fingerprint", e.fingerprint},
                          {"frames", e.frames},
                          {"rssi_min", e.rssi_min},
                          {"rssi_max", e.rssi_max},
                          {"rssi_mean", e.rssi_mean},
                          {"strongest_freq_mhz", e.strongest_freq_mhz},
                          {"dwell_s", e.dwell_s},
                          {"first_seen_ns", e.first_seen_ns},
                          {"last_seen_ns", e.last_seen_ns}};
      common(j);
      out << j.dump() << '\n';
      ++events;
    }
    for (const Sighting& s : batch.body.sightings) {
      nlohmann::json j = {{"record", "sighting"},
                          {"kind", kind_name(s.kind)},
                          {"ts_ns", s.ts_ns},
                          {"mac", s.mac.to_string()},
                          {"randomized", s.mac.locally_administered()},
                          {"fingerprint", s.fingerprint},
                          {"rssi_dbm", s.has_rssi ? nlohmann::json(s.rssi_dbm) : nlohmann::json()},
                          {"freq_mhz", s.freq_mhz},
                          {"seq", s.seq}};
      common(j);
      out << j.dump() << '\n';
      ++sightings;
    }
  }
  if (!error.empty()) {
    err << "footfall-gateway journal: " << error << "\n";
    return 1;
  }
  err << "journal " << config.journal_dir.string() << ": " << records << " batches, " << events << " events, "
      << sightings << " sightings, " << unreadable << " unreadable\n";
  return 0;
}

}  // namespace footfall::gateway
