#pragma once
// A gateway's side for the aggregator tests: a Paho client with a clean session that publishes at QoS 1 and
// waits (bounded) for each acknowledgement.
#include <chrono>
#include <string>

#include <mqtt/async_client.h>

namespace footfall::test {

class TestPublisher {
 public:
  explicit TestPublisher(const std::string& uri, const std::string& client_id = "footfall-test-gw")
      : client_(uri, client_id, nullptr) {
    mqtt::connect_options opts;
    opts.set_clean_session(true);
    client_.connect(opts)->wait_for(std::chrono::seconds(5));
  }
  ~TestPublisher() {
    try {
      client_.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
    }
  }
  TestPublisher(const TestPublisher&) = delete;
  TestPublisher& operator=(const TestPublisher&) = delete;

  bool publish(const std::string& topic, const std::string& payload) {
    return client_.publish(mqtt::make_message(topic, payload, 1, false))->wait_for(std::chrono::seconds(5));
  }

 private:
  mqtt::async_client client_;
};

}  // namespace footfall::test
