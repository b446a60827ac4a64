#include "gateway/publish/publisher.h"

#include <algorithm>
#include <utility>

#include <mqtt/async_client.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/clock.h"

namespace footfall::gateway::publish {
namespace {

bool is_topic_level(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

// CONNACK return codes 4 (bad user name or password) and 5 (not authorized).
bool is_auth_refusal(int rc) { return rc == 4 || rc == 5; }

std::string describe_connect_failure(int rc) {
  switch (rc) {
    case 1: return "broker refused the connection: unacceptable protocol version";
    case 2: return "broker refused the connection: client id rejected";
    case 3: return "broker refused the connection: server unavailable";
    case 4: return "broker refused the connection: bad user name or password";
    case 5: return "broker refused the connection: not authorized";
    default: return "cannot connect to the broker (client code " + std::to_string(rc) + ")";
  }
}

std::string publish_counters_json(const PublishCounters& c) {
  return nlohmann::json{{"published", c.published},
                        {"republished", c.republished},
                        {"acked", c.acked},
                        {"outbox_records", c.outbox_records},
                        {"outbox_bytes", c.outbox_bytes},
                        {"full_events", c.full_events},
                        {"connection_losses", c.connection_losses},
                        {"auth_failures", c.auth_failures},
                        {"drops_by_reason", c.drops_by_reason}}
      .dump();
}

}  // namespace

class Publisher::DeliveryListener : public mqtt::iaction_listener {
 public:
  explicit DeliveryListener(Publisher& owner) : owner_(owner) {}
  void on_success(const mqtt::token& tok) override { owner_.on_delivered(seq_of(tok)); }
  void on_failure(const mqtt::token& tok) override { owner_.on_delivery_failed(seq_of(tok), tok.get_return_code()); }

 private:
  static std::uint64_t seq_of(const mqtt::token& tok) {
    return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(tok.get_user_context()));
  }
  Publisher& owner_;
};

class Publisher::ConnectListener : public mqtt::iaction_listener {
 public:
  explicit ConnectListener(Publisher& owner) : owner_(owner) {}
  void on_success(const mqtt::token&) override {}  // the connected handler does the work, also on reconnects
  void on_failure(const mqtt::token& tok) override { owner_.on_connect_failure(tok.get_return_code()); }

 private:
  Publisher& owner_;
};

std::string validate(const PublisherConfig& cfg) {
  if (!is_topic_level(cfg.tenant)) return "tenant must be 1..64 of [A-Za-z0-9_.-]";
  if (!is_topic_level(cfg.site)) return "site must be 1..64 of [A-Za-z0-9_.-]";
  if (cfg.outbox_dir.empty()) return "outbox_dir is required";
  if (cfg.window == 0 || cfg.window > 1024) return "window must be 1..1024";
  if (cfg.max_sealed_waiting == 0) return "max_sealed_waiting must be at least 1";
  if (!cfg.client_id.empty() && (cfg.client_id.size() > 256 || cfg.client_id.find_first_of("#+/") != std::string::npos))
    return "client_id must be 1..256 characters without #, + or /";
  const bool ssl_uri = cfg.server_uri.rfind("ssl://", 0) == 0;
  if (!ssl_uri && cfg.server_uri.rfind("tcp://", 0) != 0) return "server_uri must start with tcp:// or ssl://";
  if (cfg.tls.enabled != ssl_uri) return "tls.enabled needs an ssl:// server_uri and the other way round";
  if (cfg.tls.cert_file.empty() != cfg.tls.key_file.empty()) return "tls.cert_file and tls.key_file go together";
  if (cfg.reconnect_min.count() < 1 || cfg.reconnect_max < cfg.reconnect_min) return "reconnect_min must be >= 1 s and <= reconnect_max";
  if (cfg.password.size() > 0 && cfg.username.empty()) return "password without username";
  if (cfg.outbox.max_total_bytes < 2 * std::uint64_t{cfg.outbox.max_record_bytes})
    return "outbox.max_total_bytes must hold at least two records of outbox.max_record_bytes";
  return {};
}

std::string client_id(const PublisherConfig& cfg) {
  return cfg.client_id.empty() ? "footfall-gw-" + cfg.tenant + "-" + cfg.site : cfg.client_id;
}

std::string topic(const PublisherConfig& cfg, std::string_view leaf) {
  return "footfall/v1/" + cfg.tenant + "/" + cfg.site + "/" + std::string(leaf);
}

std::string_view to_string(SubmitVerdict v) {
  switch (v) {
    case SubmitVerdict::accepted: return "accepted";
    case SubmitVerdict::back_pressure: return "back_pressure";
    case SubmitVerdict::not_pseudonym: return "not_pseudonym";
  }
  return "unknown";
}

PublisherOpen Publisher::open(PublisherConfig cfg, UnixMs now) {
  if (std::string problem = validate(cfg); !problem.empty()) return {nullptr, "publisher config: " + problem};
  // The Publisher syncs once per poll()/flush() round itself (group commit), so the spool never syncs alone.
  auto opened = Outbox::open(cfg.outbox_dir, cfg.outbox, {segment_log::FsyncMode::never, 0, 0}, now);
  if (!opened.outbox) return {nullptr, opened.error};
  std::unique_ptr<Publisher> p(new Publisher(std::move(cfg), std::move(opened.outbox)));

  // Paho's own buffer holds at most the send window plus a few status messages, so with this room it can
  // neither fill nor drop: the outbox is the real buffer.
  mqtt::create_options create(MQTTVERSION_3_1_1);
  create.set_send_while_disconnected(true);
  create.set_max_buffered_messages(static_cast<int>(2 * p->cfg_.window + 8));
  create.set_delete_oldest_messages(false);
  try {
    p->client_ = std::make_unique<mqtt::async_client>(p->cfg_.server_uri, p->client_id_, create, nullptr);
  } catch (const mqtt::exception& e) {
    return {nullptr, std::string("cannot create the MQTT client: ") + e.what()};
  }
  Publisher* self = p.get();
  p->client_->set_connected_handler([self](const std::string& cause) { self->on_connected(cause); });
  p->client_->set_connection_lost_handler([self](const std::string& cause) { self->on_connection_lost(cause); });
  return {std::move(p), {}};
}

Publisher::Publisher(PublisherConfig cfg, std::unique_ptr<Outbox> outbox)
    : cfg_(std::move(cfg)),
      client_id_(client_id(cfg_)),
      status_topic_(topic(cfg_, "status")),
      outbox_(std::move(outbox)),
      visits_(cfg_.visits),
      presence_(cfg_.presence),
      probes_(cfg_.probes),
      delivery_listener_(std::make_unique<DeliveryListener>(*this)),
      connect_listener_(std::make_unique<ConnectListener>(*this)) {
  next_seq_ = outbox_->next_seq();
  sent_before_ = next_seq_ - 1;  // whatever is still unacked may already have reached the broker once
  const segment_log::Depth d = outbox_->depth();
  counters_.outbox_records = d.unacked_records;
  counters_.outbox_bytes = d.unacked_bytes;
  counters_.outbox_disk_bytes = d.disk_bytes;
}

Publisher::~Publisher() {
  const UnixMs now = wall_now();
  closing_.store(true);  // Paho callbacks during teardown must not start new sends
  flush(now);
  bool was_connected = false;
  {
    std::lock_guard lock(mutex_);
    (void)outbox_->sync();
    was_connected = connected_;
    if (!held_.empty())
      spdlog::error("mqtt: shutting down with {} sealed batches that did not fit the full outbox: they are lost",
                    held_.size());
  }
  try {
    if (was_connected) {
      Status s{false, now, cfg_.software_version, client_id_, "shutdown"};
      auto tok = client_->publish(mqtt::make_message(status_topic_, encode_status(cfg_.tenant, cfg_.site, s), 1, true));
      (void)tok->wait_for(cfg_.shutdown_timeout);
    }
    // Also stops Paho's reconnect loop when the broker is away; a clean disconnect sends no last will.
    client_->disconnect(static_cast<int>(cfg_.shutdown_timeout.count()))->wait_for(cfg_.shutdown_timeout);
  } catch (const mqtt::exception&) {
    // Not connected: nothing to say goodbye to.
  }
  client_.reset();
}

SubmitVerdict Publisher::submit_visit(const SiteVisit& v, UnixMs now) {
  auto item = encode_visit(v);  // encoded before taking the lock: Paho's threads wait on it
  std::lock_guard lock(mutex_);
  return submit_locked(std::move(item), visits_, visits_first_ticket_, now);
}

SubmitVerdict Publisher::submit_presence(const PresenceChange& c, UnixMs now) {
  auto item = encode_presence_change(c);  // encoded before taking the lock: Paho's threads wait on it
  std::lock_guard lock(mutex_);
  return submit_locked(std::move(item), presence_, presence_first_ticket_, now);
}

SubmitVerdict Publisher::submit_locked(std::optional<std::string> item, MicroBatcher& batch,
                                       std::uint64_t& first_ticket, UnixMs now) {
  if (!item) {
    ++counters_.refused_not_pseudonym;
    return SubmitVerdict::not_pseudonym;
  }
  if (refuses_locked()) {
    ++counters_.refused_back_pressure;
    return SubmitVerdict::back_pressure;
  }
  // A full batch is sealed here but stored by the next poll(): one fdatasync then covers all of them.
  if (batch.full()) {
    seal_due_locked(now, false, false);
    if (held_.size() >= cfg_.max_sealed_waiting) store_held_locked(now);
  }
  if (refuses_locked() || !batch.add(std::move(*item), now)) {
    ++counters_.refused_back_pressure;
    return SubmitVerdict::back_pressure;
  }
  ++counters_.events_accepted;
  if (first_ticket == 0) first_ticket = tickets_ + 1;
  ++tickets_;
  return SubmitVerdict::accepted;
}

void Publisher::update_occupancy(const Occupancy& o, UnixMs now) {
  std::lock_guard lock(mutex_);
  occupancy_ = o;
  presence_.open(now);
}

void Publisher::update_probe_health(const ProbeReport& h, UnixMs now) {
  std::lock_guard lock(mutex_);
  probe_health_[h.probe] = h;
  probes_.open(now);
}

void Publisher::update_gateway_health(const GatewayHealth& g, UnixMs now) {
  std::lock_guard lock(mutex_);
  gateway_health_ = g;
  probes_.open(now);
}

void Publisher::poll(UnixMs now) {
  bool connect_now = false;
  {
    std::lock_guard lock(mutex_);
    seal_due_locked(now, false);
    if (!connected_ && !connecting_ && !ever_connected_ && now >= next_connect_at_) {
      connecting_ = true;
      connect_backoff_s_ = std::clamp<std::int64_t>(connect_backoff_s_ * 2, cfg_.reconnect_min.count(),
                                                    cfg_.reconnect_max.count());
      next_connect_at_ = now + connect_backoff_s_ * 1000;
      connect_now = true;
    }
  }
  if (connect_now) start_connect(now);
  pump();
}

void Publisher::flush(UnixMs now) {
  std::lock_guard lock(mutex_);
  seal_due_locked(now, true);
}

bool Publisher::accepts_more() const {
  std::lock_guard lock(mutex_);
  return !refuses_locked();
}

bool Publisher::refuses_locked() const { return full_reported_ && !held_.empty(); }

std::uint64_t Publisher::issued_tickets() const {
  std::lock_guard lock(mutex_);
  return tickets_;
}

std::uint64_t Publisher::durable_tickets() const {
  std::lock_guard lock(mutex_);
  return durable_;
}

void Publisher::refresh_durable_locked() {
  std::uint64_t lowest = 0;  // lowest ticket not yet durable
  auto consider = [&lowest](std::uint64_t t) {
    if (t != 0 && (lowest == 0 || t < lowest)) lowest = t;
  };
  consider(visits_first_ticket_);
  consider(presence_first_ticket_);
  if (unsynced_) consider(unsynced_first_ticket_);
  for (const Held& h : held_) consider(h.first_ticket);
  durable_ = lowest == 0 ? tickets_ : lowest - 1;
}

bool Publisher::connected() const {
  std::lock_guard lock(mutex_);
  return connected_;
}

PublishCounters Publisher::counters() const {
  std::lock_guard lock(mutex_);
  PublishCounters c = counters_;
  const segment_log::Depth d = outbox_->depth();
  c.outbox_records = d.unacked_records;
  c.outbox_bytes = d.unacked_bytes;
  c.outbox_disk_bytes = d.disk_bytes;
  // An outbox never drops for room (reject_newest); only damage on disk can take a batch.
  if (d.corrupt_records != 0) c.drops_by_reason["outbox_corrupt"] = d.corrupt_records;
  if (d.torn_records != 0) c.drops_by_reason["outbox_torn"] = d.torn_records;
  if (outbox_->foreign_records() != 0) c.drops_by_reason["outbox_foreign"] = outbox_->foreign_records();
  return c;
}

std::string Publisher::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void Publisher::seal_due_locked(UnixMs now, bool force, bool store) {
  if (visits_.is_open() && (force || visits_.due(now))) {
    seal_locked("visits", *visits_.seal(now), "visits", {}, std::exchange(visits_first_ticket_, 0));
  }
  if (presence_.is_open() && (force || presence_.due(now))) {
    std::string extra = R"("occupancy":)" + (occupancy_ ? encode_occupancy(*occupancy_) : std::string("null"));
    seal_locked("presence", *presence_.seal(now), "changes", std::move(extra), std::exchange(presence_first_ticket_, 0));
  }
  if (probes_.is_open() && (force || probes_.due(now))) {
    SealedItems sealed = *probes_.seal(now);
    for (const auto& [id, h] : probe_health_) sealed.items.push_back(encode_probe_health(h));
    std::string extra = R"("gateway":)" + (gateway_health_ ? encode_gateway_health(*gateway_health_) : std::string("null"));
    extra += R"(,"publisher":)" + publish_counters_json(counters_);
    seal_locked("probes", std::move(sealed), "probes", std::move(extra), 0);
  }
  if (store) store_held_locked(now);
}

void Publisher::seal_locked(std::string_view leaf, SealedItems sealed, std::string_view array_key, std::string extra,
                           std::uint64_t first_ticket) {
  const std::uint64_t seq = next_seq_++;
  const std::string batch_id = cfg_.site + "-" + std::to_string(outbox_->epoch()) + "-" + std::to_string(seq);
  BatchEnvelope env{batch_id, cfg_.tenant, cfg_.site, seq, sealed.sealed_at};
  held_.push_back({topic(cfg_, leaf), encode_batch(env, array_key, sealed.items, extra), seq, first_ticket});
  ++counters_.batches_sealed;
}

void Publisher::store_held_locked(UnixMs now) {
  while (!held_.empty()) {
    Held& h = held_.front();
    const OutboxError e = outbox_->append(h.seq, h.topic, h.payload, now);
    if (!e) {
      if (h.first_ticket != 0 && (unsynced_first_ticket_ == 0 || h.first_ticket < unsynced_first_ticket_))
        unsynced_first_ticket_ = h.first_ticket;
      unsynced_ = true;
      held_.pop_front();
      ++counters_.batches_stored;
      full_reported_ = false;
      continue;
    }
    if (e.code == OutboxErrc::full) {
      if (!full_reported_) {
        full_reported_ = true;
        ++counters_.full_events;
        spdlog::warn("mqtt outbox full ({} batches, {} bytes): refusing new data until the broker acks",
                     outbox_->depth().unacked_records, outbox_->depth().disk_bytes);
      }
      break;
    }
    if (e.code == OutboxErrc::record_too_large) {
      // Cannot ever fit: keeping it would block the outbox for good.
      ++counters_.drops_by_reason["record_too_large"];
      set_error_locked("batch " + std::to_string(h.seq) + " too large for the outbox: dropped");
      held_.pop_front();
      // Its seq is never stored; the next batch takes a higher one, which the outbox allows.
      continue;
    }
    ++counters_.outbox_errors;
    set_error_locked("outbox append: " + e.message());
    break;  // kept in memory, retried on the next poll
  }
  // Group commit: one fdatasync for every batch this round stored.
  if (unsynced_ && cfg_.outbox_fsync.mode != segment_log::FsyncMode::never) {
    if (const OutboxError e = outbox_->sync()) {
      ++counters_.outbox_errors;
      set_error_locked("outbox sync: " + e.message());
      refresh_durable_locked();
      return;  // not durable yet: tickets stay pending, the next round syncs again
    }
  }
  unsynced_ = false;
  unsynced_first_ticket_ = 0;
  refresh_durable_locked();
}

void Publisher::start_connect(UnixMs now) {
  // Paho may keep pointers into the options: they live as long as the client.
  connect_opts_ = std::make_unique<mqtt::connect_options>();
  mqtt::connect_options& opts = *connect_opts_;
  opts.set_mqtt_version(MQTTVERSION_3_1_1);
  opts.set_clean_session(false);  // the broker keeps our in-flight QoS 1 state across reconnects
  opts.set_keep_alive_interval(cfg_.keep_alive);
  opts.set_connect_timeout(cfg_.connect_timeout);
  opts.set_automatic_reconnect(cfg_.reconnect_min, cfg_.reconnect_max);
  opts.set_max_inflight(static_cast<int>(cfg_.window));
  if (!cfg_.username.empty()) {
    opts.set_user_name(cfg_.username);
    opts.set_password(cfg_.password);
  }
  if (cfg_.tls.enabled) {
    mqtt::ssl_options ssl;
    if (!cfg_.tls.ca_file.empty()) ssl.set_trust_store(cfg_.tls.ca_file);
    if (!cfg_.tls.cert_file.empty()) {
      ssl.set_key_store(cfg_.tls.cert_file);
      ssl.set_private_key(cfg_.tls.key_file);
    }
    ssl.set_enable_server_cert_auth(cfg_.tls.verify_server);
    ssl.set_verify(cfg_.tls.verify_server);
    opts.set_ssl(std::move(ssl));
  }
  Status will{false, std::nullopt, cfg_.software_version, client_id_, "connection_lost"};
  opts.set_will_message(mqtt::make_message(status_topic_, encode_status(cfg_.tenant, cfg_.site, will), 1, true));
  (void)now;
  try {
    client_->connect(opts, nullptr, *connect_listener_);
  } catch (const mqtt::exception& e) {
    on_connect_failure(e.get_return_code());
  }
}

void Publisher::pump() {
  if (closing_.load()) return;
  pump_wanted_.store(true);
  while (pump_wanted_.load()) {
    std::unique_lock send(send_mutex_, std::try_to_lock);
    if (!send) return;  // the sender in charge sees pump_wanted_ when it lets go
    pump_wanted_.store(false);
    for (;;) {
      OutboxItem item;
      bool again = false;
      {
        std::lock_guard lock(mutex_);
        if (!connected_ || in_flight_.size() >= cfg_.window) break;
        OutboxError err;
        bool found = false;
        while ((found = outbox_->read_next(cursor_, item, err)) && in_flight_.count(item.seq) != 0) cursor_ = item.seq;
        if (err) {
          ++counters_.outbox_errors;
          set_error_locked("outbox read: " + err.message());
        }
        if (!found) break;
        cursor_ = item.seq;
        in_flight_.insert(item.seq);
        again = item.seq <= sent_before_ || item.seq <= highest_sent_;
        highest_sent_ = std::max(highest_sent_, item.seq);
        ++counters_.published;
        if (again) ++counters_.republished;
      }
      try {
        client_->publish(mqtt::make_message(item.topic, item.payload, 1, false),
                         reinterpret_cast<void*>(static_cast<std::uintptr_t>(item.seq)), *delivery_listener_);
      } catch (const mqtt::exception& e) {
        std::lock_guard lock(mutex_);
        in_flight_.erase(item.seq);
        cursor_ = std::min(cursor_, item.seq - 1);
        ++counters_.publish_errors;
        set_error_locked(std::string("publish refused by the client: ") + e.what());
        break;
      }
    }
    send.unlock();
  }
}

void Publisher::on_connected(const std::string& cause) {
  {
    std::lock_guard lock(mutex_);
    const bool reconnect = ever_connected_;
    connected_ = true;
    connecting_ = false;
    ever_connected_ = true;
    connect_backoff_s_ = 0;
    connected_since_ = wall_now();
    ++counters_.connects;
    // Paho resends what was in flight when the link dropped (persistent session): count those as republished.
    if (reconnect) {
      counters_.republished += in_flight_.size();
      counters_.published += in_flight_.size();
    }
    spdlog::info("mqtt connected to {} as {} ({})", cfg_.server_uri, client_id_, cause);
  }
  publish_status(true, "connected");
  pump();
}

void Publisher::on_connection_lost(const std::string& cause) {
  std::lock_guard lock(mutex_);
  connected_ = false;
  ++counters_.connection_losses;
  set_error_locked("connection to " + cfg_.server_uri + " lost" + (cause.empty() ? "" : ": " + cause));
}

void Publisher::on_connect_failure(int return_code) {
  std::lock_guard lock(mutex_);
  connecting_ = false;
  ++counters_.connect_failures;
  if (is_auth_refusal(return_code)) ++counters_.auth_failures;
  std::string message = describe_connect_failure(return_code) + " at " + cfg_.server_uri;
  if (cfg_.tls.enabled && !is_auth_refusal(return_code) && return_code < 0)
    message += " (TLS: check tls.ca_file against the broker's certificate and its name)";
  if (is_auth_refusal(return_code)) message += " as user '" + cfg_.username + "'";
  set_error_locked(std::move(message));
}

void Publisher::on_delivered(std::uint64_t seq) {
  {
    std::lock_guard lock(mutex_);
    in_flight_.erase(seq);
    if (outbox_->ack(seq)) ++counters_.acked;
  }
  pump();
}

void Publisher::on_delivery_failed(std::uint64_t seq, int return_code) {
  {
    std::lock_guard lock(mutex_);
    in_flight_.erase(seq);
    cursor_ = std::min(cursor_, seq - 1);  // send it again, in outbox order
    ++counters_.publish_errors;
    set_error_locked("delivery of batch " + std::to_string(seq) + " failed (client code " + std::to_string(return_code) +
                     "); it stays in the outbox");
  }
  pump();
}

void Publisher::publish_status(bool online, std::string_view reason) {
  if (closing_.load()) return;
  UnixMs since = 0;
  {
    std::lock_guard lock(mutex_);
    since = connected_since_;
  }
  Status s{online, since, cfg_.software_version, client_id_, std::string(reason)};
  try {
    client_->publish(mqtt::make_message(status_topic_, encode_status(cfg_.tenant, cfg_.site, s), 1, true));
  } catch (const mqtt::exception& e) {
    std::lock_guard lock(mutex_);
    set_error_locked(std::string("status publish refused: ") + e.what());
  }
}

void Publisher::set_error_locked(std::string message) {
  if (message != last_error_) spdlog::warn("mqtt: {}", message);
  last_error_ = std::move(message);
}

UnixMs Publisher::wall_now() const { return clock::wall_ms(); }

}  // namespace footfall::gateway::publish
