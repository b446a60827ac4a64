#pragma once
// A real PostgreSQL server for the store tests: initdb in a temporary folder, the server on a free loopback
// port (and a private socket folder), run as the unprivileged user "nobody" when the test runs as root
// (PostgreSQL refuses root). Data folder and server removed on destruction. Needs Debian's postgresql-15
// (its programs in /usr/lib/postgresql/<version>/bin); setup_error() says why when a server cannot start,
// and the tests print it when they skip.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/scratch.h"

namespace footfall::test {

class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Starts the server on the same port and folder (bounded wait until it accepts connections).
  bool start();
  // Fast shutdown (sessions ended, clean) or, with immediate, the crash-like one.
  void stop(bool immediate = false);
  [[nodiscard]] bool running() const { return running_; }

  // libpq connection string of a database of the server ("footfall" is made at start).
  [[nodiscard]] std::string conninfo(const std::string& db = "footfall") const;
  // Makes another empty database (one per test case); false when createdb failed.
  bool create_database(const std::string& name);
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] const std::string& setup_error() const { return setup_error_; }
  [[nodiscard]] std::string log() const;
  // Runs one SQL text with psql against the test database; its output (tuples only, unaligned).
  [[nodiscard]] std::string sql(const std::string& text, const std::string& db = "footfall") const;

 private:
  int run_as_server_user(const std::vector<std::string>& argv) const;

  footfall::testing::TempDir dir_;
  std::filesystem::path bin_;
  std::uint16_t port_ = 0;
  bool running_ = false;
  std::string setup_error_;
};

}  // namespace footfall::test
