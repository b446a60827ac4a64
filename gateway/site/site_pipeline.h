#pragma once
// The site stage: journal -> opt-out -> merge -> privacy filter -> publisher, and back again: the journal is
// consumed only as far as what its records produced is durable in the outbox.
//
//   read     journal records in order (JournalFeed), decoded with their clock correction;
//   opt-out  events and sightings of listed addresses are dropped before anything else (counted);
//   merge    SiteMerger: site arrivals, visits (closing in silence too: each probe's progress on the gateway
//            clock, below);
//   privacy  PrivacyFilter: pseudonyms, visit ids (keyed hash of site, device, arrival);
//   publish  Publisher: micro-batches into the durable outbox, then MQTT.
//
// What may be released upstream. Every item submitted gets a Publisher ticket. A record is *processed*
// once the tickets of everything it produced are durable (Publisher::durable_tickets()). A device present
// at the site *pins* the record that made it arrive: its visit is built from that record on; the pin goes
// only when the visit's items are durable. The journal is consumed through
//     min(oldest pinned record - 1, highest processed record)
// so after a crash or restart the replay from the oldest unconsumed record rebuilds every open visit
// from its start. Items produced again by records <= the checkpointed processed_through were published
// before and are suppressed (counted); advance() is held back until the replay has passed that point, so
// a replayed visit never closes earlier than it did the first time. Delivery is at least once: see
// docs/mqtt.md for the narrow windows in which a visit can be published twice (same visit_id).
//
// Silence: once the stage has read the journal to its end, site time passes (the newest event time of any
// probe plus the gateway time since the latest record) for every probe that is not *behind*. A probe is
// behind while it is connected and either had more than kCurrentSpoolRecords batches unacked in its spool
// at its latest heartbeat (it is draining a backlog) or replays a capture (its times are capture times:
// silence only means it reads slower than the others). A probe that is behind holds the site clock back, by
// merge.max_probe_lag_ns at most, so visits wait for its events. A disconnected probe is not waited for
// (it may never come back): what it sends after reconnecting from before the site clock is late, counted
// (merge.late_events), and may split visits. Without a receive side (benchmarks, tests) no probe is behind.
//
// Back-pressure: when the Publisher refuses (outbox full), the refused items wait here in order and no
// record is read until they are accepted; the journal then fills and the receive side stops acking.
//
// Replay horizon: a device that stays for hours would pin the journal for hours. When the journal is more
// than half full, pins older than the processed point are dropped (counted, logged): a restart then sees
// those visits only from their later events (the merge adopts them), never loses the rest.
//
// Not thread-safe: one thread calls step() / finish(); the Publisher is used from that thread only.
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/drops.h"
#include "common/repeated_log.h"
#include "common/wire/codec.h"
#include "gateway/anonymize/keyring.h"
#include "gateway/anonymize/opt_out.h"
#include "gateway/anonymize/privacy_filter.h"
#include "gateway/merge/site_merger.h"
#include "gateway/publish/publisher.h"
#include "gateway/site/journal_feed.h"
#include "gateway/site/site_checkpoint.h"
#include "gateway/site/site_stage.h"

namespace footfall::gateway {

// What the receive side knows, as the `.../probes` topic publishes it.
struct ReceiveSnapshot {
  std::vector<publish::ProbeReport> probes;
  std::map<std::string, std::uint64_t> counters;
  drops::DropCounts drops;
  std::set<std::string> replaying;  // probes replaying a capture: their times are capture times
};
// Called from the stage's thread; nullopt when the receive side could not answer.
using ReceiveSnapshotSource = std::function<std::optional<ReceiveSnapshot>()>;

struct SitePipelineConfig {
  std::string site;
  SiteMergeConfig merge;
  KeySchedule keys;
  std::filesystem::path key_dir;
  bool create_keys = false;
  std::filesystem::path opt_out_file;          // empty: nobody opted out
  std::filesystem::path checkpoint_path;       // empty: no checkpoint (benchmarks)
  std::size_t read_chunk = 64;                 // journal records per read
  std::int64_t checkpoint_interval_ns = 1'000'000'000;
  std::int64_t health_interval_ns = 30'000'000'000;   // probe / gateway health to the Publisher
  std::int64_t behind_interval_ns = 500'000'000;      // how often the receive side is asked who is behind
  std::int64_t retire_margin_ns = 3'600'000'000'000;  // keys stay this long past the oldest data still needed
};

struct SiteCounters {
  std::uint64_t records_read = 0;
  std::uint64_t records_undecodable = 0;   // dropped: the stored frame no longer decodes
  std::uint64_t records_replayed = 0;      // read again after a restart (<= processed_through)
  std::uint64_t events_in = 0;
  std::uint64_t sightings_in = 0;
  std::uint64_t events_opted_out = 0;      // dropped: the device opted out
  std::uint64_t sightings_opted_out = 0;
  std::uint64_t arrivals_submitted = 0;
  std::uint64_t departures_submitted = 0;
  std::uint64_t visits_submitted = 0;
  std::uint64_t replay_suppressed = 0;     // items already published before a restart: not again
  std::uint64_t not_pseudonym = 0;         // dropped: refused by the publisher (a bug if ever non-zero)
  std::uint64_t back_pressure_waits = 0;   // times the publisher refused and items had to wait
  std::uint64_t horizon_unpinned = 0;      // open visits whose start the journal no longer keeps
  std::uint64_t checkpoints = 0;
  std::uint64_t checkpoint_errors = 0;
  std::uint64_t consume_errors = 0;
  std::uint64_t read_errors = 0;
  std::uint64_t keys_created = 0;
  std::uint64_t key_errors = 0;
  std::uint64_t epochs_retired = 0;
  std::uint64_t opt_out_reloads = 0;
  std::uint64_t processed_through = 0;
  std::uint64_t consumed_through = 0;
  std::uint64_t pinned_devices = 0;
};

class SitePipeline final : public SiteStage, private SiteSink {
 public:
  // A current probe has at most this many batches unacked: about one a second is sealed and acked at once,
  // so more means the probe is replaying a spool backlog.
  static constexpr std::uint64_t kCurrentSpoolRecords = 4;
  struct Opened {
    std::unique_ptr<SitePipeline> pipeline;  // null on error
    std::string error;                       // names the setting or file
  };
  static Opened open(SitePipelineConfig config, JournalFeed& feed, publish::Publisher& publisher,
                     ReceiveSnapshotSource receive = {});
  ~SitePipeline() override;
  SitePipeline(const SitePipeline&) = delete;
  SitePipeline& operator=(const SitePipeline&) = delete;

  // One round at gateway time now_ns: retries waiting items, reads and processes up to one chunk of records,
  // lets site time pass, polls the publisher, releases what is durable, checkpoints and publishes health
  // when due. True when it read records (call again at once); false when idle.
  bool step(std::int64_t now_ns) override;
  // Shutdown: seals and stores every open batch, checkpoints and consumes what that made durable. Open
  // visits stay open (pinned in the journal) and are rebuilt by the next start's replay.
  void finish(std::int64_t now_ns) override;

  [[nodiscard]] const SiteCounters& counters() const { return counters_; }
  [[nodiscard]] const SiteMerger& merger() const { return merger_; }
  [[nodiscard]] const PrivacyFilter& privacy() const { return privacy_; }
  [[nodiscard]] const OptOutFilter& opt_out() const { return opt_out_; }
  // Gateway health as published: counters and drops by reason of every stage here.
  [[nodiscard]] publish::GatewayHealth gateway_health() const;
  // Every item waiting for the publisher was accepted, and everything accepted is durable.
  [[nodiscard]] bool idle_and_durable() const;

 private:
  struct Pin {
    std::uint64_t record = 0;  // 0: unpinned (replay horizon)
    std::int64_t arrival_ns = 0;
  };
  using Item = std::variant<publish::SiteVisit, publish::PresenceChange>;

  SitePipeline(SitePipelineConfig config, JournalFeed& feed, publish::Publisher& publisher,
               ReceiveSnapshotSource receive, OptOutList opt_out, SiteCheckpoint checkpoint);

  void on_arrival(const SiteArrival& arrival) override;
  void on_visit(const Visit& visit) override;
  void on_merged(const DeviceMerge& merge) override;

  void process(const JournalEntry& entry, std::int64_t now_ns);
  void submit(Item item);
  bool drain_waiting();
  void note_record_done(std::uint64_t record);
  void finish_replay();
  void ensure_key(std::int64_t ts_ns);
  void unpin(std::uint64_t id);
  void release_durable();
  void apply_horizon(const JournalChunk& chunk);
  void checkpoint(std::int64_t now_ns, bool force);
  void publish_health(std::int64_t now_ns);
  void retire_keys();
  void reload_opt_out();
  void update_occupancy(std::int64_t now_ns);
  void refresh_receive_snapshot(std::int64_t now_ns);
  void pass_silence(std::int64_t now_ns);
  [[nodiscard]] bool replaying() const { return last_read_ < replay_through_; }

  SitePipelineConfig config_;
  JournalFeed& feed_;
  publish::Publisher& publisher_;
  ReceiveSnapshotSource receive_;
  OptOutFilter opt_out_;
  std::filesystem::file_time_type opt_out_mtime_{};
  SiteMerger merger_;
  Keyring keyring_;
  PrivacyFilter privacy_;
  wire::Decoder decoder_;
  wire::Batch batch_;
  JournalChunk chunk_;

  SiteCheckpoint saved_;                 // as last written
  std::uint64_t replay_through_ = 0;     // processed_through found at start
  std::uint64_t last_read_ = 0;          // journal seq of the newest record fed to the merge
  std::uint64_t current_record_ = 0;     // the record being processed (attribution of pins)
  bool suppress_ = false;                // products of the current record were published before
  std::uint64_t processed_through_ = 0;
  // A record and the tickets issued once it (and any silence after it) was done, with the site clock then.
  struct RecordDone {
    std::uint64_t record;
    std::uint64_t tickets;
    std::int64_t clock_ns;
  };
  std::deque<RecordDone> record_tickets_;
  std::int64_t processed_clock_ns_ = 0;  // site clock of the newest processed entry above
  bool silence_pending_ = false;         // silence produced items that wait for the publisher
  bool replay_finished_ = false;         // the site clock was passed to the checkpoint's processed_clock_ns
  std::uint64_t ticketed_through_ = 0;   // newest record with an entry above
  std::unordered_map<std::uint64_t, Pin> pins_;  // site device id -> the record of its site arrival
  std::map<std::uint64_t, std::uint32_t> pinned_records_;  // record -> number of pins on it
  std::deque<std::pair<std::uint64_t, std::uint64_t>> releasing_;  // (ticket, record): unpin when durable
  std::deque<Item> waiting_;             // refused by the publisher: retried in order
  std::set<std::uint32_t> keys_ready_;   // epochs whose key exists (create_keys)
  std::int64_t anchor_site_ns_ = 0;      // newest event time of any probe at the latest record ...
  std::int64_t anchor_wall_ns_ = 0;      // ... and the gateway clock then: silence advances site time
  struct ProbeState {
    bool replay = false;         // replays a capture, as the receive side last said ...
    bool connected = false;
    bool spool_drained = false;  // ... and its latest heartbeat
  };
  std::map<std::string, ProbeState, std::less<>> probe_states_;
  std::int64_t next_behind_ns_ = 0;       // ask again then, or at once when a probe thought offline sends
  bool at_journal_end_ = false;          // the latest read returned less than a chunk
  std::int64_t now_ns_ = 0;              // gateway clock of the current step
  std::int64_t next_checkpoint_ns_ = 0;
  std::int64_t next_health_ns_ = 0;
  std::uint32_t last_present_ = UINT32_MAX;
  std::vector<std::uint32_t> last_zones_;
  std::uint64_t last_drop_total_ = 0;
  // Per record: first line, then a count every 10 s (counters_ has every one).
  RepeatedLog undecodable_log_{spdlog::level::warn};
  RepeatedLog not_pseudonym_log_{spdlog::level::err};
  bool horizon_warned_ = false;
  SiteCounters counters_;
  ReceiveSnapshot receive_snapshot_;
};

}  // namespace footfall::gateway
