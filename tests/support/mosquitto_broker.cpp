#include "tests/support/mosquitto_broker.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>

extern char** environ;

namespace footfall::test {
namespace {

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

bool reap(pid_t pid, std::chrono::milliseconds timeout, int* status) {
  return wait_until([&] { return ::waitpid(pid, status, WNOHANG) == pid; }, timeout);
}

}  // namespace

pid_t spawn_program(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int run_program(const std::vector<std::string>& argv, const std::filesystem::path& log,
                std::chrono::milliseconds timeout) {
  const pid_t pid = spawn_program(argv, log);
  if (pid < 0) return -1;
  int status = 0;
  if (!reap(pid, timeout, &status)) {
    stop_program(pid, SIGKILL);
    return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void stop_program(pid_t pid, int sig, std::chrono::milliseconds timeout) {
  if (pid <= 0) return;
  ::kill(pid, sig);
  int status = 0;
  if (reap(pid, timeout, &status)) return;
  ::kill(pid, SIGKILL);
  (void)reap(pid, std::chrono::seconds(5), &status);
}

std::uint16_t pick_free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

MosquittoBroker::MosquittoBroker(BrokerOptions opts) : opts_(std::move(opts)), dir_("footfall-mosquitto") {
  port_ = pick_free_loopback_port();
  if (dir_.path().empty() || port_ == 0) {
    setup_error_ = "no temp folder or no free port";
    return;
  }
  const auto& d = dir_.path();
  std::ofstream conf(d / "mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n";
  if (::geteuid() == 0) conf << "user root\n";  // the temp folder is private: stay able to read it
  if (opts_.persistence) conf << "persistence true\npersistence_location " << d.string() << "/\n";
  if (opts_.users.empty()) {
    conf << "allow_anonymous true\n";
  } else {
    bool first = true;
    for (const auto& [user, password] : opts_.users) {
      std::vector<std::string> argv{"/usr/bin/mosquitto_passwd", "-b"};
      if (first) argv.push_back("-c");
      argv.insert(argv.end(), {(d / "passwd").string(), user, password});
      first = false;
      if (run_program(argv, d / "setup.log") != 0) setup_error_ = "mosquitto_passwd failed";
    }
    conf << "allow_anonymous false\npassword_file " << (d / "passwd").string() << "\n";
  }
  if (opts_.tls) {
    if (!make_certificates()) setup_error_ = "openssl failed: see " + (d / "setup.log").string();
    conf << "cafile " << (d / "ca.crt").string() << "\ncertfile " << (d / "server.crt").string() << "\nkeyfile "
         << (d / "server.key").string() << "\n";
  }
  conf.close();
  if (setup_error_.empty() && opts_.start && !start()) setup_error_ = "mosquitto did not start: " + log();
}

MosquittoBroker::~MosquittoBroker() { stop(SIGKILL); }

bool MosquittoBroker::make_certificates() {
  const auto& d = dir_.path();
  const auto log = d / "setup.log";
  const std::string openssl = "/usr/bin/openssl";
  std::ofstream(d / "san.cnf") << "subjectAltName=IP:127.0.0.1\n";
  const std::vector<std::vector<std::string>> steps{
      {openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       (d / "ca.key").string(), "-out", (d / "ca.crt").string(), "-days", "2", "-subj", "/CN=footfall test CA"},
      {openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       (d / "server.key").string(), "-out", (d / "server.csr").string(), "-subj", "/CN=127.0.0.1"},
      {openssl, "x509", "-req", "-in", (d / "server.csr").string(), "-CA", (d / "ca.crt").string(), "-CAkey",
       (d / "ca.key").string(), "-CAcreateserial", "-out", (d / "server.crt").string(), "-days", "2", "-extfile",
       (d / "san.cnf").string()},
  };
  for (const auto& argv : steps)
    if (run_program(argv, log) != 0) return false;
  return true;
}

bool MosquittoBroker::start() {
  if (pid_ > 0) return true;
  pid_ = spawn_program({"/usr/sbin/mosquitto", "-c", (dir_.path() / "mosquitto.conf").string()},
                       dir_.path() / "mosquitto.log");
  if (pid_ < 0) return false;
  const bool up = wait_until(
      [&] {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;  // exited: give up at once
        }
        return port_accepts(port_);
      },
      std::chrono::seconds(10));
  return up && pid_ > 0;
}

void MosquittoBroker::stop(int sig) {
  if (pid_ <= 0) return;
  stop_program(pid_, sig);
  pid_ = -1;
}

std::string MosquittoBroker::uri() const {
  return (opts_.tls ? "ssl://127.0.0.1:" : "tcp://127.0.0.1:") + std::to_string(port_);
}

std::string MosquittoBroker::log() const {
  std::ifstream in(dir_.path() / "mosquitto.log");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace footfall::test
