#include "probe/selftest/checks.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace footfall::probe::selftest {

namespace {

std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::optional<int> leading_int(std::string_view s) {
  int v = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) v = v * 10 + (s[i] - '0');
  if (i == 0) return std::nullopt;
  return v;
}

std::string arphrd_name(int t) {
  switch (t) {
    case kArphrdEther: return "Ethernet";
    case kArphrdIeee80211: return "802.11";
    case kArphrdIeee80211Prism: return "802.11 + prism";
    case kArphrdIeee80211Radiotap: return "802.11 + radiotap";
    case 772: return "loopback";
    default: return "ARPHRD " + std::to_string(t);
  }
}

bool is_monitor_arphrd(int t) {
  return t == kArphrdIeee80211 || t == kArphrdIeee80211Prism || t == kArphrdIeee80211Radiotap;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

std::string seconds_text(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(ns) / 1e9);
  return buf;
}

}  // namespace

CheckResult judge_interface(const InterfaceFacts& f) {
  CheckResult r{"interface", CheckStatus::fail, {}, {}};
  if (f.name.empty()) {
    r.detail = "no source.interface in the config";
    r.hint = "set source.interface to the radio's monitor interface (e.g. wlan0mon); see hw/install-guide.md";
    return r;
  }
  if (!f.exists) {
    r.detail = "no interface named '" + f.name + "'";
    r.hint = "interfaces here: " + (f.present.empty() ? std::string("none") : join(f.present, ", ")) +
             "; is the radio plugged in and its driver loaded (dmesg, lsusb)? fix source.interface";
    return r;
  }
  std::string what = f.name + " exists (" + arphrd_name(f.arphrd);
  if (f.wireless) what += ", " + f.phy + (f.driver.empty() ? "" : ", driver " + f.driver);
  what += f.up ? ", up)" : ", down)";
  r.detail = what;
  if (!f.up) {
    r.hint = "bring it up: ip link set " + f.name + " up";
    return r;
  }
  r.status = CheckStatus::pass;
  return r;
}

std::optional<IwDevInfo> parse_iw_dev_info(std::string_view text) {
  IwDevInfo info;
  bool interface_seen = false;
  for (const auto raw : lines_of(text)) {
    const std::string line = trim(raw);
    if (line.starts_with("Interface ")) interface_seen = true;
    else if (line.starts_with("type ")) info.type = trim(line.substr(5));
    else if (line.starts_with("wiphy ")) info.wiphy = leading_int(line.substr(6));
    else if (line.starts_with("channel ")) {
      const auto open = line.find('(');
      if (open != std::string::npos) info.freq_mhz = leading_int(std::string_view(line).substr(open + 1));
    }
  }
  if (!interface_seen || info.type.empty()) return std::nullopt;
  return info;
}

bool IwPhyInfo::supports(std::string_view mode) const {
  return std::find(modes.begin(), modes.end(), mode) != modes.end();
}

std::optional<IwPhyInfo> parse_iw_phy_info(std::string_view text) {
  IwPhyInfo info;
  bool wiphy_seen = false;
  bool in_modes = false;
  for (const auto raw : lines_of(text)) {
    const std::string line = trim(raw);
    if (line.starts_with("Wiphy ")) wiphy_seen = true;
    if (line.starts_with("Supported interface modes") || line.starts_with("software interface modes")) {
      in_modes = true;
      continue;
    }
    if (in_modes && line.starts_with("* ")) {
      const std::string mode = trim(line.substr(2));
      if (!info.supports(mode)) info.modes.push_back(mode);
      continue;
    }
    in_modes = false;
  }
  if (!wiphy_seen) return std::nullopt;
  return info;
}

CheckResult judge_monitor_support(const MonitorFacts& f) {
  CheckResult r{"monitor", CheckStatus::fail, {}, {}};
  const InterfaceFacts& i = f.interface;
  if (is_monitor_arphrd(i.arphrd)) {
    r.status = CheckStatus::pass;
    r.detail = "link type is " + arphrd_name(i.arphrd) + " already: in monitor mode" +
               (i.wireless ? "" : " (a virtual monitor, e.g. footfall-vmon)") + " [method: link type]";
    return r;
  }
  const std::string hint_radio = "this radio or its driver cannot do monitor mode: use one from hw/radios.md";
  if (f.iw_dev && f.iw_dev->type == "monitor") {
    r.status = CheckStatus::pass;
    r.detail = i.name + " is of type monitor [method: nl80211 via iw]";
    return r;
  }
  if (f.iw_phy) {
    const std::string phy = i.phy.empty() ? "the phy" : i.phy;
    const std::string current = f.iw_dev ? " (now " + f.iw_dev->type + ")" : "";
    if (f.iw_phy->supports("monitor")) {
      r.status = CheckStatus::pass;
      r.detail = phy + " lists monitor among its interface modes" + current + " [method: nl80211 via iw]";
      if (f.pcap_can_rfmon) r.detail += "; libpcap can set rfmon: " + std::string(*f.pcap_can_rfmon == 1 ? "yes" : "no");
      return r;
    }
    r.detail = phy + " interface modes: " + join(f.iw_phy->modes, ", ") + ": no monitor [method: nl80211 via iw]";
    r.hint = hint_radio;
    return r;
  }
  if (!i.wireless) {
    r.detail = i.name + " is not a wireless interface (" + arphrd_name(i.arphrd) + ")";
    r.hint = "pick the radio's interface (iw dev lists them) or create a monitor one: iw phy phy0 interface add mon0 type monitor";
    return r;
  }
  const std::string why_no_iw = f.iw_error.empty() ? "" : " (iw: " + f.iw_error + ")";
  if (f.pcap_can_rfmon && *f.pcap_can_rfmon == 1) {
    r.status = CheckStatus::pass;
    r.detail = "libpcap can set rfmon on " + i.name + " [method: pcap_can_set_rfmon]" + why_no_iw;
    return r;
  }
  if (f.pcap_can_rfmon && *f.pcap_can_rfmon == 0) {
    r.detail = "libpcap cannot set rfmon on " + i.name + " [method: pcap_can_set_rfmon]" + why_no_iw;
    r.hint = hint_radio + " (installing iw gives a surer answer: apt-get install iw)";
    return r;
  }
  r.detail = "could not find out" + why_no_iw + (f.pcap_error.empty() ? "" : "; libpcap: " + f.pcap_error);
  r.hint = "run as root (capturing needs CAP_NET_RAW and CAP_NET_ADMIN) and install iw (apt-get install iw)";
  return r;
}

CheckResult judge_capture(const CaptureFacts& f) {
  CheckResult r{"capture", CheckStatus::fail, {}, {}};
  if (!f.opened) {
    r.detail = f.error;
    if (f.error.find("root") != std::string::npos || f.error.find("ermission") != std::string::npos)
      r.hint = "run footfall-probe as root (or give it CAP_NET_RAW and CAP_NET_ADMIN)";
    else if (f.requested_rfmon)
      r.hint = "the driver refused monitor mode: create a monitor interface (iw phy phy0 interface add mon0 type "
               "monitor; ip link set mon0 up) and point source.interface at it";
    else
      r.hint = "check source.interface, source.filter and source.snaplen";
    return r;
  }
  const bool dot11 = f.link_type == 105 || f.link_type == 119 || f.link_type == 127 || f.link_type == 163 ||
                     f.link_type == 192;
  const std::string how = f.already_monitor ? "already in monitor mode, rfmon not requested"
                          : f.requested_rfmon ? "monitor mode set (rfmon)"
                                              : "rfmon not requested (source.monitor false)";
  r.detail = "opened " + f.interface + ": " + how + ", link type " + f.link_type_name +
             (f.filter.empty() ? ", no filter" : ", filter '" + f.filter + "'");
  if (!f.warnings.empty()) r.detail += "; libpcap: " + f.warnings;
  if (!dot11) {
    r.hint = "the capture carries no 802.11 headers: set source.monitor true, or use a monitor interface";
    return r;
  }
  r.status = CheckStatus::pass;
  return r;
}

void FrameTally::add(const Sighting& s) {
  ++frames_;
  ++kinds_[std::min<std::size_t>(static_cast<std::size_t>(s.kind), 3)];
  if (s.has_rssi) {
    ++with_signal_;
    strongest_ = std::max<int>(strongest_, s.rssi_dbm);
    weakest_ = std::min<int>(weakest_, s.rssi_dbm);
  }
  ++per_freq_[s.freq_mhz];
  if (senders_.size() < kMaxSenders) senders_.insert(s.mac.as_u64());
  else if (!senders_.contains(s.mac.as_u64())) senders_capped_ = true;
}

int channel_of(std::uint16_t f) {
  if (f == 2484) return 14;
  if (f >= 2412 && f <= 2472) return (f - 2407) / 5;
  if (f >= 5160 && f <= 5885) return (f - 5000) / 5;
  if (f >= 5955 && f <= 7115) return (f - 5950) / 5;
  return 0;
}

CheckResult judge_frames(const FrameTally& t, double window_s, std::uint64_t min_frames) {
  CheckResult r{"frames", CheckStatus::fail, {}, {}};
  char window[32];
  std::snprintf(window, sizeof window, "%.1f s", window_s);
  using std::to_string;
  std::string d = to_string(t.frames()) + " frame(s) in " + window;
  if (t.frames() > 0) {
    d += " (probe requests " + to_string(t.of_kind(SightingKind::probe_req)) + ", beacons " +
         to_string(t.of_kind(SightingKind::beacon)) + ", probe responses " +
         to_string(t.of_kind(SightingKind::probe_resp));
    if (t.of_kind(SightingKind::ble_adv) > 0) d += ", BLE " + to_string(t.of_kind(SightingKind::ble_adv));
    d += "; " + to_string(t.devices()) + (t.devices_capped() ? "+" : "") + " sender(s)); channels";
    for (const auto& [freq, n] : t.per_freq()) {
      if (freq == 0) d += " unknown x" + to_string(n);
      else d += " " + to_string(channel_of(freq)) + " (" + to_string(freq) + " MHz) x" + to_string(n);
    }
    if (t.with_signal() > 0)
      d += "; strongest " + to_string(t.strongest_dbm()) + " dBm, weakest " + to_string(t.weakest_dbm()) + " dBm";
    else d += "; no signal values in the radio headers";
  }
  r.detail = std::move(d);
  if (t.frames() >= min_frames && t.frames() > 0) {
    r.status = CheckStatus::pass;
    return r;
  }
  r.detail += ", expected at least " + std::to_string(std::max<std::uint64_t>(min_frames, 1));
  r.hint = "nothing heard: check the antenna, the channel (hw/placement.md, channel plan), that the interface is "
           "really in monitor mode and source.filter; or listen longer (--listen)";
  return r;
}

CheckResult judge_gateway(const GatewayAnswer& a, std::string_view probe_id) {
  CheckResult r{"gateway", CheckStatus::fail, {}, {}};
  const std::string id(probe_id);
  const std::string via = a.endpoint + (a.tls ? " (TLS)" : " (plain TCP)");
  if (a.reply) {
    const wire::HelloReply& reply = *a.reply;
    if (reply.status == wire::HelloStatus::accepted) {
      r.status = CheckStatus::pass;
      r.detail = via + " accepted probe '" + id + "'; round trip " + seconds_text(a.received_ns - a.sent_ns) +
                 ", gateway holds its batches through seq " + std::to_string(reply.acked_through);
      return r;
    }
    r.detail = via + " refused probe '" + id + "': " + std::string(wire::to_string(reply.reason));
    switch (reply.reason) {
      case wire::RefuseReason::bad_token:
        r.hint = "the token differs from the gateway's probes[] entry for '" + id +
                 "': use the probe.json written by footfall-gateway provision";
        break;
      case wire::RefuseReason::unknown_probe:
        r.hint = "the gateway has no probe '" + id + "': run footfall-gateway provision --probe " + id +
                 " (it tells a running gateway to reload; else: systemctl reload footfall-gateway)";
        break;
      case wire::RefuseReason::duplicate_session:
        r.hint = "probe '" + id + "' is connected already: stop footfall-probe run while testing, or two probes share the id";
        break;
      case wire::RefuseReason::unsupported_version:
        r.hint = "the gateway and the probe run incompatible versions: update both to the same release";
        break;
      case wire::RefuseReason::certificate_mismatch:
        r.hint = "the client certificate (gateway.tls.cert_file) is not the one made for '" + id +
                 "': use the probe.crt and probe.key that footfall-gateway provision wrote with this probe.json";
        break;
      default:
        r.hint = "the gateway is at its connection limit: try again, or raise limits.max_connections";
        break;
    }
    return r;
  }
  r.detail = via + ": " + (a.error.empty() ? std::string("no answer") : a.error);
  switch (a.reached) {
    case GatewayAnswer::Stage::resolve:
      r.hint = "cannot resolve gateway.host: check the name (or use the gateway's address) and the probe's DNS";
      break;
    case GatewayAnswer::Stage::connect:
      r.hint = a.timed_out ? "no answer to the connection: wrong address, a firewall, or the gateway is off"
                           : "nothing listens there: is footfall-gateway running, and do gateway.host / gateway.port "
                             "match its listen.address / listen.port?";
      break;
    case GatewayAnswer::Stage::tls_handshake:
      r.hint = "TLS failed: gateway.tls.ca_file must be the CA of the gateway certificate, gateway.tls.server_name "
               "a name in it; a gateway with listen.tls.client_ca_file needs cert_file / key_file";
      break;
    default:
      r.hint = a.tls ? "the gateway closed or did not answer the Hello: is it a footfall-gateway, and does it "
                       "require client certificates (gateway.tls.cert_file)?"
                     : "the gateway closed or did not answer the Hello: does it use TLS (set gateway.tls.ca_file)?";
      break;
  }
  return r;
}

CheckResult judge_clock(const ClockFacts& f) {
  CheckResult r{"clock", CheckStatus::fail, {}, {}};
  r.detail = format_utc(f.wall_ns);
  const std::string sync = !f.synchronized ? "" : *f.synchronized ? ", NTP synchronized" : ", NTP not synchronized";
  if (f.wall_ns < kEarliestSaneNs || f.wall_ns >= kLatestSaneNs) {
    r.detail += ": not a plausible date" + sync;
    r.hint = "the clock is not set (boards without a battery clock start in the past): enable NTP "
             "(timedatectl set-ntp true) and check the probe reaches a time server";
    return r;
  }
  r.detail += sync;
  if (!f.offset_ns) {
    r.status = CheckStatus::pass;
    r.detail += "; not compared with the gateway (no accepted Hello)";
    return r;
  }
  const std::int64_t off = *f.offset_ns;
  const std::int64_t mag = off < 0 ? -off : off;
  r.detail += "; " + seconds_text(mag) + (off >= 0 ? " behind" : " ahead of") + " the gateway (+/- " +
              seconds_text(f.uncertainty_ns) + ")";
  if (mag > f.tolerance_ns + f.uncertainty_ns) {
    r.detail += ", tolerance " + seconds_text(f.tolerance_ns);
    r.hint = "set the time: enable NTP on the probe and the gateway (same source); the gateway corrects small "
             "offsets only";
    return r;
  }
  r.status = CheckStatus::pass;
  return r;
}

CheckResult judge_spool(const SpoolFacts& f) {
  CheckResult r{"spool", CheckStatus::fail, {}, {}};
  if (!f.writable) {
    r.detail = f.dir + ": not writable: " + f.error;
    r.hint = "spool.dir must be a directory the probe can write (root-owned /var/lib/footfall/spool on a "
             "read-write filesystem)";
    return r;
  }
  const std::uint64_t room = f.free_bytes + f.used_bytes;
  r.detail = f.dir + (f.created ? " created and writable; " : " writable; ") + format_bytes(f.free_bytes) +
             " free" + (f.used_bytes > 0 ? " + " + format_bytes(f.used_bytes) + " in the spool" : "") +
             " for spool.max_mb " + format_bytes(f.max_bytes);
  if (room < f.max_bytes) {
    r.hint = "free space on that filesystem or lower spool.max_mb (a full disk stops the probe, a full spool only "
             "drops the oldest batches)";
    return r;
  }
  r.status = CheckStatus::pass;
  return r;
}

std::string format_bytes(std::uint64_t bytes) {
  char buf[32];
  if (bytes >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  else std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  return buf;
}

std::string format_utc(std::int64_t ns) {
  const std::time_t s = static_cast<std::time_t>(ns / 1'000'000'000 - (ns < 0 && ns % 1'000'000'000 ? 1 : 0));
  std::tm tm{};
  if (gmtime_r(&s, &tm) == nullptr) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace footfall::probe::selftest
