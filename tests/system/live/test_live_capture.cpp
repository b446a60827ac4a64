// Live capture end to end without a radio: a virtual monitor interface (TAP with radiotap link type),
// `footfall-probe frames --interface` capturing on it, frames injected into it. Needs root and
// /dev/net/tun; skips with a message where the environment cannot host the interface.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tools/vmon/virtual_monitor.h"

extern char** environ;

namespace {

using Bytes = std::vector<std::uint8_t>;
using Clock = std::chrono::steady_clock;
using footfall::vmon::VirtualMonitor;
using footfall::vmon::VmonError;
using nlohmann::json;

constexpr auto kWait = std::chrono::seconds(15);

std::string bin(const char* program) { return std::string(FOOTFALL_BIN_DIR) + "/" + program; }

// A probe request in radiotap: 2437 MHz, the given signal; source 02:00:5e:10:00:<id>, sequence `seq`.
Bytes probe_request(std::uint8_t id, std::uint16_t seq, std::int8_t rssi_dbm) {
  Bytes b = {
      0x00, 0x00, 0x0f, 0x00, 0x2a, 0x00, 0x00, 0x00,  // radiotap: flags | channel | antenna signal
      0x00, 0x00, 0x85, 0x09, 0xa0, 0x00, static_cast<std::uint8_t>(rssi_dbm),
      0x40, 0x00, 0x00, 0x00,                          // probe request
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x02, 0x00, 0x5e, 0x10, 0x00, id,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      static_cast<std::uint8_t>(seq << 4), static_cast<std::uint8_t>(seq >> 4),
      0x00, 0x00,                                      // wildcard SSID
      0x01, 0x04, 0x02, 0x04, 0x0b, 0x16,              // supported rates
  };
  return b;
}

// A data frame: the default "type mgt" filter keeps it out of the capture.
const Bytes kDataFrame = {
    0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x08, 0x01, 0x00, 0x00, 0x00, 0x1b, 0x63, 0xaa, 0xbb, 0xcc, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x99,
    0x00, 0x1b, 0x63, 0xaa, 0xbb, 0xcc, 0x10, 0x00, 0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00,
};

std::string interface_name(const char* prefix) { return prefix + std::to_string(::getpid()); }

// The interface, or nullopt with a printed reason when this environment cannot create one.
std::optional<VirtualMonitor> make_monitor(const std::string& name) {
  if (::geteuid() != 0) {
    MESSAGE("skipped: live capture test needs root (TAP interface, packet capture)");
    return std::nullopt;
  }
  try {
    return VirtualMonitor::create(name);
  } catch (const VmonError& e) {
    if (e.unavailable()) {
      MESSAGE("skipped: cannot create a virtual monitor interface here: " << std::string(e.what()));
      return std::nullopt;
    }
    FAIL("creating virtual monitor '" << name << "': " << std::string(e.what()));
  }
  return std::nullopt;
}

// A program run with its standard output and error captured; killed if still running at the end.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& args) {
    int out[2];
    int err[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    REQUIRE_MESSAGE(rc == 0, "cannot start " << args[0]);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0 && !exit_status_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }

  bool wait_for_stderr(const std::string& text, Clock::time_point deadline) {
    while (err_.find(text) == std::string::npos) {
      if (!pump(deadline)) return false;
    }
    return true;
  }
  bool wait_for_lines(std::size_t n, Clock::time_point deadline) {
    while (lines().size() < n) {
      if (!pump(deadline)) return false;
    }
    return true;
  }
  // The exit status once the child has exited and both pipes are drained; nullopt at the deadline.
  std::optional<int> wait_exit(Clock::time_point deadline) {
    while (!exit_status_ || out_fd_ >= 0 || err_fd_ >= 0) {
      if (!exit_status_) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) exit_status_ = status;
      }
      if (!pump(deadline, std::chrono::milliseconds(20))) return std::nullopt;
    }
    return WIFEXITED(*exit_status_) ? WEXITSTATUS(*exit_status_) : 128 + WTERMSIG(*exit_status_);
  }
  void signal(int number) const { ::kill(pid_, number); }

  [[nodiscard]] std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out_);
    for (std::string line; std::getline(in, line);) {
      if (!in.eof()) result.push_back(line);  // complete lines only
    }
    return result;
  }
  [[nodiscard]] const std::string& err() const { return err_; }

 private:
  // Waits for output (at most `slice`, never past the deadline); false once the deadline has passed.
  bool pump(Clock::time_point deadline, std::chrono::milliseconds slice = std::chrono::milliseconds(200)) {
    const auto now = Clock::now();
    if (now >= deadline) return false;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(std::min(left, slice).count()) + 1);
    if (ready > 0) {
      drain(fds[0], out_fd_, out_);
      drain(fds[1], err_fd_, err_);
    }
    return true;
  }
  static void drain(const pollfd& p, int& fd, std::string& into) {
    if (fd < 0 || (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
    char chunk[4096];
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n > 0) {
      into.append(chunk, static_cast<std::size_t>(n));
    } else {
      ::close(fd);
      fd = -1;
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::optional<int> exit_status_;
};

struct Expected {
  std::uint8_t id;
  std::uint16_t seq;
  std::int8_t rssi;
};

void check_lines(const std::vector<std::string>& lines, const std::vector<Expected>& expected) {
  REQUIRE(lines.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const json j = json::parse(lines[i]);
    char sa[18];
    std::snprintf(sa, sizeof(sa), "02:00:5e:10:00:%02x", expected[i].id);
    CHECK(j["kind"] == "probe_req");
    CHECK(j["sa"] == sa);
    CHECK(j["seq"] == expected[i].seq);
    CHECK(j["rssi_dbm"] == expected[i].rssi);
    CHECK(j["freq_mhz"] == 2437);
    CHECK(j["randomized"] == true);
    CHECK(j["ts_ns"].get<std::int64_t>() > 0);
  }
}

// Removes an interface made by the command-line tool, whatever happens in the test.
struct InterfaceGuard {
  std::string name;
  ~InterfaceGuard() {
    try {
      if (VirtualMonitor::exists(name)) VirtualMonitor::destroy(name);
    } catch (const VmonError&) {
    }
  }
};

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};

}  // namespace

TEST_CASE("live capture on a virtual monitor prints exactly the injected frames, then stops at --count") {
  const std::string name = interface_name("ffmon");
  std::optional<VirtualMonitor> monitor = make_monitor(name);
  if (!monitor) return;

  const std::vector<Expected> expected = {{1, 10, -40}, {2, 11, -55}, {3, 4095, -90}, {1, 0, -30}, {4, 2048, -67}};
  ChildProcess probe({bin("footfall-probe"), "frames", "--interface", name, "--count", std::to_string(expected.size())});
  const auto deadline = Clock::now() + kWait;
  REQUIRE_MESSAGE(probe.wait_for_stderr("listening on " + name, deadline), "probe never started: " << probe.err());
  CHECK(probe.err().find("IEEE802_11_RADIO (127)") != std::string::npos);

  for (const Expected& e : expected) monitor->inject(probe_request(e.id, e.seq, e.rssi));

  REQUIRE_MESSAGE(probe.wait_for_lines(expected.size(), deadline), "got: " << probe.lines().size() << " lines; " << probe.err());
  const std::optional<int> exit_status = probe.wait_exit(deadline);
  REQUIRE(exit_status.has_value());
  CHECK(*exit_status == 0);
  check_lines(probe.lines(), expected);
  CHECK(probe.err().find("summary: packets_read=5 frames=5 probe_req=5") != std::string::npos);
  CHECK(probe.err().find("pcap_dropped=0") != std::string::npos);
}

TEST_CASE("SIGTERM stops a live capture cleanly; the default filter keeps data frames out") {
  const std::string name = interface_name("ffsig");
  std::optional<VirtualMonitor> monitor = make_monitor(name);
  if (!monitor) return;

  ChildProcess probe({bin("footfall-probe"), "frames", "--interface", name});
  const auto deadline = Clock::now() + kWait;
  REQUIRE(probe.wait_for_stderr("listening on " + name, deadline));
  CHECK(probe.err().find("filter 'type mgt'") != std::string::npos);

  monitor->inject(kDataFrame);
  monitor->inject(probe_request(7, 77, -61));
  REQUIRE(probe.wait_for_lines(1, deadline));
  probe.signal(SIGTERM);
  const std::optional<int> exit_status = probe.wait_exit(deadline);
  REQUIRE(exit_status.has_value());
  CHECK(*exit_status == 0);
  check_lines(probe.lines(), {{7, 77, -61}});
  CHECK(probe.err().find("summary: packets_read=1 ") != std::string::npos);  // the data frame never arrived
}

TEST_CASE("footfall-vmon: create, inject a capture file, delete") {
  const std::string name = interface_name("ffcli");
  if (!make_monitor(interface_name("ffchk"))) return;  // same skip rules; that probe interface is removed at once

  InterfaceGuard guard{name};
  ChildProcess create({bin("footfall-vmon"), "create", name});
  const auto deadline = Clock::now() + kWait;
  const std::optional<int> created = create.wait_exit(deadline);
  REQUIRE(created.has_value());
  REQUIRE_MESSAGE(*created == 0, create.err());
  CHECK(VirtualMonitor::exists(name));

  // A capture file with three probe requests.
  const std::vector<Expected> expected = {{0x21, 100, -45}, {0x22, 200, -50}, {0x23, 300, -80}};
  const std::string path = (std::filesystem::temp_directory_path() / (name + ".pcap")).string();
  {
    std::unique_ptr<pcap_t, PcapCloser> dead(pcap_open_dead(DLT_IEEE802_11_RADIO, 65535));
    std::unique_ptr<pcap_dumper_t, DumperCloser> dumper(pcap_dump_open(dead.get(), path.c_str()));
    REQUIRE(dumper != nullptr);
    std::uint32_t second = 1700000000;
    for (const Expected& e : expected) {
      const Bytes frame = probe_request(e.id, e.seq, e.rssi);
      pcap_pkthdr header{};
      header.ts.tv_sec = second++;
      header.caplen = header.len = static_cast<bpf_u_int32>(frame.size());
      pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &header, frame.data());
    }
  }

  ChildProcess probe({bin("footfall-probe"), "frames", "--interface", name, "--count", "3"});
  REQUIRE(probe.wait_for_stderr("listening on " + name, deadline));
  ChildProcess inject({bin("footfall-vmon"), "inject", name, "--read", path});
  const std::optional<int> injected = inject.wait_exit(deadline);
  std::filesystem::remove(path);
  REQUIRE(injected.has_value());
  CHECK_MESSAGE(*injected == 0, inject.err());
  CHECK(inject.err().find("injected 3 frames") != std::string::npos);

  const std::optional<int> probe_exit = probe.wait_exit(deadline);
  REQUIRE(probe_exit.has_value());
  CHECK(*probe_exit == 0);
  check_lines(probe.lines(), expected);

  ChildProcess remove({bin("footfall-vmon"), "delete", name});
  const std::optional<int> removed = remove.wait_exit(deadline);
  REQUIRE(removed.has_value());
  CHECK_MESSAGE(*removed == 0, remove.err());
  CHECK_FALSE(VirtualMonitor::exists(name));

  // Deleting a real interface is refused.
  ChildProcess refuse({bin("footfall-vmon"), "delete", "lo"});
  const std::optional<int> refused = refuse.wait_exit(deadline);
  REQUIRE(refused.has_value());
  CHECK(*refused == 2);
  CHECK(VirtualMonitor::exists("lo"));
}
