#pragma once
// A consumer for the publish tests: a Paho client subscribed at QoS 1 that records every message.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace mqtt {
class async_client;
}

namespace footfall::test {

struct Received {
  std::string topic;
  std::string payload;
  bool retained = false;
};

struct SubscriberOptions {
  std::string uri;
  std::string client_id = "footfall-test-consumer";
  std::string filter = "footfall/v1/#";
  bool persistent_session = false;  // clean_session false: the broker queues for us while we are away
  std::string ca_file;              // set for an ssl:// uri
  std::string username;
  std::string password;
};

class TestSubscriber {
 public:
  explicit TestSubscriber(SubscriberOptions opts);
  ~TestSubscriber();
  TestSubscriber(const TestSubscriber&) = delete;
  TestSubscriber& operator=(const TestSubscriber&) = delete;

  // Connects and subscribes, bounded; false with the reason in error() on failure.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  [[nodiscard]] std::vector<Received> messages() const;
  [[nodiscard]] std::size_t count(const std::string& topic) const;
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  SubscriberOptions opts_;
  std::unique_ptr<mqtt::async_client> client_;
  mutable std::mutex mutex_;
  std::vector<Received> messages_;
  std::string error_;
};

}  // namespace footfall::test
