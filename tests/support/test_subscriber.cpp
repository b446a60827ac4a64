#include "tests/support/test_subscriber.h"

#include <mqtt/async_client.h>

namespace footfall::test {

TestSubscriber::TestSubscriber(SubscriberOptions opts) : opts_(std::move(opts)) {}

TestSubscriber::~TestSubscriber() {
  if (!client_) return;
  try {
    client_->disconnect(1000)->wait_for(std::chrono::seconds(2));
  } catch (const mqtt::exception&) {
  }
}

bool TestSubscriber::start(std::chrono::milliseconds timeout) {
  try {
    client_ = std::make_unique<mqtt::async_client>(opts_.uri, opts_.client_id, nullptr);
    client_->set_message_callback([this](mqtt::const_message_ptr m) {
      std::lock_guard lock(mutex_);
      messages_.push_back({m->get_topic(), m->get_payload_str(), m->is_retained()});
    });
    // Subscribing again after every reconnect is harmless and covers a broker that lost the session.
    client_->set_connected_handler([this](const std::string&) {
      try {
        client_->subscribe(opts_.filter, 1);
      } catch (const mqtt::exception&) {
      }
    });
    mqtt::connect_options opts;
    opts.set_clean_session(!opts_.persistent_session);
    opts.set_automatic_reconnect(1, 1);
    opts.set_connect_timeout(5);
    if (!opts_.username.empty()) {
      opts.set_user_name(opts_.username);
      opts.set_password(opts_.password);
    }
    if (!opts_.ca_file.empty()) {
      mqtt::ssl_options ssl;
      ssl.set_trust_store(opts_.ca_file);
      opts.set_ssl(ssl);
    }
    if (!client_->connect(opts)->wait_for(timeout)) {
      error_ = "connect timed out";
      return false;
    }
    if (!client_->subscribe(opts_.filter, 1)->wait_for(timeout)) {
      error_ = "subscribe timed out";
      return false;
    }
    return true;
  } catch (const mqtt::exception& e) {
    error_ = e.what();
    return false;
  }
}

std::vector<Received> TestSubscriber::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::size_t TestSubscriber::count(const std::string& topic) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const Received& r : messages_) n += r.topic == topic ? 1 : 0;
  return n;
}

}  // namespace footfall::test
