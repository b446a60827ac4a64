#include "probe/capture/pcap_source.h"

#include <poll.h>
#include <stdio_ext.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "probe/parse/packet.h"

namespace footfall::probe::capture {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
// Stdio buffer of a capture file: 128 KiB to 1 MiB read alike; this size stays in a core's L2 cache.
constexpr std::size_t kFileBufferBytes = 256 * 1024;

// libpcap prefixes open errors with the path; the caller names the file once already.
std::string strip_path_prefix(std::string_view message, std::string_view path) {
  if (!path.empty() && message.starts_with(path) && message.substr(path.size()).starts_with(": ")) {
    message.remove_prefix(path.size() + 2);
  }
  return std::string(message);
}

std::string display_name(const std::string& path) { return path == "-" ? std::string("standard input") : "'" + path + "'"; }

// Every link type the parser may decode, in the order we prefer them on an interface that offers several.
constexpr int kKnownLinkTypes[] = {127, 192, 105, 119, 163, 256, 251, 147};

std::string supported_link_types() {
  std::string list;
  for (int lt : kKnownLinkTypes) {
    if (!parse::supported_link_type(lt)) continue;
    if (!list.empty()) list += ", ";
    list += describe_link_type(lt);
  }
  return list.empty() ? std::string("none") : list;
}

struct BpfProgram {
  bpf_program program{};
  bool compiled = false;
  ~BpfProgram() {
    if (compiled) pcap_freecode(&program);
  }
};

std::atomic<PcapSource*> g_stop_target{nullptr};
volatile std::sig_atomic_t g_stop_signal = 0;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};
static_assert(std::atomic<PcapSource*>::is_always_lock_free, "signal handler needs a lock-free pointer");

extern "C" void stop_on_signal(int signal_number) {
  g_stop_signal = signal_number;
  if (PcapSource* source = g_stop_target.load()) source->request_stop();
}

}  // namespace

std::string describe_link_type(int link_type) {
  const char* name = pcap_datalink_val_to_name(link_type);
  return std::string(name != nullptr ? name : "unknown") + " (" + std::to_string(link_type) + ")";
}

bool is_dot11_link_type(int link_type) {
  switch (link_type) {
    case DLT_IEEE802_11:
    case DLT_PRISM_HEADER:
    case DLT_IEEE802_11_RADIO:
    case DLT_IEEE802_11_RADIO_AVS:
    case DLT_PPI:
      return true;
    default:
      return false;
  }
}

PcapSource::PcapSource(PcapHandle handle, std::string name, bool live)
    : handle_(std::move(handle)), name_(std::move(name)), live_(live), link_type_(pcap_datalink(handle_.get())) {}

void PcapSource::check_link_type() {
  link_type_ = pcap_datalink(handle_.get());
  if (parse::supported_link_type(link_type_)) return;
  throw CaptureError(CaptureError::Kind::unsupported_link_type,
                     (live_ ? "interface '" + name_ + "'" : "capture " + display_name(name_)) + " has link type " +
                         describe_link_type(link_type_) + ", which is not decoded (supported: " +
                         supported_link_types() + ")");
}

PcapSource PcapSource::open_file(const std::string& path) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // Nanosecond precision: libpcap scales microsecond files up, so ts is always in ns.
  std::FILE* file = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    throw CaptureError(CaptureError::Kind::cannot_open,
                       "cannot read capture " + display_name(path) + ": " + std::strerror(errno));
  }
  // libpcap reads record by record through stdio: a large buffer saves most of the read() calls (glibc
  // ignores the size unless it is handed the buffer). Standard input is never closed, so its buffer lives
  // as long as the program; a file's goes with its handle.
  std::unique_ptr<char[]> file_buffer;
  if (file == stdin) {
    static char stdin_buffer[kFileBufferBytes];
    std::setvbuf(file, stdin_buffer, _IOFBF, sizeof stdin_buffer);
  } else {
    file_buffer = std::make_unique_for_overwrite<char[]>(kFileBufferBytes);
    std::setvbuf(file, file_buffer.get(), _IOFBF, kFileBufferBytes);
  }
  // Only libpcap reads this FILE, from the one thread that calls next(): without this, stdio takes and
  // releases its lock (two atomic operations) on each of the two freads per packet.
  __fsetlocking(file, FSETLOCKING_BYCALLER);
  // On success pcap_close() closes the file; on failure we must.
  pcap_t* raw = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (raw == nullptr && file != stdin) std::fclose(file);
  if (raw == nullptr) {
    throw CaptureError(CaptureError::Kind::cannot_open,
                       "cannot read capture " + display_name(path) + ": " + strip_path_prefix(errbuf, path));
  }
  PcapSource source(PcapHandle(raw, PcapCloser{std::move(file_buffer)}), path, false);
  source.nanosecond_ = true;
  source.check_link_type();
  return source;
}

PcapSource PcapSource::open_live(const LiveOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  const std::string where = "cannot capture on '" + options.interface + "': ";
  pcap_t* raw = pcap_create(options.interface.c_str(), errbuf);
  if (raw == nullptr) throw CaptureError(CaptureError::Kind::live_setup, where + errbuf);
  PcapSource source(PcapHandle(raw), options.interface, true);
  pcap_t* p = source.handle_.get();

  pcap_set_snaplen(p, options.snaplen);
  pcap_set_promisc(p, options.promiscuous ? 1 : 0);
  pcap_set_buffer_size(p, options.buffer_bytes);
  pcap_set_immediate_mode(p, 1);  // deliver each frame at once; the timeout only bounds idle waits
  pcap_set_timeout(p, options.timeout_ms);
  if (options.monitor) {
    const int can = pcap_can_set_rfmon(p);
    if (can == 0) {
      throw CaptureError(CaptureError::Kind::live_setup,
                         where + "this interface cannot be put in monitor mode (libpcap: rfmon not supported)");
    }
    if (can < 0) {
      const std::string detail = pcap_geterr(p);
      throw CaptureError(CaptureError::Kind::live_setup,
                         where + pcap_statustostr(can) + (detail.empty() ? "" : ": " + detail));
    }
    pcap_set_rfmon(p, 1);
  }
  // Not every platform has nanosecond stamps; microseconds are scaled on read.
  (void)pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);

  const int activated = pcap_activate(p);
  if (activated < 0) {
    const std::string status = pcap_statustostr(activated);
    const std::string detail = strip_path_prefix(pcap_geterr(p), options.interface);
    std::string message = where + status;
    if (!detail.empty() && detail != status) message += ": " + detail;
    if (activated == PCAP_ERROR_PERM_DENIED) message += " (capturing needs root or CAP_NET_RAW)";
    throw CaptureError(CaptureError::Kind::live_setup, message);
  }
  if (activated > 0) {
    const std::string detail = pcap_geterr(p);
    source.warnings_ = std::string(pcap_statustostr(activated)) + (detail.empty() ? "" : ": " + detail);
  }
  source.nanosecond_ = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO;
  source.timeout_ms_ = options.timeout_ms;
  source.wait_fd_ = pcap_get_selectable_fd(p);
  if (source.wait_fd_ >= 0 && pcap_setnonblock(p, 1, errbuf) != 0) source.wait_fd_ = -1;

  // An interface may offer several link types (e.g. Ethernet and radiotap); pick one we decode.
  if (!parse::supported_link_type(pcap_datalink(p))) {
    int* offered = nullptr;
    const int n = pcap_list_datalinks(p, &offered);
    bool switched = false;
    for (int preferred : kKnownLinkTypes) {
      for (int i = 0; i < n && !switched; ++i) {
        if (offered[i] == preferred && parse::supported_link_type(preferred) && pcap_set_datalink(p, preferred) == 0) {
          switched = true;
        }
      }
      if (switched) break;
    }
    if (offered != nullptr) pcap_free_datalinks(offered);
  }
  source.check_link_type();

  // Management frames only by default: the kernel drops data traffic before it costs us a copy.
  std::string program;
  if (options.filter.has_value()) {
    program = *options.filter;
  } else if (is_dot11_link_type(source.link_type_)) {
    program = "type mgt";
  }
  if (!program.empty()) {
    BpfProgram bpf;
    if (pcap_compile(p, &bpf.program, program.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      throw CaptureError(CaptureError::Kind::bad_filter,
                         "bad capture filter '" + program + "' for link type " +
                             describe_link_type(source.link_type_) + ": " + pcap_geterr(p));
    }
    bpf.compiled = true;
    if (pcap_setfilter(p, &bpf.program) != 0) {
      throw CaptureError(CaptureError::Kind::bad_filter,
                         "cannot set capture filter '" + program + "' on '" + options.interface + "': " + pcap_geterr(p));
    }
  }
  source.filter_ = program;
  return source;
}

ReadStatus PcapSource::next(PacketView& out) {
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(handle_.get(), &header, &data);
  if (rc == 0 && wait_fd_ >= 0 && stop_requested_ == 0) {
    // Live sources are non-blocking (libpcap's own timeout is not honoured in immediate mode):
    // wait here, bounded, so stop requests and deadlines are seen. A stop signal ends the wait early.
    pollfd readable{wait_fd_, POLLIN, 0};
    (void)::poll(&readable, 1, timeout_ms_);
    rc = pcap_next_ex(handle_.get(), &header, &data);
  }
  if (rc == 1) {
    const std::int64_t fraction = static_cast<std::int64_t>(header->ts.tv_usec);
    out.ts_ns = static_cast<std::int64_t>(header->ts.tv_sec) * kNanosPerSecond + (nanosecond_ ? fraction : fraction * 1000);
    out.bytes = std::span<const std::uint8_t>(data, header->caplen);
    out.wire_length = header->len;
    ++stats_.packets_read;
    return ReadStatus::packet;
  }
  if (rc == 0) return stop_requested_ != 0 ? ReadStatus::stopped : ReadStatus::timeout;
  if (rc == PCAP_ERROR_BREAK) {
    // Offline, BREAK also means end of file; only a stop request makes it "stopped".
    if (stop_requested_ != 0) return ReadStatus::stopped;
    return live_ ? ReadStatus::stopped : ReadStatus::end;
  }
  error_ = pcap_geterr(handle_.get());
  // A file cut inside a record ("truncated dump file; tried to read ..."): keep what came before.
  if (!live_ && std::string_view(error_).starts_with("truncated")) {
    stats_.truncated_file = 1;
    return ReadStatus::end;
  }
  return ReadStatus::error;
}

void PcapSource::request_stop() noexcept {
  stop_requested_ = 1;
  if (handle_) pcap_breakloop(handle_.get());
}

std::string PcapSource::link_type_name() const { return describe_link_type(link_type_); }

int PcapSource::snaplen() const { return pcap_snapshot(handle_.get()); }

int PcapSource::selectable_fd() const { return pcap_get_selectable_fd(handle_.get()); }

CaptureStats PcapSource::stats() {
  if (live_) {
    pcap_stat ps{};
    if (pcap_stats(handle_.get(), &ps) == 0) {
      stats_.have_pcap_stats = true;
      stats_.pcap_received = ps.ps_recv;
      stats_.pcap_dropped = ps.ps_drop;
      stats_.pcap_if_dropped = ps.ps_ifdrop;
    }
  }
  return stats_;
}

StopOnSignals::StopOnSignals(PcapSource& source) {
  g_stop_signal = 0;
  g_stop_target.store(&source);
  struct sigaction action {};
  action.sa_handler = stop_on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocked poll returns so the read loop sees the stop
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopOnSignals::~StopOnSignals() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  g_stop_target.store(nullptr);
}

bool StopOnSignals::requested() noexcept { return g_stop_signal != 0; }

int StopOnSignals::signal_number() noexcept { return static_cast<int>(g_stop_signal); }

}  // namespace footfall::probe::capture
