#pragma once
// Publishes the gateway's micro-batches to an MQTT broker (QoS 1, persistent session) through a durable
// outbox: a batch is on disk before it is sent and leaves only on the broker's PUBACK, so a broker outage
// or a gateway restart loses nothing. When the outbox is full, accepts_more() turns false and submit_*
// refuses: the gateway then stops acking probes and the data waits in the probes' spools.
//
// Threads: Paho runs its own threads and calls back into the Publisher (connected, connection lost,
// PUBACK); every public method may be called from any thread and takes an internal lock. The gateway
// calls poll(now) every few hundred ms from its own loop: it seals due micro-batches, makes them durable,
// starts or retries the first connection and tops up the send window. PUBACKs top up the window from
// Paho's thread, so throughput does not wait for poll(). No callback of the Publisher runs gateway code.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "gateway/publish/micro_batcher.h"
#include "gateway/publish/outbox.h"
#include "gateway/publish/payloads.h"

namespace mqtt {
class async_client;
class connect_options;
}

namespace footfall::gateway::publish {

struct TlsConfig {
  bool enabled = false;      // needs an ssl:// server_uri
  std::string ca_file;       // PEM; empty: the system's trust store
  std::string cert_file;     // client certificate (PEM), optional
  std::string key_file;      // its private key (PEM)
  bool verify_server = true;  // check the broker's chain and that its name matches the URI's host
};

struct PublisherConfig {
  std::string server_uri = "tcp://127.0.0.1:1883";  // ssl://host:8883 with tls.enabled
  std::string tenant;  // topic levels: [A-Za-z0-9_.-]+
  std::string site;
  std::string software_version;
  std::string client_id;  // empty: "footfall-gw-{tenant}-{site}"
  std::string username;  // empty: anonymous
  std::string password;
  TlsConfig tls;

  std::filesystem::path outbox_dir;
  OutboxLimits outbox;
  // always / group: every batch stored by one poll() or flush() is made durable by one fdatasync at its end
  // (group commit); durable_tickets() moves only after it. never: no fdatasync (benchmarks, tests).
  segment_log::FsyncPolicy outbox_fsync{segment_log::FsyncMode::always, 16, 1'000'000'000};
  // Batches sealed by submit_* wait for the next poll() to be stored together; at this many, submit_* stores
  // them at once (one fdatasync for all of them).
  std::uint32_t max_sealed_waiting = 16;

  BatchLimits visits{5000, 500, 1u << 20};
  BatchLimits presence{5000, 500, 1u << 20};
  BatchLimits probes{30000, 1000, 1u << 20};

  std::uint32_t window = 16;  // batches handed to MQTT and not yet PUBACKed
  std::chrono::seconds keep_alive{30};
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds reconnect_min{1};  // Paho's automatic reconnect backoff, and ours for the first connect
  std::chrono::seconds reconnect_max{60};
  std::chrono::milliseconds shutdown_timeout{2000};  // bounded wait for the offline status on close
};

// Returns the first problem with the configuration, or empty.
std::string validate(const PublisherConfig& cfg);
std::string client_id(const PublisherConfig& cfg);              // cfg.client_id, else "footfall-gw-{tenant}-{site}"
std::string topic(const PublisherConfig& cfg, std::string_view leaf);  // "footfall/v1/{tenant}/{site}/{leaf}"

enum class SubmitVerdict : std::uint8_t {
  accepted,
  back_pressure,  // outbox full (or this topic's batch full behind it): keep the item and retry later
  not_pseudonym,  // a device or fingerprint field is not a pseudonym: refused, counted
};
std::string_view to_string(SubmitVerdict v);

struct PublishCounters {
  std::uint64_t events_accepted = 0;
  std::uint64_t refused_back_pressure = 0;
  std::uint64_t refused_not_pseudonym = 0;
  std::uint64_t batches_sealed = 0;
  std::uint64_t batches_stored = 0;  // appended to the outbox
  std::uint64_t published = 0;       // PUBLISH packets handed to the client, republished included
  std::uint64_t republished = 0;     // sends of a batch again: after a restart, a failed delivery or a reconnect
  std::uint64_t acked = 0;           // PUBACKs: batches that left the outbox
  std::uint64_t outbox_records = 0;  // waiting for a PUBACK
  std::uint64_t outbox_bytes = 0;
  std::uint64_t outbox_disk_bytes = 0;
  std::uint64_t full_events = 0;  // appends refused because the outbox was full
  std::uint64_t connects = 0;
  std::uint64_t connection_losses = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t auth_failures = 0;  // broker refused the credentials (CONNACK 4 or 5)
  std::uint64_t publish_errors = 0;  // the client refused a PUBLISH; the batch stays and is sent again
  std::uint64_t outbox_errors = 0;   // disk errors on append, read or sync; the data is kept in memory or on disk
  std::map<std::string, std::uint64_t> drops_by_reason;  // empty in normal operation
};

class Publisher;
struct PublisherOpen {
  std::unique_ptr<Publisher> publisher;  // null on error
  std::string error;
};

class Publisher {
 public:
  // Opens (or reopens) the outbox; nothing touches the network until the first poll().
  static PublisherOpen open(PublisherConfig cfg, UnixMs now);
  // Seals what is open, publishes the offline status and disconnects, waiting at most shutdown_timeout.
  // Unacked batches stay in the outbox for the next open.
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  SubmitVerdict submit_visit(const SiteVisit& v, UnixMs now);
  SubmitVerdict submit_presence(const PresenceChange& c, UnixMs now);
  // Snapshots: the newest one is sent with the next presence / probes batch.
  void update_occupancy(const Occupancy& o, UnixMs now);
  void update_probe_health(const ProbeReport& h, UnixMs now);
  void update_gateway_health(const GatewayHealth& g, UnixMs now);

  // Seals due batches into the outbox, syncs it when due, connects, tops up the send window.
  void poll(UnixMs now);
  // Seals every open batch now, whatever its age (shutdown, tests).
  void flush(UnixMs now);

  // False while the outbox is full: stop acking upstream until it turns true again.
  [[nodiscard]] bool accepts_more() const;
  // Every accepted submit_visit / submit_presence gets the next ticket (1, 2, ...). Every item with a ticket
  // <= durable_tickets() is in a batch on the outbox's disk (fdatasync done): the caller may then release
  // what it was made from upstream.
  [[nodiscard]] std::uint64_t issued_tickets() const;
  [[nodiscard]] std::uint64_t durable_tickets() const;
  [[nodiscard]] bool connected() const;
  [[nodiscard]] PublishCounters counters() const;
  [[nodiscard]] std::string last_error() const;
  [[nodiscard]] const PublisherConfig& config() const { return cfg_; }

 private:
  class DeliveryListener;
  class ConnectListener;
  struct Held {
    std::string topic;
    std::string payload;
    std::uint64_t seq;
    std::uint64_t first_ticket;  // lowest ticket of its items; 0: none (snapshots only)
  };

  Publisher(PublisherConfig cfg, std::unique_ptr<Outbox> outbox);
  void seal_due_locked(UnixMs now, bool force, bool store = true);
  void seal_locked(std::string_view leaf, SealedItems sealed, std::string_view array_key, std::string extra,
                   std::uint64_t first_ticket);
  void store_held_locked(UnixMs now);
  void refresh_durable_locked();
  [[nodiscard]] bool refuses_locked() const;
  // The common part of submit_visit and submit_presence: `item` (null: not pseudonymous) into `batch`.
  SubmitVerdict submit_locked(std::optional<std::string> item, MicroBatcher& batch, std::uint64_t& first_ticket,
                              UnixMs now);
  void start_connect(UnixMs now);
  void pump();
  void on_connected(const std::string& cause);
  void on_connection_lost(const std::string& cause);
  void on_connect_failure(int return_code);
  void on_delivered(std::uint64_t seq);
  void on_delivery_failed(std::uint64_t seq, int return_code);
  void publish_status(bool online, std::string_view reason);
  void set_error_locked(std::string message);
  UnixMs wall_now() const;

  PublisherConfig cfg_;
  std::string client_id_;
  std::string status_topic_;

  mutable std::mutex mutex_;  // everything below, except the client handle
  std::unique_ptr<Outbox> outbox_;
  MicroBatcher visits_;
  MicroBatcher presence_;
  MicroBatcher probes_;
  std::optional<Occupancy> occupancy_;
  std::map<std::string, ProbeReport> probe_health_;
  std::optional<GatewayHealth> gateway_health_;
  std::deque<Held> held_;  // sealed, waiting for room in the outbox; seq already assigned
  std::uint64_t next_seq_ = 0;
  std::uint64_t tickets_ = 0;          // issued
  std::uint64_t durable_ = 0;          // every ticket <= this is durable
  std::uint64_t visits_first_ticket_ = 0;    // of the open visits batch; 0: no item
  std::uint64_t presence_first_ticket_ = 0;
  std::uint64_t unsynced_first_ticket_ = 0;  // stored, fdatasync pending; 0: none
  bool unsynced_ = false;
  std::set<std::uint64_t> in_flight_;
  std::uint64_t cursor_ = 0;           // highest seq handed to the client in order
  std::uint64_t sent_before_ = 0;      // seqs up to this may have been sent by an earlier run
  std::uint64_t highest_sent_ = 0;
  bool connected_ = false;
  bool connecting_ = false;
  bool ever_connected_ = false;
  UnixMs next_connect_at_ = 0;
  std::int64_t connect_backoff_s_ = 0;
  UnixMs connected_since_ = 0;
  bool full_reported_ = false;  // one full event per stretch of refusals
  PublishCounters counters_;
  std::string last_error_;

  std::mutex send_mutex_;  // one sender at a time, so PUBLISH order is outbox order
  std::atomic<bool> pump_wanted_{false};
  std::atomic<bool> closing_{false};
  std::unique_ptr<DeliveryListener> delivery_listener_;
  std::unique_ptr<ConnectListener> connect_listener_;
  std::unique_ptr<mqtt::connect_options> connect_opts_;  // only the poll() thread touches it
  std::unique_ptr<mqtt::async_client> client_;
};

}  // namespace footfall::gateway::publish
