#include "gateway/site/site_pipeline.h"

#include <sys/stat.h>

#include <algorithm>

#include <spdlog/spdlog.h>

#include "gateway/journal/corrected_batch.h"

namespace footfall::gateway {

namespace {

publish::UnixMs to_ms(std::int64_t ns) { return ns / 1'000'000; }

// The merge's device identity: BLE and WiFi addresses are separate spaces.

}  // namespace

SitePipeline::Opened SitePipeline::open(SitePipelineConfig config, JournalFeed& feed, publish::Publisher& publisher,
                                        ReceiveSnapshotSource receive) {
  if (std::string e = validate(config.merge); !e.empty()) return {nullptr, "merge: " + e};
  if (std::string e = validate(config.keys); !e.empty()) return {nullptr, "privacy.rotation: " + e};
  SiteCheckpoint checkpoint;
  if (!config.checkpoint_path.empty()) {
    auto loaded = load_site_checkpoint(config.checkpoint_path);
    if (auto* e = std::get_if<std::string>(&loaded)) return {nullptr, *e};
    checkpoint = std::get<SiteCheckpoint>(loaded);
  }
  OptOutList opt_out;
  if (!config.opt_out_file.empty()) {
    auto loaded = OptOutList::load(config.opt_out_file);
    if (auto* e = std::get_if<std::string>(&loaded)) return {nullptr, "privacy.opt_out_file: " + *e};
    opt_out = std::move(std::get<OptOutList>(loaded));
  }
  if (config.create_keys) {
    std::error_code ec;
    std::filesystem::create_directories(config.key_dir, ec);
    if (ec) return {nullptr, "privacy.key_dir: cannot create " + config.key_dir.string() + ": " + ec.message()};
    ::chmod(config.key_dir.c_str(), 0700);  // keys: the gateway's user only
  }
  std::unique_ptr<SitePipeline> p(
      new SitePipeline(std::move(config), feed, publisher, std::move(receive), std::move(opt_out), checkpoint));
  return {std::move(p), {}};
}

SitePipeline::SitePipeline(SitePipelineConfig config, JournalFeed& feed, publish::Publisher& publisher,
                           ReceiveSnapshotSource receive, OptOutList opt_out, SiteCheckpoint checkpoint)
    : config_(std::move(config)),
      feed_(feed),
      publisher_(publisher),
      receive_(std::move(receive)),
      opt_out_(std::move(opt_out)),
      merger_(config_.merge),
      keyring_(KeyStore(config_.key_dir), config_.keys),
      privacy_(keyring_, config_.site),
      saved_(checkpoint),
      replay_through_(checkpoint.processed_through),
      processed_through_(checkpoint.processed_through) {
  counters_.processed_through = processed_through_;
  counters_.consumed_through = checkpoint.consumed_through;
  if (!config_.opt_out_file.empty()) {
    std::error_code ec;
    opt_out_mtime_ = std::filesystem::last_write_time(config_.opt_out_file, ec);
    spdlog::info("privacy: {} opted-out address(es) from {}", opt_out_.list().size(), config_.opt_out_file.string());
  }
  if (replay_through_ != 0)
    spdlog::info("site: replaying the journal from its oldest unconsumed record; records <= {} were published before "
                 "and what they produce again is suppressed",
                 replay_through_);
}

SitePipeline::~SitePipeline() = default;

bool SitePipeline::step(std::int64_t now_ns) {
  now_ns_ = now_ns;
  bool read_any = false;
  if (drain_waiting() && publisher_.accepts_more()) {
    if (!feed_.read(last_read_, config_.read_chunk, chunk_)) {
      ++counters_.read_errors;
    } else {
      if (!chunk_.error.empty()) {
        ++counters_.read_errors;
        spdlog::error("site: journal read: {}", chunk_.error);
      }
      at_journal_end_ = chunk_.entries.size() < config_.read_chunk;
      for (const JournalEntry& entry : chunk_.entries) {
        process(entry, now_ns);
        read_any = true;
        if (!waiting_.empty()) break;  // the rest is read again once the publisher takes more
      }
      apply_horizon(chunk_);
    }
  }
  pass_silence(now_ns);
  publisher_.poll(to_ms(now_ns));
  release_durable();
  update_occupancy(now_ns);
  checkpoint(now_ns, false);
  if (now_ns >= next_health_ns_) {
    next_health_ns_ = now_ns + config_.health_interval_ns;
    publish_health(now_ns);
  }
  return read_any;
}

void SitePipeline::finish(std::int64_t now_ns) {
  now_ns_ = now_ns;
  drain_waiting();
  publisher_.flush(to_ms(now_ns));
  release_durable();
  checkpoint(now_ns, true);
  spdlog::info("site: stopped at journal record {} (processed through {}, consumed through {}), {} open visit(s) kept "
               "for the replay",
               last_read_, processed_through_, counters_.consumed_through, pins_.size());
}

// The end of a replay: visits that the first run closed in silence, with their items made durable, close
// again here, suppressed, before any record it never processed.
void SitePipeline::finish_replay() {
  replay_finished_ = true;
  if (saved_.processed_clock_ns == 0) return;
  current_record_ = replay_through_;
  suppress_ = true;
  merger_.advance(saved_.processed_clock_ns, *this);
  suppress_ = false;
}

void SitePipeline::process(const JournalEntry& entry, std::int64_t now_ns) {
  if (!replay_finished_ && entry.journal_seq > replay_through_) finish_replay();
  last_read_ = entry.journal_seq;
  current_record_ = entry.journal_seq;
  suppress_ = entry.journal_seq <= replay_through_;
  ++counters_.records_read;
  if (suppress_) ++counters_.records_replayed;
  if (const auto bad = corrected_batch(entry, decoder_, batch_)) {
    ++counters_.records_undecodable;
    undecodable_log_("site: journal record {} (probe {} seq {}) does not decode ({}): dropped", entry.journal_seq,
                     entry.meta.probe_id, entry.meta.probe_seq, wire::to_string(*bad));
    note_record_done(entry.journal_seq);
    return;
  }
  const std::string& probe = entry.meta.probe_id;
  for (const PresenceEvent& e : batch_.body.events) {
    ++counters_.events_in;
    if (!opt_out_.admit(e.mac)) {
      ++counters_.events_opted_out;
      continue;
    }
    merger_.on_presence(probe, e, *this);
  }
  for (const Sighting& s : batch_.body.sightings) {
    ++counters_.sightings_in;
    if (!opt_out_.admit(s.mac)) {
      ++counters_.sightings_opted_out;
      continue;
    }
    merger_.on_sighting(probe, s);
  }
  anchor_site_ns_ = merger_.newest_ns();
  anchor_wall_ns_ = now_ns;
  if (receive_) {
    // Records from a probe last seen offline: it has connected since, and may be behind.
    const auto state = probe_states_.find(probe);
    if (state == probe_states_.end() || !state->second.connected) next_behind_ns_ = 0;
  }
  if (!replay_finished_ && entry.journal_seq == replay_through_) finish_replay();
  note_record_done(entry.journal_seq);
}

void SitePipeline::refresh_receive_snapshot(std::int64_t now_ns) {
  if (!receive_) return;
  auto snapshot = receive_();
  if (!snapshot) return;  // no answer: the previous view stays
  receive_snapshot_ = std::move(*snapshot);
  for (const publish::ProbeReport& h : receive_snapshot_.probes) {
    if (!merger_.knows_probe(h.probe)) continue;
    ProbeState& state = probe_states_[h.probe];
    state.connected = h.connected;
    state.spool_drained = h.spool_depth_records <= kCurrentSpoolRecords;
    state.replay = receive_snapshot_.replaying.contains(h.probe);
  }
  next_behind_ns_ = now_ns + config_.behind_interval_ns;
}

// Silence lets site time pass, so visits close without new events; never while replaying (see the header),
// nor while the journal holds records not read yet (their probes' progress is in them).
void SitePipeline::pass_silence(std::int64_t now_ns) {
  if (replaying() || !at_journal_end_ || !waiting_.empty() || anchor_wall_ns_ == 0) return;
  current_record_ = last_read_;
  suppress_ = false;
  const std::int64_t through = anchor_site_ns_ + (now_ns - anchor_wall_ns_);
  const std::uint64_t items_before = publisher_.issued_tickets() + waiting_.size();
  if (!receive_) {
    merger_.advance(through, *this);
  } else {
    if (now_ns >= next_behind_ns_) refresh_receive_snapshot(now_ns);
    for (const auto& [probe, state] : probe_states_)
      if (!state.connected || (state.spool_drained && !state.replay)) merger_.probe_progress(probe, through, *this);
  }
  // Visits closed in silence count with the latest record: it is processed only once they are durable.
  if (publisher_.issued_tickets() + waiting_.size() != items_before) {
    silence_pending_ = true;
    if (waiting_.empty()) {
      note_record_done(last_read_);
      silence_pending_ = false;
    }
  }
}

void SitePipeline::on_arrival(const SiteArrival& arrival) {
  pins_[arrival.id] = Pin{current_record_, arrival.ts_ns};
  ++pinned_records_[current_record_];
  if (suppress_) {
    ++counters_.replay_suppressed;
    return;
  }
  ensure_key(arrival.ts_ns);
  auto published = privacy_.arrival(arrival);
  if (!published) return;  // counted by the privacy filter (no_key, crypto_failed)
  submit(std::move(*published));
}

void SitePipeline::on_visit(const Visit& visit) {
  if (suppress_) {
    ++counters_.replay_suppressed;
  } else {
    ensure_key(visit.arrival_ns);
    if (auto published = privacy_.visit(visit)) {
      publish::PresenceChange departure{publish::PresenceKind::departure, published->device, published->key_epoch,
                                        published->departure, published->exit_zone, published->randomized};
      submit(std::move(*published));
      submit(std::move(departure));
    }
  }
  unpin(visit.id);
}

void SitePipeline::on_merged(const DeviceMerge& merge) {
  const auto absorbed = pins_.find(merge.absorbed);
  if (absorbed == pins_.end()) return;
  // The visit that continues keeps the older of the two starts in the journal, so a replay rebuilds both parts.
  if (const auto into = pins_.find(merge.into); into != pins_.end() && absorbed->second.record != 0 &&
                                                 (into->second.record == 0 || absorbed->second.record < into->second.record))
    std::swap(absorbed->second.record, into->second.record);
  const std::int64_t arrival_ns = absorbed->second.arrival_ns;
  if (suppress_) {
    ++counters_.replay_suppressed;
  } else {
    ensure_key(arrival_ns);
    if (auto departure = privacy_.merged(merge, arrival_ns)) submit(std::move(*departure));
  }
  unpin(merge.absorbed);
}

void SitePipeline::unpin(std::uint64_t id) {
  const auto it = pins_.find(id);
  if (it == pins_.end()) return;
  const std::uint64_t record = it->second.record;
  pins_.erase(it);
  if (record == 0) return;
  // The visit's items get the next tickets (after those still waiting): the record stays pinned until then.
  releasing_.emplace_back(publisher_.issued_tickets() + waiting_.size(), record);
}

void SitePipeline::submit(Item item) {
  if (!waiting_.empty()) {
    waiting_.push_back(std::move(item));
    return;
  }
  waiting_.push_back(std::move(item));
  drain_waiting();
}

bool SitePipeline::drain_waiting() {
  const publish::UnixMs now_ms = to_ms(now_ns_);
  while (!waiting_.empty()) {
    Item& item = waiting_.front();
    publish::SubmitVerdict verdict;
    if (auto* v = std::get_if<publish::SiteVisit>(&item)) {
      verdict = publisher_.submit_visit(*v, now_ms);
      if (verdict == publish::SubmitVerdict::accepted) ++counters_.visits_submitted;
    } else {
      auto& c = std::get<publish::PresenceChange>(item);
      verdict = publisher_.submit_presence(c, now_ms);
      if (verdict == publish::SubmitVerdict::accepted)
        ++(c.kind == publish::PresenceKind::arrival ? counters_.arrivals_submitted : counters_.departures_submitted);
    }
    if (verdict == publish::SubmitVerdict::back_pressure) {
      ++counters_.back_pressure_waits;
      return false;
    }
    if (verdict == publish::SubmitVerdict::not_pseudonym) {
      ++counters_.not_pseudonym;
      not_pseudonym_log_("site: the publisher refused an item as not pseudonymous: dropped");
    }
    waiting_.pop_front();
  }
  if (last_read_ > ticketed_through_ || silence_pending_) {
    note_record_done(last_read_);
    silence_pending_ = false;
  }
  return true;
}

void SitePipeline::note_record_done(std::uint64_t record) {
  if (!waiting_.empty()) return;  // drain_waiting() notes it once the items are accepted
  const RecordDone done{record, publisher_.issued_tickets(), merger_.clock_ns()};
  // Silence after a record: its visits count with that record, and the record is processed only with them.
  if (!record_tickets_.empty() && record_tickets_.back().record == record)
    record_tickets_.back() = done;
  else
    record_tickets_.push_back(done);
  ticketed_through_ = record;
}

void SitePipeline::release_durable() {
  const std::uint64_t issued = publisher_.issued_tickets();
  const std::uint64_t durable = publisher_.durable_tickets();
  while (!record_tickets_.empty() && record_tickets_.front().tickets <= durable) {
    processed_through_ = std::max(processed_through_, record_tickets_.front().record);
    processed_clock_ns_ = std::max(processed_clock_ns_, record_tickets_.front().clock_ns);
    record_tickets_.pop_front();
  }
  while (!releasing_.empty()) {
    // A target above what was ever issued (an item refused for good) counts as reached once nothing waits.
    const std::uint64_t target = waiting_.empty() ? std::min(releasing_.front().first, issued) : releasing_.front().first;
    if (target > durable) break;
    const auto it = pinned_records_.find(releasing_.front().second);
    if (it != pinned_records_.end() && --it->second == 0) pinned_records_.erase(it);
    releasing_.pop_front();
  }
  counters_.processed_through = processed_through_;
  counters_.pinned_devices = pins_.size();
}

void SitePipeline::apply_horizon(const JournalChunk& chunk) {
  if (chunk.max_bytes == 0 || chunk.disk_bytes * 2 <= chunk.max_bytes) {
    horizon_warned_ = false;
    return;
  }
  if (pinned_records_.empty() || pinned_records_.begin()->first > processed_through_) return;
  std::uint64_t cut = 0;
  for (auto& [key, pin] : pins_) {
    if (pin.record == 0 || pin.record > processed_through_) continue;
    const auto it = pinned_records_.find(pin.record);
    if (it != pinned_records_.end() && --it->second == 0) pinned_records_.erase(it);
    pin.record = 0;
    ++cut;
  }
  counters_.horizon_unpinned += cut;
  if (cut != 0 && !horizon_warned_) {
    horizon_warned_ = true;
    spdlog::warn("site: journal more than half full ({} of {} bytes): {} open visit(s) no longer keep their start in "
                 "the journal (after a restart they are rebuilt from later events only)",
                 chunk.disk_bytes, chunk.max_bytes, cut);
  }
}

void SitePipeline::checkpoint(std::int64_t now_ns, bool force) {
  if (!force && now_ns < next_checkpoint_ns_) return;
  next_checkpoint_ns_ = now_ns + config_.checkpoint_interval_ns;
  std::uint64_t consume_to = processed_through_;
  if (!pinned_records_.empty()) consume_to = std::min(consume_to, pinned_records_.begin()->first - 1);
  SiteCheckpoint next = saved_;
  next.processed_through = processed_through_;
  next.processed_clock_ns = std::max(saved_.processed_clock_ns, processed_clock_ns_);
  next.consumed_through = std::max(saved_.consumed_through, consume_to);
  if (next != saved_ && !config_.checkpoint_path.empty()) {
    // Written before consuming: a crash in between replays more than needed, never less.
    if (std::string e = save_site_checkpoint(config_.checkpoint_path, next); !e.empty()) {
      ++counters_.checkpoint_errors;
      spdlog::error("site: checkpoint not written: {} (the journal is not consumed meanwhile)", e);
      return;
    }
    ++counters_.checkpoints;
  }
  saved_ = next;
  if (consume_to > counters_.consumed_through) {
    if (std::string e = feed_.consume_through(consume_to); !e.empty()) {
      ++counters_.consume_errors;
      spdlog::error("site: journal consume through {}: {}", consume_to, e);
      return;
    }
    counters_.consumed_through = consume_to;
  }
}

void SitePipeline::ensure_key(std::int64_t ts_ns) {
  if (!config_.create_keys) return;
  const auto epoch = config_.keys.epoch_of(ts_ns);
  if (!epoch || keys_ready_.contains(*epoch)) return;
  keys_ready_.insert(*epoch);  // one attempt per epoch: a failure is logged once, the drops are counted
  if (*epoch < saved_.retired_before) return;  // destroyed on purpose: never made again
  const KeyStore& store = keyring_.store();
  if (std::holds_alternative<SecretKey>(store.load(*epoch))) return;
  KeyResult made = store.create(*epoch);
  if (auto* e = std::get_if<std::string>(&made)) {
    ++counters_.key_errors;
    spdlog::error("privacy: cannot create the key of epoch {}: {}", *epoch, *e);
    return;
  }
  ++counters_.keys_created;
  keyring_.refresh();
  spdlog::info("privacy: created the key of epoch {} in {}", *epoch, store.dir().string());
}

void SitePipeline::retire_keys() {
  if (replaying() || merger_.clock_ns() == 0) return;
  std::int64_t needed = merger_.clock_ns();
  for (const auto& [key, pin] : pins_) needed = std::min(needed, pin.arrival_ns);
  needed -= config_.retire_margin_ns;
  const auto epoch = config_.keys.epoch_of(needed);
  if (!epoch || *epoch <= saved_.retired_before) return;
  if (!config_.checkpoint_path.empty()) {
    SiteCheckpoint next = saved_;
    next.retired_before = *epoch;
    if (std::string e = save_site_checkpoint(config_.checkpoint_path, next); !e.empty()) {
      ++counters_.checkpoint_errors;
      spdlog::error("site: checkpoint not written: {} (keys not retired meanwhile)", e);
      return;
    }
    saved_ = next;
  } else {
    saved_.retired_before = *epoch;
  }
  if (std::string e = keyring_.retire_before(*epoch); !e.empty()) {
    ++counters_.key_errors;
    spdlog::error("privacy: retiring key epochs before {}: {}", *epoch, e);
  }
  keys_ready_.erase(keys_ready_.begin(), keys_ready_.lower_bound(*epoch));
  counters_.epochs_retired = keyring_.counters().retired;
  spdlog::info("privacy: key epochs before {} retired (no data the journal still holds needs them)", *epoch);
}

void SitePipeline::reload_opt_out() {
  if (config_.opt_out_file.empty()) return;
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(config_.opt_out_file, ec);
  if (ec || mtime == opt_out_mtime_) return;
  auto loaded = OptOutList::load(config_.opt_out_file);
  if (auto* e = std::get_if<std::string>(&loaded)) {
    spdlog::error("privacy: opt-out list not reloaded, the previous one stays: {}", *e);
    opt_out_mtime_ = mtime;
    return;
  }
  opt_out_.replace(std::move(std::get<OptOutList>(loaded)));
  opt_out_mtime_ = mtime;
  ++counters_.opt_out_reloads;
  spdlog::info("privacy: opt-out list reloaded: {} address(es)", opt_out_.list().size());
}

void SitePipeline::update_occupancy(std::int64_t now_ns) {
  if (replaying()) return;
  const SiteOccupancy o = merger_.occupancy();
  std::vector<std::uint32_t> zones;
  zones.reserve(o.zones.size());
  for (const ZoneOccupancy& z : o.zones) zones.push_back(z.devices);
  if (o.present == last_present_ && zones == last_zones_) return;
  last_present_ = o.present;
  last_zones_ = std::move(zones);
  publish::Occupancy snapshot;
  snapshot.at = to_ms(merger_.clock_ns());
  snapshot.total = o.present;
  for (const ZoneOccupancy& z : o.zones) snapshot.zones[z.zone] = z.devices;
  publisher_.update_occupancy(snapshot, to_ms(now_ns));
}

publish::GatewayHealth SitePipeline::gateway_health() const {
  publish::GatewayHealth g;
  const SiteCounters& s = counters_;
  auto& c = g.counters;
  c["site.records_read"] = s.records_read;
  c["site.records_replayed"] = s.records_replayed;
  c["site.events_in"] = s.events_in;
  c["site.sightings_in"] = s.sightings_in;
  c["site.arrivals_submitted"] = s.arrivals_submitted;
  c["site.departures_submitted"] = s.departures_submitted;
  c["site.visits_submitted"] = s.visits_submitted;
  c["site.replay_suppressed"] = s.replay_suppressed;
  c["site.back_pressure_waits"] = s.back_pressure_waits;
  c["site.processed_through"] = s.processed_through;
  c["site.consumed_through"] = s.consumed_through;
  c["site.pinned_devices"] = s.pinned_devices;
  c["site.checkpoints"] = s.checkpoints;
  c["site.checkpoint_errors"] = s.checkpoint_errors;
  c["site.consume_errors"] = s.consume_errors;
  c["site.read_errors"] = s.read_errors;
  c["site.keys_created"] = s.keys_created;
  c["site.key_errors"] = s.key_errors;
  c["site.epochs_retired"] = s.epochs_retired;
  c["site.opt_out_reloads"] = s.opt_out_reloads;
  const SiteMergeCounters& m = merger_.counters();
  c["merge.site_arrivals"] = m.site_arrivals;
  c["merge.visits"] = m.visits;
  c["merge.devices"] = m.devices;
  c["merge.peak_devices"] = m.peak_devices;
  c["merge.adopted"] = m.adopted;
  c["merge.restarted"] = m.restarted;
  c["merge.duplicate_frames"] = m.duplicate_frames;
  c["merge.presences_folded"] = m.presences_folded;
  c["merge.samples_late"] = m.samples_late;
  c["merge.late_events"] = m.late_events;
  c["merge.linked_by_device"] = m.linked_by_device;
  c["merge.linked_by_previous"] = m.linked_by_previous;
  c["merge.split_by_probe"] = m.split_by_probe;
  c["merge.merged"] = m.merged;
  c["merge.addresses_forgotten"] = m.addresses_forgotten;
  c["merge.stale_links"] = m.stale_links;
  const PrivacyCounters& p = privacy_.counters();
  c["privacy.visits_out"] = p.visits_out;
  c["privacy.arrivals_out"] = p.arrivals_out;
  c["privacy.merged_out"] = p.merged_out;
  const publish::PublishCounters pub = publisher_.counters();
  c["publish.batches_sealed"] = pub.batches_sealed;
  c["publish.acked"] = pub.acked;
  c["publish.republished"] = pub.republished;
  c["publish.outbox_records"] = pub.outbox_records;
  c["publish.outbox_bytes"] = pub.outbox_bytes;
  c["publish.auth_failures"] = pub.auth_failures;
  c["publish.connection_losses"] = pub.connection_losses;
  for (const auto& [k, v] : receive_snapshot_.counters) c[k] = v;

  // Every drop of data by stage and reason. Zero counts are left out, so no drops means nothing was lost.
  drops::DropCounts& d = g.drops;
  d.add({"opt_out", "events", true}, s.events_opted_out);
  d.add({"opt_out", "sightings", true}, s.sightings_opted_out);
  d.add({"journal", "undecodable", false}, s.records_undecodable);
  d.add({"merge", "unknown_probe_events", false}, m.unknown_probe);
  d.add({"merge", "unknown_probe_sightings", false}, m.sightings_unknown_probe);
  d.add({"merge", "evicted_visits", true}, m.evicted);  // cut short, not lost: published with end = evicted
  d.add({"privacy", "no_key", false}, p.no_key);
  d.add({"privacy", "crypto_failed", false}, p.crypto_failed);
  d.add({"publish", "not_pseudonym", false}, s.not_pseudonym);
  for (const auto& [reason, n] : pub.drops_by_reason) d.add({"outbox", reason, false}, n);
  d.add(receive_snapshot_.drops);
  return g;
}

void SitePipeline::publish_health(std::int64_t now_ns) {
  refresh_receive_snapshot(now_ns);
  const publish::UnixMs now_ms = to_ms(now_ns);
  for (const publish::ProbeReport& h : receive_snapshot_.probes) publisher_.update_probe_health(h, now_ms);
  const publish::GatewayHealth g = gateway_health();
  publisher_.update_gateway_health(g, now_ms);
  const std::uint64_t total = g.drops.total();
  std::string reasons;
  for (const auto& [reason, n] : g.drops.by_reason()) reasons += " " + reason + "=" + std::to_string(n);
  if (total != last_drop_total_) spdlog::warn("site: drops by reason:{}", reasons);
  last_drop_total_ = total;
  spdlog::info("site: records={} events={} visits={} arrivals={} open={} processed_through={} consumed_through={} "
               "outbox={} acked={}",
               counters_.records_read, counters_.events_in, counters_.visits_submitted, counters_.arrivals_submitted,
               pins_.size(), processed_through_, counters_.consumed_through, g.counters.at("publish.outbox_records"),
               g.counters.at("publish.acked"));
  reload_opt_out();
  retire_keys();
}

bool SitePipeline::idle_and_durable() const {
  return waiting_.empty() && publisher_.durable_tickets() == publisher_.issued_tickets();
}

}  // namespace footfall::gateway
