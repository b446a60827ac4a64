#include "probe/selftest/observe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "common/clock.h"
#include "common/file_text.h"
#include "common/unique_fd.h"
#include "common/wire/codec.h"
#include "probe/parse/packet.h"
#include "probe/pipeline/sighting.h"
#include "probe/spool/spool.h"
#include "probe/uplink/uplink.h"

extern char** environ;

namespace footfall::probe::selftest {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr auto kIwLimit = std::chrono::milliseconds(3000);
constexpr std::size_t kMaxProgramOutput = 1 << 20;  // iw prints a few KiB; more is cut, not buffered

std::string read_first_line(const fs::path& p) {
  std::string text = read_file(p, 4096).text;
  text.resize(std::min(text.size(), text.find('\n')));
  return text;
}

struct SpawnActions {
  posix_spawn_file_actions_t actions{};
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

struct PcapCreated {
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};

}  // namespace

InterfaceFacts observe_interface(const std::string& name) {
  InterfaceFacts f;
  f.name = name;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/sys/class/net", ec)) f.present.push_back(entry.path().filename());
  std::sort(f.present.begin(), f.present.end());
  if (name.empty() || name.find('/') != std::string::npos) return f;
  const fs::path dir = fs::path("/sys/class/net") / name;
  if (!fs::exists(dir, ec)) return f;
  f.exists = true;
  try {
    f.arphrd = std::stoi(read_first_line(dir / "type"));
    f.up = (std::stoul(read_first_line(dir / "flags"), nullptr, 16) & 0x1) != 0;  // IFF_UP
  } catch (const std::exception&) {
  }
  if (fs::exists(dir / "phy80211", ec)) {
    f.wireless = true;
    f.phy = read_first_line(dir / "phy80211" / "name");
  }
  const fs::path driver = fs::read_symlink(dir / "device" / "driver", ec);
  if (!ec) f.driver = driver.filename();
  return f;
}

ProgramOutput run_program(const std::vector<std::string>& args, std::chrono::milliseconds limit) {
  ProgramOutput result;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return result;
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  SpawnActions spawn;
  posix_spawn_file_actions_adddup2(&spawn.actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&spawn.actions, err_write.get(), STDERR_FILENO);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], &spawn.actions, nullptr, argv.data(), environ) != 0) return result;
  result.started = true;
  out_write.close_now();
  err_write.close_now();

  const auto deadline = std::chrono::steady_clock::now() + limit;
  bool out_open = true;
  bool err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_open ? out_read.get() : -1, POLLIN, 0}, {err_open ? err_read.get() : -1, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      std::array<char, 4096> chunk{};
      const ssize_t n = ::read(fds[i].fd, chunk.data(), chunk.size());
      std::string& into = i == 0 ? result.out : result.err;
      if (n > 0 && into.size() < kMaxProgramOutput) into.append(chunk.data(), static_cast<std::size_t>(n));
      if (n <= 0) (i == 0 ? out_open : err_open) = false;
    }
  }
  if (result.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  // posix_spawnp reports a missing program as exit 127 of the child on glibc.
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && result.out.empty()) result.started = false;
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

MonitorFacts observe_monitor_support(const InterfaceFacts& interface) {
  MonitorFacts f;
  f.interface = interface;
  if (!interface.exists) return f;
  if (interface.arphrd == kArphrdIeee80211Radiotap || interface.arphrd == kArphrdIeee80211Prism ||
      interface.arphrd == kArphrdIeee80211)
    return f;  // the link type says it all

  if (interface.wireless) {
    const ProgramOutput dev = run_program({"iw", "dev", interface.name, "info"}, kIwLimit);
    if (!dev.started) {
      f.iw_error = "not installed (apt-get install iw)";
    } else if (dev.timed_out || dev.status != 0) {
      f.iw_error = dev.timed_out ? "no answer" : dev.err.substr(0, dev.err.find('\n'));
    } else {
      f.iw_available = true;
      f.iw_dev = parse_iw_dev_info(dev.out);
      std::string phy = interface.phy;
      if (phy.empty() && f.iw_dev && f.iw_dev->wiphy) phy = "phy" + std::to_string(*f.iw_dev->wiphy);
      if (!phy.empty()) {
        const ProgramOutput info = run_program({"iw", "phy", phy, "info"}, kIwLimit);
        if (info.started && !info.timed_out && info.status == 0) f.iw_phy = parse_iw_phy_info(info.out);
        else f.iw_error = "iw phy " + phy + " info failed";
      }
    }
  }

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  const std::unique_ptr<pcap_t, PcapCreated> p(pcap_create(interface.name.c_str(), errbuf));
  if (!p) {
    f.pcap_error = errbuf;
    return f;
  }
  const int can = pcap_can_set_rfmon(p.get());
  f.pcap_can_rfmon = can;
  if (can < 0) f.pcap_error = std::string(pcap_statustostr(can)) + ": " + pcap_geterr(p.get());
  return f;
}

CaptureAttempt open_capture(const config::ProbeConfig::Source& source, const InterfaceFacts& interface) {
  CaptureAttempt attempt;
  CaptureFacts& f = attempt.facts;
  f.interface = source.interface;
  f.already_monitor = interface.arphrd == kArphrdIeee80211Radiotap || interface.arphrd == kArphrdIeee80211Prism ||
                      interface.arphrd == kArphrdIeee80211;
  f.requested_rfmon = source.monitor && !f.already_monitor;
  capture::LiveOptions live;
  live.interface = source.interface;
  live.monitor = f.requested_rfmon;
  live.snaplen = static_cast<int>(source.snaplen);
  live.buffer_bytes = static_cast<int>(source.buffer_kb * 1024);
  live.filter = source.filter;
  try {
    attempt.source.emplace(capture::PcapSource::open_live(live));
    f.opened = true;
    f.link_type = attempt.source->link_type();
    f.link_type_name = attempt.source->link_type_name();
    f.filter = attempt.source->filter();
    f.warnings = attempt.source->warnings();
  } catch (const capture::CaptureError& e) {
    f.error = e.what();
  }
  return attempt;
}

FrameTally listen(capture::PcapSource& source, std::chrono::milliseconds window) {
  FrameTally tally;
  const capture::StopOnSignals stop_on_signals(source);
  const auto deadline = std::chrono::steady_clock::now() + window;
  capture::PacketView packet;
  parse::ParsedPacket parsed;
  while (std::chrono::steady_clock::now() < deadline) {
    const capture::ReadStatus status = source.next(packet);
    if (status == capture::ReadStatus::timeout) continue;
    if (status != capture::ReadStatus::packet) break;
    parse::parse_packet_into(parsed, source.link_type(), packet.bytes, packet.wire_length, /*want_ble=*/true);
    if (const auto s = pipeline::to_sighting(parsed, packet.ts_ns)) tally.add(*s);
  }
  return tally;
}

namespace {

// The Hello exchange as a chain of async steps on a private io_context, run for at most the deadline.
class HelloExchange {
 public:
  using Tcp = asio::ip::tcp;

  HelloExchange(const config::ProbeConfig& config, std::string version, GatewayAnswer& answer)
      : config_(config), version_(std::move(version)), answer_(answer), resolver_(io_) {}

  void run(std::chrono::milliseconds limit) {
    const auto& tls = config_.gateway.tls;
    answer_.tls = tls.enabled();
    if (tls.enabled()) {
      try {
        tls_.emplace(uplink::make_client_tls_context(tls));
      } catch (const std::exception& e) {
        answer_.reached = GatewayAnswer::Stage::tls_handshake;
        answer_.error = e.what();
        return;
      }
    }
    stream_.emplace(io_, tls_ ? &*tls_ : nullptr);
    resolver_.async_resolve(config_.gateway.host, std::to_string(config_.gateway.port),
                            [this](const error_code& ec, const Tcp::resolver::results_type& endpoints) {
                              if (ec) return stop("cannot resolve " + config_.gateway.host + ": " + ec.message());
                              answer_.reached = GatewayAnswer::Stage::connect;
                              asio::async_connect(stream_->socket(), endpoints,
                                                  [this](const error_code& cec, const Tcp::endpoint&) {
                                                    if (cec) return stop("cannot connect: " + cec.message());
                                                    connected();
                                                  });
                            });
    io_.run_for(limit);
    if (!done_) {
      answer_.timed_out = true;
      answer_.error = "no answer within uplink.connect_timeout_ms (" + std::to_string(limit.count()) + " ms)";
    }
  }

 private:
  void connected() {
    if (!tls_) return send_hello();
    answer_.reached = GatewayAnswer::Stage::tls_handshake;
    const auto& tls = config_.gateway.tls;
    const std::string& name = tls.server_name.empty() ? config_.gateway.host : tls.server_name;
    stream_->async_handshake(name, [this](const error_code& ec) {
      if (ec) return stop("TLS handshake failed: " + ec.message());
      send_hello();
    });
  }

  void send_hello() {
    answer_.reached = GatewayAnswer::Stage::hello;
    answer_.sent_ns = clock::wall_ns();
    // The spool's own identity, as the running probe sends it, so the gateway answers for this spool's batches.
    std::uint64_t spool_id = 0;
    if (const FileText id = read_file(fs::path(config_.spool.dir) / spool::kIdentityFile, 64); id.ok())
      spool_id = spool::parse_identity(id.text).value_or(0);
    const wire::Hello hello{config_.probe_id, config_.token, version_, answer_.sent_ns, spool_id};
    if (auto bad = encoder_.encode(hello, frame_)) return stop("cannot encode the Hello: " + std::string(to_string(*bad)));
    auto on_written = [this](const error_code& ec, std::size_t) {
      if (ec) return stop("cannot send the Hello: " + ec.message());
      read();
    };
    stream_->async_write(asio::buffer(frame_), on_written);
  }

  void read() {
    auto on_read = [this](const error_code& ec, std::size_t n) {
      if (ec) return stop(ec == asio::error::eof ? std::string("the gateway closed the connection before replying")
                              : "read failed: " + ec.message());
      pending_.insert(pending_.end(), chunk_.begin(), chunk_.begin() + static_cast<std::ptrdiff_t>(n));
      wire::Message message;
      const auto r = decoder_.parse(pending_, message);
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(r.consumed));
      if (r.status == wire::ParseStatus::need_more) return read();
      if (r.status == wire::ParseStatus::bad) return stop("bad frame from the gateway: " + std::string(to_string(r.reason)));
      const auto* reply = std::get_if<wire::HelloReply>(&message);
      if (reply == nullptr) return stop("unexpected " + std::string(wire::to_string(wire::type_of(message))));
      answer_.received_ns = clock::wall_ns();
      answer_.reached = GatewayAnswer::Stage::replied;
      answer_.reply = *reply;
      stop({});
    };
    stream_->async_read_some(asio::buffer(chunk_), on_read);
  }

  void stop(std::string error) {
    done_ = true;
    answer_.error = std::move(error);
    stream_->close();
    io_.stop();
  }

  const config::ProbeConfig& config_;
  std::string version_;
  GatewayAnswer& answer_;
  asio::io_context io_;
  Tcp::resolver resolver_;
  std::optional<uplink::TlsClientContext> tls_;
  std::optional<uplink::GatewayStream> stream_;
  wire::Encoder encoder_;
  wire::Decoder decoder_ = wire::Decoder::for_probe();  // the gateway sends replies and acks, no batches
  std::vector<std::uint8_t> frame_;
  std::array<std::uint8_t, 4096> chunk_{};
  std::vector<std::uint8_t> pending_;
  bool done_ = false;
};

}  // namespace

GatewayAnswer say_hello(const config::ProbeConfig& config, const std::string& software_version) {
  GatewayAnswer answer;
  answer.endpoint = config.gateway.host + ":" + std::to_string(config.gateway.port);
  HelloExchange exchange(config, software_version, answer);
  exchange.run(std::chrono::milliseconds(config.uplink.connect_timeout_ms));
  return answer;
}

ClockFacts observe_clock(const GatewayAnswer* answer) {
  ClockFacts f;
  f.wall_ns = clock::wall_ns();
  timex tx{};
  const int state = ::adjtimex(&tx);
  if (state >= 0) f.synchronized = state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
  if (answer != nullptr && answer->reply && answer->reply->status == wire::HelloStatus::accepted &&
      answer->reply->gateway_clock_ns != 0) {
    // The gateway stamped its reply somewhere within the round trip: assume the middle.
    const std::int64_t middle = answer->sent_ns + (answer->received_ns - answer->sent_ns) / 2;
    f.offset_ns = answer->reply->gateway_clock_ns - middle;
    f.uncertainty_ns = (answer->received_ns - answer->sent_ns) / 2;
  }
  return f;
}

SpoolFacts observe_spool(const config::ProbeConfig::Spool& spool) {
  SpoolFacts f;
  f.dir = spool.dir;
  f.max_bytes = static_cast<std::uint64_t>(spool.max_mb) << 20;
  std::error_code ec;
  const fs::path dir(spool.dir);
  if (!fs::exists(dir, ec)) {
    f.created = fs::create_directories(dir, ec);
    if (ec) {
      f.error = "cannot create it: " + ec.message();
      return f;
    }
  } else if (!fs::is_directory(dir, ec)) {
    f.error = "exists and is not a directory";
    return f;
  }
  const fs::path probe_file = dir / (".selftest-" + std::to_string(::getpid()));
  {
    const UniqueFd fd(::open(probe_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
      f.error = std::string("cannot create a file there: ") + std::strerror(errno);
      return f;
    }
    static constexpr char kBytes[] = "footfall selftest\n";
    const bool written = ::write(fd.get(), kBytes, sizeof kBytes - 1) == static_cast<ssize_t>(sizeof kBytes - 1) &&
                         ::fdatasync(fd.get()) == 0;
    if (!written) f.error = std::string("cannot write and sync a file there: ") + std::strerror(errno);
  }
  fs::remove(probe_file, ec);
  if (!f.error.empty()) return f;
  f.writable = true;
  struct statvfs vfs{};
  if (::statvfs(dir.c_str(), &vfs) == 0) f.free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec)) f.used_bytes += entry.file_size(ec);
  return f;
}

}  // namespace footfall::probe::selftest
