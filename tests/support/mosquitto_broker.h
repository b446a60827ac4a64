#pragma once
// A real mosquitto on a free loopback port for the publish tests: config and files in a temp folder,
// the broker a child process, stopped (and the folder removed) on destruction.
#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/scratch.h"

namespace footfall::test {

// Runs a program to completion (bounded); output goes to log. Returns its exit code, -1 when it could not run.
int run_program(const std::vector<std::string>& argv, const std::filesystem::path& log,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));
// Starts a program in the background with stdout/stderr to log; returns its pid, or -1.
pid_t spawn_program(const std::vector<std::string>& argv, const std::filesystem::path& log);
// Signals pid and reaps it, escalating to SIGKILL if it outlives the timeout.
void stop_program(pid_t pid, int sig, std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The tests' one temporary-folder helper (tests/support/scratch.h).
using TempDir = footfall::testing::TempDir;

std::uint16_t pick_free_loopback_port();

struct BrokerOptions {
  bool persistence = false;  // keep sessions and queued messages across a clean stop
  std::vector<std::pair<std::string, std::string>> users;  // non-empty: password_file, allow_anonymous false
  bool tls = false;  // the listener speaks TLS with a certificate from a CA made for the test
  bool start = true;
};

class MosquittoBroker {
 public:
  explicit MosquittoBroker(BrokerOptions opts = {});
  ~MosquittoBroker();
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Starts the broker on the same port and waits (bounded) until it accepts connections.
  bool start();
  void stop(int sig = SIGTERM);
  [[nodiscard]] bool running() const { return pid_ > 0; }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::string uri() const;
  [[nodiscard]] std::filesystem::path ca_file() const { return dir_.path() / "ca.crt"; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_.path(); }
  [[nodiscard]] std::string log() const;
  [[nodiscard]] const std::string& setup_error() const { return setup_error_; }

 private:
  bool make_certificates();

  BrokerOptions opts_;
  TempDir dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string setup_error_;
};

// Polls cond every few ms until it holds or the deadline passes.
template <class Cond>
bool wait_until(Cond&& cond, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) return cond();
    struct timespec ts{0, 5'000'000};
    ::nanosleep(&ts, nullptr);
  }
  return true;
}

}  // namespace footfall::test
