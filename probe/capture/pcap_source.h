#pragma once
// Where captured packets come from: a pcap / pcapng file, standard input, or a live interface.
// Opening may fail with a CaptureError (not the hot path); reading never throws: next() answers
// packet / timeout / end / stopped / error, and a file that ends mid-packet is counted, not fatal.
#include <pcap/pcap.h>

#include <csignal>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

namespace footfall::probe::capture {

struct PcapCloser {
  // The stdio buffer of the FILE a savefile handle reads, if we supplied one: freed only after pcap_close()
  // has closed that FILE.
  std::unique_ptr<char[]> file_buffer;
  void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

// One captured packet; the bytes belong to libpcap and stay valid until the next call to next().
struct PacketView {
  std::int64_t ts_ns = 0;                // capture time, nanoseconds since the Unix epoch
  std::span<const std::uint8_t> bytes;   // captured bytes (caplen)
  std::uint32_t wire_length = 0;         // original length on the air (len)
};

enum class ReadStatus : std::uint8_t {
  packet,   // `out` holds a packet
  timeout,  // live only: nothing arrived within the read timeout; call again
  end,      // the capture was read to its end (also when the file ended mid-packet)
  stopped,  // request_stop() was called
  error,    // a read error; error_message() says which
};

class CaptureError : public std::runtime_error {
 public:
  enum class Kind : std::uint8_t { cannot_open, unsupported_link_type, bad_filter, live_setup };
  CaptureError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct LiveOptions {
  std::string interface;
  bool monitor = false;              // ask for rfmon (monitor mode)
  int snaplen = 65535;
  int buffer_bytes = 4 * 1024 * 1024;  // kernel ring: absorbs bursts of beacons while we format output
  int timeout_ms = 100;              // bounds how long next() blocks, so stop requests and deadlines are seen
  bool promiscuous = true;
  // BPF program. Unset: "type mgt" on 802.11 link types, nothing otherwise. Empty string: no filter.
  std::optional<std::string> filter;
};

struct CaptureStats {
  std::uint64_t packets_read = 0;
  std::uint64_t truncated_file = 0;  // 1 when the file ended inside a packet record
  bool have_pcap_stats = false;      // live captures only
  std::uint64_t pcap_received = 0;   // ps_recv
  std::uint64_t pcap_dropped = 0;    // ps_drop: no room in the kernel buffer
  std::uint64_t pcap_if_dropped = 0; // ps_ifdrop: dropped by the interface / driver
};

class PcapSource {
 public:
  // `path` "-" reads standard input. Throws CaptureError (cannot_open / unsupported_link_type).
  static PcapSource open_file(const std::string& path);
  // Throws CaptureError (live_setup / unsupported_link_type / bad_filter). Warnings go to warnings().
  static PcapSource open_live(const LiveOptions& options);

  [[nodiscard]] ReadStatus next(PacketView& out);

  // Async-signal-safe: makes a blocked or later next() return ReadStatus::stopped.
  void request_stop() noexcept;

  [[nodiscard]] int link_type() const { return link_type_; }
  [[nodiscard]] std::string link_type_name() const;
  [[nodiscard]] bool live() const { return live_; }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& error_message() const { return error_; }
  [[nodiscard]] const std::string& warnings() const { return warnings_; }
  [[nodiscard]] const std::string& filter() const { return filter_; }  // the BPF program in force
  [[nodiscard]] int snaplen() const;
  // Counters so far; for live captures also refreshes the kernel's figures (pcap_stats).
  [[nodiscard]] CaptureStats stats();
  // For an event loop: readable when next() has something. -1 when the platform has no such fd.
  [[nodiscard]] int selectable_fd() const;
  [[nodiscard]] pcap_t* handle() const { return handle_.get(); }

 private:
  PcapSource(PcapHandle handle, std::string name, bool live);
  void check_link_type();

  PcapHandle handle_;
  std::string name_;
  bool live_ = false;
  int link_type_ = 0;
  bool nanosecond_ = true;
  int wait_fd_ = -1;  // live: polled by next() while nothing is ready
  int timeout_ms_ = 100;
  std::string error_;
  std::string warnings_;
  std::string filter_;
  CaptureStats stats_;
  volatile std::sig_atomic_t stop_requested_ = 0;  // set from a signal handler
};

// While alive, SIGINT and SIGTERM stop `source` (its next() answers stopped) instead of killing the
// process, so the caller can still print its summary. One at a time; the old handlers come back after.
class StopOnSignals {
 public:
  explicit StopOnSignals(PcapSource& source);
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
  [[nodiscard]] static bool requested() noexcept;
  [[nodiscard]] static int signal_number() noexcept;  // the signal that asked, 0 if none
};

// The name of a link type as libpcap knows it, with its number: "EN10MB (1)".
std::string describe_link_type(int link_type);
// 802.11 link types whose frames a "type mgt" filter applies to.
bool is_dot11_link_type(int link_type);

}  // namespace footfall::probe::capture
