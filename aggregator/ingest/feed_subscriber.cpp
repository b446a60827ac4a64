#include "aggregator/ingest/feed_subscriber.h"

#include <filesystem>
#include <stdexcept>

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

namespace footfall::aggregator {
namespace {

// Paho reports the outcome of connect and subscribe to a listener object.
class OutcomeListener : public mqtt::iaction_listener {
 public:
  explicit OutcomeListener(std::function<void(bool, int)> fn) : fn_(std::move(fn)) {}
  void on_success(const mqtt::token& tok) override { fn_(true, tok.get_return_code()); }
  void on_failure(const mqtt::token& tok) override { fn_(false, tok.get_return_code()); }

 private:
  std::function<void(bool, int)> fn_;
};

}  // namespace

std::vector<std::string> feed_filters(const std::string& share_group) {
  std::vector<std::string> out;
  for (const char* leaf : {"visits", "presence", "probes", "sales"}) {
    std::string filter = std::string("footfall/v1/+/+/") + leaf;
    out.push_back(share_group.empty() ? filter : "$share/" + share_group + "/" + filter);
  }
  return out;
}

FeedSubscriber::FeedSubscriber(MqttIngestSettings settings, std::filesystem::path persist_dir, Handler handler)
    : settings_(std::move(settings)), persist_dir_(std::move(persist_dir)), handler_(std::move(handler)) {}

FeedSubscriber::~FeedSubscriber() { stop(std::chrono::seconds(2)); }

void FeedSubscriber::start() {
  std::error_code ec;
  std::filesystem::create_directories(persist_dir_, ec);
  if (ec) throw std::runtime_error("mqtt.persist_dir: cannot create " + persist_dir_.string() + ": " + ec.message());
  mqtt::create_options create(MQTTVERSION_3_1_1);
  // Figures are republished every interval and alerts are kept in the store: while the broker is away the
  // oldest buffered publish gives way (the client counts nothing itself; see publish_refused).
  create.set_send_while_disconnected(true);
  create.set_max_buffered_messages(static_cast<int>(settings_.max_buffered_publishes));
  create.set_delete_oldest_messages(true);
  try {
    client_ = std::make_unique<mqtt::async_client>(settings_.uri, settings_.client_id, create, persist_dir_.string());
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("mqtt.uri: cannot create the client for " + settings_.uri + ": " + e.what());
  }
  client_->set_connected_handler([this](const std::string& cause) { on_connected(cause); });
  client_->set_connection_lost_handler([this](const std::string& cause) {
    connected_ = false;
    {
      std::lock_guard lock(mutex_);
      ++counters_.connection_losses;
    }
    spdlog::warn("mqtt: connection to {} lost{}; reconnecting", settings_.uri, cause.empty() ? "" : ": " + cause);
  });
  client_->set_message_callback([this](mqtt::const_message_ptr msg) {
    {
      std::lock_guard lock(mutex_);
      ++counters_.messages;
    }
    handler_(msg->get_topic(), msg->get_payload_str());
  });
  connect();
}

void FeedSubscriber::connect() {
  if (stopping_ || connecting_) return;
  mqtt::connect_options opts;
  opts.set_mqtt_version(MQTTVERSION_3_1_1);
  opts.set_clean_session(false);  // the broker keeps our subscriptions and queues QoS 1 while we are away
  opts.set_keep_alive_interval(std::chrono::seconds(settings_.keep_alive_s));
  opts.set_connect_timeout(std::chrono::seconds(10));
  opts.set_automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(60));
  if (!settings_.username.empty()) {
    opts.set_user_name(settings_.username);
    opts.set_password(settings_.password);
  }
  if (settings_.uri.starts_with("ssl://")) {
    mqtt::ssl_options ssl;
    if (!settings_.ca_file.empty()) ssl.set_trust_store(settings_.ca_file);
    if (!settings_.cert_file.empty()) {
      ssl.set_key_store(settings_.cert_file);
      ssl.set_private_key(settings_.key_file);
    }
    ssl.set_enable_server_cert_auth(settings_.verify_server);
    ssl.set_verify(settings_.verify_server);
    opts.set_ssl(std::move(ssl));
  }
  connecting_ = true;
  if (!connect_listener_)
    connect_listener_ = std::make_unique<OutcomeListener>([this](bool ok, int code) {
      if (ok) return;  // on_connected does the work, also on reconnects
      connecting_ = false;
      {
        std::lock_guard lock(mutex_);
        ++counters_.connect_failures;
      }
      spdlog::warn("mqtt: cannot connect to {} (code {}); retrying", settings_.uri, code);
    });
  try {
    client_->connect(opts, nullptr, *connect_listener_);
  } catch (const mqtt::exception& e) {
    connecting_ = false;
    std::lock_guard lock(mutex_);
    ++counters_.connect_failures;
    spdlog::warn("mqtt: connect to {} refused: {}", settings_.uri, e.what());
  }
  next_attempt_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, std::chrono::seconds(60));
}

void FeedSubscriber::poll() {
  // After the first success Paho's automatic reconnect takes over.
  if (client_ && !ever_connected_ && !connecting_ && !stopping_ && std::chrono::steady_clock::now() >= next_attempt_)
    connect();
}

void FeedSubscriber::on_connected(const std::string&) {
  connected_ = true;
  ever_connected_ = true;
  connecting_ = false;
  backoff_ = std::chrono::seconds(1);
  {
    std::lock_guard lock(mutex_);
    ++counters_.connects;
  }
  spdlog::info("mqtt: connected to {} as {}", settings_.uri, settings_.client_id);
  subscribe();
}

void FeedSubscriber::subscribe() {
  const auto filters = feed_filters(settings_.share_group);
  if (!subscribe_listener_)
    subscribe_listener_ = std::make_unique<OutcomeListener>([this, filters](bool ok, int code) {
      if (ok) {
        spdlog::info("mqtt: subscribed to {} filters ({} ...)", filters.size(), filters.front());
        return;
      }
      std::lock_guard lock(mutex_);
      ++counters_.subscribe_failures;
      spdlog::error("mqtt: subscribe failed (code {})", code);
    });
  try {
    client_->subscribe(mqtt::string_collection::create(filters), std::vector<int>(filters.size(), 1), nullptr,
                       *subscribe_listener_);
  } catch (const mqtt::exception& e) {
    std::lock_guard lock(mutex_);
    ++counters_.subscribe_failures;
    spdlog::error("mqtt: subscribe refused: {}", e.what());
  }
}

bool FeedSubscriber::publish(const std::string& topic, const std::string& payload, bool retained) {
  if (!client_) return false;
  try {
    client_->publish(mqtt::make_message(topic, payload, 1, retained));
    std::lock_guard lock(mutex_);
    ++counters_.published;
    return true;
  } catch (const mqtt::exception& e) {
    std::lock_guard lock(mutex_);
    ++counters_.publish_refused;
    if (counters_.publish_refused <= 5 || counters_.publish_refused % 1000 == 0)
      spdlog::warn("mqtt: publish on {} refused: {}", topic, e.what());
    return false;
  }
}

void FeedSubscriber::stop(std::chrono::milliseconds timeout) {
  if (stopping_.exchange(true) || !client_) return;
  try {
    client_->disconnect(static_cast<int>(timeout.count()))->wait_for(timeout + std::chrono::seconds(1));
  } catch (const mqtt::exception&) {
    // Not connected: nothing to close.
  }
  connected_ = false;
}

SubscriberCounters FeedSubscriber::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace footfall::aggregator
