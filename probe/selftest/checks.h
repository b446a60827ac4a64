#pragma once
// The self-test's judgments: what was observed (plain facts, gathered by observe.h) in, a CheckResult out.
// No I/O here, so every verdict and hint is tested with made-up facts, and `iw` output is parsed from text.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/records.h"
#include "common/wire/messages.h"
#include "probe/selftest/check_report.h"

namespace footfall::probe::selftest {

// Linux ARPHRD_* values of /sys/class/net/<if>/type that matter here.
inline constexpr int kArphrdEther = 1;
inline constexpr int kArphrdIeee80211 = 801;          // raw 802.11
inline constexpr int kArphrdIeee80211Prism = 802;     // prism header
inline constexpr int kArphrdIeee80211Radiotap = 803;  // radiotap: monitor mode (and footfall-vmon's TAP)

struct InterfaceFacts {
  std::string name;
  bool exists = false;
  int arphrd = -1;        // /sys/class/net/<if>/type
  bool up = false;        // IFF_UP
  bool wireless = false;  // has a phy80211 (a mac80211 / cfg80211 radio)
  std::string phy;        // "phy0" when wireless
  std::string driver;     // kernel module behind it, when known
  std::vector<std::string> present;  // every interface name, for the hint when `name` is missing
};
CheckResult judge_interface(const InterfaceFacts& f);

// `iw dev <if> info`: what matters of it.
struct IwDevInfo {
  std::string type;  // managed, monitor, AP, ...
  std::optional<int> wiphy;
  std::optional<int> freq_mhz;
};
std::optional<IwDevInfo> parse_iw_dev_info(std::string_view text);

// `iw phy <phy> info`: the interface modes it lists (both the "Supported" and the "software" lists).
struct IwPhyInfo {
  std::vector<std::string> modes;
  [[nodiscard]] bool supports(std::string_view mode) const;
};
std::optional<IwPhyInfo> parse_iw_phy_info(std::string_view text);

// How monitor support was established: the answer names the method, since they differ in what they prove.
struct MonitorFacts {
  InterfaceFacts interface;
  bool iw_available = false;  // the iw program was found and answered
  std::optional<IwDevInfo> iw_dev;
  std::optional<IwPhyInfo> iw_phy;
  std::string iw_error;               // why iw gave nothing, when it did not
  std::optional<int> pcap_can_rfmon;  // pcap_can_set_rfmon: 1 yes, 0 no, < 0 a PCAP_ERROR_*
  std::string pcap_error;
};
CheckResult judge_monitor_support(const MonitorFacts& f);

// Opening the capture the way `footfall-probe run` will.
struct CaptureFacts {
  std::string interface;
  bool requested_rfmon = false;  // source.monitor, unless the link type is monitor already
  bool already_monitor = false;  // the link type was 802.11 before we asked for anything
  bool opened = false;
  int link_type = 0;             // DLT_* after opening
  std::string link_type_name;    // "IEEE802_11_RADIO (127)"
  std::string filter;
  std::string warnings;
  std::string error;
};
CheckResult judge_capture(const CaptureFacts& f);

// Frames heard during the listening window.
class FrameTally {
 public:
  void add(const Sighting& s);
  [[nodiscard]] std::uint64_t frames() const { return frames_; }
  [[nodiscard]] std::uint64_t with_signal() const { return with_signal_; }
  [[nodiscard]] int strongest_dbm() const { return strongest_; }
  [[nodiscard]] int weakest_dbm() const { return weakest_; }
  [[nodiscard]] const std::map<std::uint16_t, std::uint64_t>& per_freq() const { return per_freq_; }  // 0: unknown
  [[nodiscard]] std::uint64_t of_kind(SightingKind k) const { return kinds_[static_cast<std::size_t>(k)]; }
  [[nodiscard]] std::uint64_t devices() const { return senders_.size(); }
  [[nodiscard]] bool devices_capped() const { return senders_capped_; }

 private:
  static constexpr std::size_t kMaxSenders = 4096;  // distinct senders counted at most; beyond: "4096+"

  std::uint64_t frames_ = 0;
  std::uint64_t with_signal_ = 0;
  int strongest_ = -128;
  int weakest_ = 127;
  std::map<std::uint16_t, std::uint64_t> per_freq_;
  std::uint64_t kinds_[4] = {};
  std::set<std::uint64_t> senders_;
  bool senders_capped_ = false;
};

// Channel number of a centre frequency (2.4, 5 and 6 GHz bands); 0 when unknown.
int channel_of(std::uint16_t freq_mhz);

CheckResult judge_frames(const FrameTally& t, double window_s, std::uint64_t min_frames);

// One Hello with the probe's credentials, as far as it got.
struct GatewayAnswer {
  std::string endpoint;  // host:port
  bool tls = false;
  enum class Stage : std::uint8_t { resolve, connect, tls_handshake, hello, replied } reached = Stage::resolve;
  std::string error;     // set when it stopped before a reply
  bool timed_out = false;
  std::optional<wire::HelloReply> reply;
  std::int64_t sent_ns = 0;      // probe wall clock when the Hello left
  std::int64_t received_ns = 0;  // and when the reply came
};
CheckResult judge_gateway(const GatewayAnswer& a, std::string_view probe_id);

struct ClockFacts {
  std::int64_t wall_ns = 0;
  std::optional<bool> synchronized;       // the kernel's NTP state (adjtimex), when it could be read
  std::optional<std::int64_t> offset_ns;  // gateway clock minus probe clock, from the Hello exchange
  std::int64_t uncertainty_ns = 0;        // half the round trip of that exchange
  std::int64_t tolerance_ns = 2'000'000'000;
};
inline constexpr std::int64_t kEarliestSaneNs = 1'704'067'200'000'000'000;  // 2024-01-01T00:00:00Z
inline constexpr std::int64_t kLatestSaneNs = 4'102'444'800'000'000'000;    // 2100-01-01T00:00:00Z
CheckResult judge_clock(const ClockFacts& f);

struct SpoolFacts {
  std::string dir;
  bool created = false;     // it did not exist and the self-test made it (as `run` would)
  bool writable = false;    // a file was written, synced and removed there
  std::string error;        // why not
  std::uint64_t free_bytes = 0;  // statvfs, for an unprivileged writer
  std::uint64_t used_bytes = 0;  // what the spool holds already (it may reuse that room)
  std::uint64_t max_bytes = 0;   // spool.max_mb
};
CheckResult judge_spool(const SpoolFacts& f);

// "12.3 MiB", "4.0 GiB".
std::string format_bytes(std::uint64_t bytes);
// "2026-11-02T09:00:00Z"
std::string format_utc(std::int64_t ns);

}  // namespace footfall::probe::selftest
