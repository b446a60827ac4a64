#include "tests/support/postgres_server.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "tests/support/mosquitto_broker.h"

namespace footfall::test {
namespace {

// The newest server programs Debian installed (postgresql-15 on bookworm).
std::filesystem::path find_server_bin() {
  std::vector<std::filesystem::path> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec))
    if (std::filesystem::exists(e.path() / "bin" / "initdb")) found.push_back(e.path() / "bin");
  std::sort(found.begin(), found.end());
  return found.empty() ? std::filesystem::path() : found.back();
}

}  // namespace

PostgresServer::PostgresServer() : dir_("pg") {
  bin_ = find_server_bin();
  if (bin_.empty()) {
    setup_error_ = "no PostgreSQL server programs in /usr/lib/postgresql/*/bin (Debian package postgresql-15)";
    return;
  }
  port_ = pick_free_loopback_port();
  const auto& d = dir_.path();
  for (const char* sub : {"data", "socket"}) std::filesystem::create_directory(d / sub);
  if (::geteuid() == 0) {
    const passwd* nobody = ::getpwnam("nobody");
    if (nobody == nullptr) {
      setup_error_ = "no user \"nobody\" to run PostgreSQL as (it refuses to run as root)";
      return;
    }
    ::chmod(d.c_str(), 0755);
    for (const char* sub : {"data", "socket"})
      if (::chown((d / sub).c_str(), nobody->pw_uid, nobody->pw_gid) != 0) setup_error_ = "chown failed";
    // The server's log goes into a file the server user owns.
    std::ofstream((d / "server.log").string()).close();
    if (::chown((d / "server.log").c_str(), nobody->pw_uid, nobody->pw_gid) != 0) setup_error_ = "chown failed";
  }
  ::chmod((d / "data").c_str(), 0700);
  if (!setup_error_.empty()) return;
  if (run_as_server_user({(bin_ / "initdb").string(), "-D", (d / "data").string(), "-U", "footfall", "-A", "trust",
                          "-E", "UTF8", "--no-locale", "--no-sync"}) != 0) {
    setup_error_ = "initdb failed: " + footfall::testing::slurp(d / "setup.log");
    return;
  }
  if (!start()) {
    setup_error_ = "the PostgreSQL server did not start: " + log();
    return;
  }
  if (run_as_server_user({(bin_ / "createdb").string(), "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
                          "footfall", "footfall"}) != 0)
    setup_error_ = "createdb failed: " + footfall::testing::slurp(d / "setup.log");
}

PostgresServer::~PostgresServer() { stop(true); }

int PostgresServer::run_as_server_user(const std::vector<std::string>& argv) const {
  std::vector<std::string> full;
  if (::geteuid() == 0)
    full = {"/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  // setpriv keeps the environment: HOME and PWD of root are not readable by nobody, so run from the folder.
  return run_program(full, dir_.path() / "setup.log", std::chrono::seconds(60));
}

bool PostgresServer::start() {
  if (running_ || bin_.empty()) return running_;
  const auto& d = dir_.path();
  // fsync off: the tests stop the server cleanly or kill it, never the machine; durability is PostgreSQL's.
  const std::string options = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) +
                              " -c unix_socket_directories=" + (d / "socket").string() +
                              " -c fsync=off -c max_connections=60 -c shared_buffers=32MB";
  running_ = run_as_server_user({(bin_ / "pg_ctl").string(), "-D", (d / "data").string(), "-l",
                                 (d / "server.log").string(), "-o", options, "-w", "-t", "60", "start"}) == 0;
  return running_;
}

void PostgresServer::stop(bool immediate) {
  if (!running_) return;
  (void)run_as_server_user({(bin_ / "pg_ctl").string(), "-D", (dir_.path() / "data").string(), "-m",
                            immediate ? "immediate" : "fast", "-w", "-t", "60", "stop"});
  running_ = false;
}

std::string PostgresServer::conninfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + db + " user=footfall";
}

bool PostgresServer::create_database(const std::string& name) {
  return run_as_server_user({(bin_ / "createdb").string(), "-h", "127.0.0.1", "-p", std::to_string(port_), "-U",
                             "footfall", name}) == 0;
}

std::string PostgresServer::log() const { return footfall::testing::slurp(dir_.path() / "server.log"); }

std::string PostgresServer::sql(const std::string& text, const std::string& db) const {
  const auto out = dir_.path() / "psql.out";
  std::filesystem::remove(out);
  (void)run_program({(bin_ / "psql").string(), "-X", "-q", "-t", "-A", "-h", "127.0.0.1", "-p", std::to_string(port_),
                     "-U", "footfall", "-d", db, "-c", text},
                    out, std::chrono::seconds(60));
  std::string s = footfall::testing::slurp(out);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace footfall::test
