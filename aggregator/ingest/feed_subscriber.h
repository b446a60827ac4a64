#pragma once
// The aggregator's MQTT session (Paho C++ async client): QoS 1 subscriptions to the feed with a fixed
// client id and clean_session = false, so the broker queues while the aggregator is away; automatic
// reconnect (1..60 s; the first connection is retried by poll() with the same backoff). Received
// messages are kept in the client's file persistence until the handler returns, and the handler returns
// only once the batch is stored (see IngestPipeline), so a crash never loses an acknowledged message.
// The same session publishes the figures and alerts.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aggregator/config/aggregator_config.h"

namespace mqtt {
class async_client;
class iaction_listener;
}

namespace footfall::aggregator {

struct SubscriberCounters {
  std::uint64_t messages = 0;
  std::uint64_t connects = 0;
  std::uint64_t connect_failures = 0;
  std::uint64_t connection_losses = 0;
  std::uint64_t subscribe_failures = 0;
  std::uint64_t published = 0;
  std::uint64_t publish_refused = 0;  // the client refused (buffer full or not connected)
};

// The filters subscribed: footfall/v1/+/+/{visits,presence,probes,sales}, each under $share/{group}/ when set.
std::vector<std::string> feed_filters(const std::string& share_group);

class FeedSubscriber {
 public:
  // Called on Paho's thread for every message; may block (back-pressure to the broker).
  using Handler = std::function<void(const std::string& topic, const std::string& payload)>;

  FeedSubscriber(MqttIngestSettings settings, std::filesystem::path persist_dir, Handler handler);
  ~FeedSubscriber();
  FeedSubscriber(const FeedSubscriber&) = delete;
  FeedSubscriber& operator=(const FeedSubscriber&) = delete;

  // Creates the client; throws std::runtime_error with the reason (bad URI, persistence folder).
  void start();
  // Retries the first connection with backoff; call every second or so.
  void poll();
  // Disconnects (bounded); the handler is not called after it returns.
  void stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  [[nodiscard]] bool connected() const { return connected_; }
  // QoS 1. false when the client refused it (counted).
  bool publish(const std::string& topic, const std::string& payload, bool retained);
  [[nodiscard]] SubscriberCounters counters() const;

 private:
  void connect();
  void on_connected(const std::string& cause);
  void subscribe();

  std::unique_ptr<mqtt::iaction_listener> connect_listener_;
  std::unique_ptr<mqtt::iaction_listener> subscribe_listener_;
  MqttIngestSettings settings_;
  std::filesystem::path persist_dir_;
  Handler handler_;
  std::unique_ptr<mqtt::async_client> client_;
  std::atomic<bool> connected_{false};
  std::atomic<bool> ever_connected_{false};
  std::atomic<bool> connecting_{false};
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::seconds backoff_{1};
  mutable std::mutex mutex_;
  SubscriberCounters counters_;
};

}  // namespace footfall::aggregator
