// The installer tools' pure parts: check judgments and hints, the report, `iw` output parsing, the walk-test
// statistics and threshold rule, and the provisioning token.
#include <doctest/doctest.h>

#include <string>

#include "probe/selftest/check_report.h"
#include "probe/selftest/checks.h"
#include "probe/selftest/walk_test.h"
#include "gateway/commands/provision_command.h"

using namespace footfall;
using namespace footfall::probe::selftest;

namespace {

// `iw dev wlan1 info` of an Alfa AWUS036ACM (mt76x2u) in managed mode.
constexpr const char* kIwDevManaged = R"(Interface wlan1
	ifindex 4
	wdev 0x100000001
	addr 00:c0:ca:aa:bb:cc
	type managed
	wiphy 1
	channel 6 (2437 MHz), width: 20 MHz, center1: 2437 MHz
	txpower 20.00 dBm
	multicast TXQ:
		qsz-byt	qsz-pkt	flows	drops	marks	overlmt	hashcol	tx-bytes	tx-packets
		0	0	0	0	0	0	0	0		0
)";

constexpr const char* kIwDevMonitor = R"(Interface mon0
	ifindex 5
	wdev 0x100000002
	addr 00:c0:ca:aa:bb:cc
	type monitor
	wiphy 1
	channel 11 (2462 MHz), width: 20 MHz (no HT), center1: 2462 MHz
)";

// `iw phy phy1 info`, cut to the parts that matter (bands, commands and combinations elided).
constexpr const char* kIwPhyWithMonitor = R"(Wiphy phy1
	wiphy index: 1
	max # scan SSIDs: 4
	Supported Ciphers:
		* WEP40 (00-0f-ac:1)
		* CCMP-128 (00-0f-ac:4)
	Available Antennas: TX 0x3 RX 0x3
	Supported interface modes:
		 * IBSS
		 * managed
		 * AP
		 * AP/VLAN
		 * monitor
		 * mesh point
	Band 1:
		Capabilities: 0x1ff
		Frequencies:
			* 2412 MHz [1] (20.0 dBm)
	software interface modes (can always be added):
		 * AP/VLAN
		 * monitor
	valid interface combinations:
		 * #{ IBSS } <= 1, #{ managed, AP, mesh point } <= 2,
		   total <= 2, #channels <= 1
)";

// A FullMAC chip whose driver offers no monitor mode.
constexpr const char* kIwPhyNoMonitor = R"(Wiphy phy0
	wiphy index: 0
	Supported interface modes:
		 * IBSS
		 * managed
		 * AP
		 * P2P-client
		 * P2P-GO
		 * P2P-device
	Band 1:
		Capabilities: 0x1062
)";

Sighting sighting(const char* mac, int rssi, std::uint16_t freq = 2437, SightingKind kind = SightingKind::probe_req,
                  std::int64_t ts = 1'000'000'000) {
  Sighting s;
  s.mac = *MacAddress::parse(mac);
  s.rssi_dbm = static_cast<std::int8_t>(rssi);
  s.has_rssi = true;
  s.freq_mhz = freq;
  s.kind = kind;
  s.ts_ns = ts;
  return s;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("iw dev info: type, wiphy and frequency") {
  const auto managed = parse_iw_dev_info(kIwDevManaged);
  REQUIRE(managed);
  CHECK(managed->type == "managed");
  CHECK(managed->wiphy == 1);
  CHECK(managed->freq_mhz == 2437);
  const auto monitor = parse_iw_dev_info(kIwDevMonitor);
  REQUIRE(monitor);
  CHECK(monitor->type == "monitor");
  CHECK(monitor->freq_mhz == 2462);
  CHECK_FALSE(parse_iw_dev_info("command failed: No such device (-19)\n"));
  CHECK_FALSE(parse_iw_dev_info(""));
}

TEST_CASE("iw phy info: interface modes from both lists, nothing from other bulleted lists") {
  const auto with = parse_iw_phy_info(kIwPhyWithMonitor);
  REQUIRE(with);
  CHECK(with->supports("monitor"));
  CHECK(with->supports("mesh point"));
  CHECK_FALSE(with->supports("CCMP-128 (00-0f-ac:4)"));
  CHECK_FALSE(with->supports("2412 MHz [1] (20.0 dBm)"));
  CHECK(with->modes.size() == 6);  // AP/VLAN and monitor of the software list are not repeated
  const auto without = parse_iw_phy_info(kIwPhyNoMonitor);
  REQUIRE(without);
  CHECK_FALSE(without->supports("monitor"));
  CHECK(without->supports("P2P-device"));
  CHECK_FALSE(parse_iw_phy_info("nl80211 not found.\n"));
}

TEST_CASE("interface: missing names the interfaces present; down says how to bring it up") {
  InterfaceFacts f;
  f.name = "wlan1";
  f.present = {"eth0", "lo", "wlan0"};
  auto r = judge_interface(f);
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.hint, "eth0, lo, wlan0"));
  f.exists = true;
  f.arphrd = kArphrdEther;
  f.wireless = true;
  f.phy = "phy1";
  f.driver = "mt76x2u";
  r = judge_interface(f);
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.hint, "ip link set wlan1 up"));
  f.up = true;
  r = judge_interface(f);
  CHECK(r.status == CheckStatus::pass);
  CHECK(contains(r.detail, "driver mt76x2u"));
  CHECK(judge_interface(InterfaceFacts{}).status == CheckStatus::fail);
}

TEST_CASE("monitor: each method is named, and a radio without monitor mode fails") {
  MonitorFacts f;
  f.interface.name = "ffmon0";
  f.interface.exists = true;
  f.interface.arphrd = kArphrdIeee80211Radiotap;
  auto r = judge_monitor_support(f);
  CHECK(r.status == CheckStatus::pass);
  CHECK(contains(r.detail, "[method: link type]"));

  f.interface.arphrd = kArphrdEther;
  f.interface.wireless = true;
  f.interface.phy = "phy1";
  f.iw_available = true;
  f.iw_dev = parse_iw_dev_info(kIwDevManaged);
  f.iw_phy = parse_iw_phy_info(kIwPhyWithMonitor);
  f.pcap_can_rfmon = 1;
  r = judge_monitor_support(f);
  CHECK(r.status == CheckStatus::pass);
  CHECK(contains(r.detail, "[method: nl80211 via iw]"));
  CHECK(contains(r.detail, "now managed"));

  f.iw_phy = parse_iw_phy_info(kIwPhyNoMonitor);
  r = judge_monitor_support(f);
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.hint, "hw/radios.md"));

  f.iw_dev.reset();
  f.iw_phy.reset();
  f.iw_available = false;
  f.iw_error = "not installed (apt-get install iw)";
  r = judge_monitor_support(f);
  CHECK(r.status == CheckStatus::pass);
  CHECK(contains(r.detail, "[method: pcap_can_set_rfmon]"));
  f.pcap_can_rfmon = 0;
  CHECK(judge_monitor_support(f).status == CheckStatus::fail);

  f.interface.wireless = false;
  f.pcap_can_rfmon.reset();
  r = judge_monitor_support(f);
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.detail, "not a wireless interface"));
}

TEST_CASE("capture: an Ethernet link type is not monitor mode; errors carry a hint") {
  CaptureFacts f;
  f.interface = "wlan0";
  f.opened = true;
  f.link_type = 1;
  f.link_type_name = "EN10MB (1)";
  auto r = judge_capture(f);
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.hint, "monitor"));
  f.link_type = 127;
  f.link_type_name = "IEEE802_11_RADIO (127)";
  f.already_monitor = true;
  f.filter = "type mgt";
  r = judge_capture(f);
  CHECK(r.status == CheckStatus::pass);
  CHECK(contains(r.detail, "rfmon not requested"));
  CaptureFacts denied;
  denied.error = "cannot capture on 'wlan0': permission denied (capturing needs root or CAP_NET_RAW)";
  r = judge_capture(denied);
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.hint, "root"));
}

TEST_CASE("frames: count, channels, strongest and weakest; none heard fails") {
  FrameTally t;
  CHECK(judge_frames(t, 3.0, 1).status == CheckStatus::fail);
  t.add(sighting("02:00:00:00:00:01", -40, 2412));
  t.add(sighting("02:00:00:00:00:02", -81, 2437, SightingKind::beacon));
  t.add(sighting("02:00:00:00:00:01", -55, 5180));
  const auto r = judge_frames(t, 3.0, 1);
  CHECK(r.status == CheckStatus::pass);
  CHECK(contains(r.detail, "3 frame(s) in 3.0 s"));
  CHECK(contains(r.detail, "2 sender(s)"));
  CHECK(contains(r.detail, "1 (2412 MHz) x1"));
  CHECK(contains(r.detail, "36 (5180 MHz) x1"));
  CHECK(contains(r.detail, "strongest -40 dBm, weakest -81 dBm"));
  CHECK(judge_frames(t, 3.0, 4).status == CheckStatus::fail);
  CHECK(channel_of(2484) == 14);
  CHECK(channel_of(5955) == 1);
  CHECK(channel_of(0) == 0);
}

TEST_CASE("gateway: every way a Hello can go has its own hint") {
  GatewayAnswer a;
  a.endpoint = "127.0.0.1:7700";
  a.reached = GatewayAnswer::Stage::connect;
  a.error = "cannot connect: Connection refused";
  auto r = judge_gateway(a, "entrance");
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.hint, "is footfall-gateway running"));
  a.timed_out = true;
  CHECK(contains(judge_gateway(a, "entrance").hint, "firewall"));
  a.reached = GatewayAnswer::Stage::tls_handshake;
  CHECK(contains(judge_gateway(a, "entrance").hint, "ca_file"));
  a.reached = GatewayAnswer::Stage::replied;
  a.error.clear();
  a.reply = wire::HelloReply{wire::HelloStatus::refused, wire::RefuseReason::bad_token, 0, 0};
  r = judge_gateway(a, "entrance");
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.detail, "bad_token"));
  CHECK(contains(r.hint, "footfall-gateway provision"));
  a.reply->reason = wire::RefuseReason::unknown_probe;
  CHECK(contains(judge_gateway(a, "entrance").hint, "--probe entrance"));
  a.reply->reason = wire::RefuseReason::duplicate_session;
  CHECK(contains(judge_gateway(a, "entrance").hint, "stop footfall-probe run"));
  a.reply->reason = wire::RefuseReason::certificate_mismatch;
  r = judge_gateway(a, "entrance");
  CHECK(contains(r.detail, "certificate_mismatch"));
  CHECK(contains(r.hint, "probe.crt"));
  a.reply = wire::HelloReply{wire::HelloStatus::accepted, wire::RefuseReason::none, 5, 42};
  r = judge_gateway(a, "entrance");
  CHECK(r.status == CheckStatus::pass);
  CHECK(contains(r.detail, "through seq 42"));
}

TEST_CASE("clock: an unset date fails; an offset beyond tolerance plus uncertainty fails") {
  ClockFacts f;
  f.wall_ns = 86'400'000'000'000;  // 1970-01-02: a board without a battery clock
  auto r = judge_clock(f);
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.detail, "1970-01-02"));
  f.wall_ns = 1'793'000'000'000'000'000;
  CHECK(judge_clock(f).status == CheckStatus::pass);
  f.offset_ns = 2'400'000'000;
  f.uncertainty_ns = 500'000'000;
  CHECK(judge_clock(f).status == CheckStatus::pass);  // within 2 s + 0.5 s
  f.offset_ns = -3'000'000'000;
  r = judge_clock(f);
  CHECK(r.status == CheckStatus::fail);
  CHECK(contains(r.detail, "ahead of the gateway"));
}

TEST_CASE("spool: unwritable fails; room counts what the spool already holds") {
  SpoolFacts f;
  f.dir = "/var/lib/footfall/spool";
  f.error = "cannot create it: Not a directory";
  CHECK(judge_spool(f).status == CheckStatus::fail);
  f.error.clear();
  f.writable = true;
  f.max_bytes = 64ull << 20;
  f.free_bytes = 40ull << 20;
  CHECK(judge_spool(f).status == CheckStatus::fail);
  f.used_bytes = 30ull << 20;
  CHECK(judge_spool(f).status == CheckStatus::pass);
}

TEST_CASE("report: hints under failures, a summary, exit 0 only when all passed") {
  std::vector<CheckResult> results{{"interface", CheckStatus::pass, "wlan0 exists", ""},
                                   {"gateway", CheckStatus::fail, "refused", "fix the token"},
                                   {"frames", CheckStatus::skip, "not run: capture", "fix the capture first"}};
  CHECK(format_check(results[0]) == "PASS  interface  wlan0 exists\n");
  CHECK(format_check(results[1]) == "FAIL  gateway    refused\n      hint: fix the token\n");
  CHECK(format_summary(results) == "summary: FAIL, 1 of 3 checks passed (failed: gateway; skipped: frames)\n");
  CHECK(exit_code(results) == 1);
  results.resize(1);
  CHECK(format_summary(results) == "summary: PASS, all 1 checks passed\n");
  CHECK(exit_code(results) == 0);
  CHECK(exit_code({}) == 1);
}

TEST_CASE("walk test: only the phone counts; nearest-rank percentiles; the p10 rule") {
  WalkTest walk(*MacAddress::parse("aa:bb:cc:00:00:01"));
  // 40 frames from the phone at -40 .. -79 dBm, and frames of others that must not count.
  for (int i = 0; i < 40; ++i) CHECK(walk.add(sighting("aa:bb:cc:00:00:01", -40 - i, i % 2 ? 2412 : 2437)));
  CHECK_FALSE(walk.add(sighting("aa:bb:cc:00:00:02", -20)));
  CHECK_FALSE(walk.add(sighting("aa:bb:cc:00:00:01", -20, 0, SightingKind::ble_adv)));
  const WalkStats s = walk.stats();
  CHECK(s.frames == 40);
  CHECK(s.min_dbm == -79);
  CHECK(s.max_dbm == -40);
  CHECK(s.p10_dbm == -76);     // rank ceil(0.1 * 40) = 4: the 4th weakest
  CHECK(s.median_dbm == -60);  // rank 20
  CHECK(s.p90_dbm == -44);     // rank 36
  CHECK(s.per_freq.size() == 2);
  const auto proposal = walk.propose({});
  REQUIRE(proposal);
  CHECK(proposal->threshold_dbm == -76);
  CHECK(contains(proposal->rule, "p10 of the 40 walk-line signals"));
  CHECK(proposal->warning.empty() == false);  // 32 dB between p10 and p90
  CHECK(walk.propose({10, 3, 20})->threshold_dbm == -79);
  CHECK_FALSE(walk.propose({10, 0, 41}));
  CHECK(config_line(-76) == "\"presence\": {\"signal_floor_dbm\": -76}");
  const std::string h = walk.histogram(10, 10);
  CHECK(contains(h, " -50.. -41 dBm     10 |##########"));
  CHECK(contains(h, " -80.. -71 dBm      9 |#########"));
}

TEST_CASE("provisioning tokens: 64 hex digits, never the same twice") {
  const std::string a = gateway::make_token();
  const std::string b = gateway::make_token();
  CHECK(a.size() == 64);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}
