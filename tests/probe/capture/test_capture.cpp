// `footfall-probe frames` end to end: small captures written here (pcap via libpcap, pcapng by hand)
// run through the built program; lines checked field by field against the golden frames.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "probe/commands/frame_json.h"
#include "tests/support/scratch.h"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using nlohmann::json;

// --- golden frames ------------------------------------------------------------------------------

// Radiotap: flags, channel 2412 MHz (2 GHz, CCK), dBm antenna signal -60.
const Bytes kProbeRequest = {
    0x00, 0x00, 0x0f, 0x00, 0x2a, 0x00, 0x00, 0x00,  // radiotap v0, len 15, present: flags|channel|antsignal
    0x00, 0x00, 0x6c, 0x09, 0xa0, 0x00, 0xc4,        // flags 0, pad, 2412, 2GHz|CCK, -60 dBm
    0x40, 0x00, 0x00, 0x00,                          // probe request, duration
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,              // addr1 broadcast
    0xda, 0xa1, 0x19, 0x0b, 0x2c, 0xff,              // addr2: locally administered
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,              // addr3 (BSSID) wildcard
    0x20, 0x4d,                                      // sequence 1234, fragment 0
    0x00, 0x04, 0x63, 0x61, 0x66, 0x65,              // SSID "cafe"
    0x01, 0x04, 0x02, 0x04, 0x0b, 0x16,              // supported rates
    0x03, 0x01, 0x06,                                // DS parameter set: channel 6
};

// Radiotap: flags, channel 2462 MHz, -72 dBm; a beacon from a universally administered AP.
const Bytes kBeacon = {
    0x00, 0x00, 0x0f, 0x00, 0x2a, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x9e, 0x09, 0xa0, 0x00, 0xb8,        // 2462 MHz, -72 dBm
    0x80, 0x00, 0x00, 0x00,                          // beacon
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x1b, 0x63, 0xaa, 0xbb, 0xcc,              // SA
    0x00, 0x1b, 0x63, 0xaa, 0xbb, 0xcc,              // BSSID
    0x70, 0x00,                                      // sequence 7
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // TSF timestamp
    0x64, 0x00, 0x01, 0x04,                          // interval 100 TU, capability
    0x00, 0x04, 0x6d, 0x61, 0x6c, 0x6c,              // SSID "mall"
    0x01, 0x01, 0x82,                                // supported rates
    0x03, 0x01, 0x0b,                                // channel 11
};

// A data frame: counted as a packet, printed as nothing.
const Bytes kDataFrame = {
    0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,  // radiotap with no fields
    0x08, 0x01, 0x00, 0x00,                          // data, to DS
    0x00, 0x1b, 0x63, 0xaa, 0xbb, 0xcc, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x1b, 0x63, 0xaa, 0xbb, 0xcc, 0x10, 0x00,
    0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00,
};

// Radiotap without signal or channel: rssi_dbm and freq_mhz must be null. Wildcard SSID, sequence 4095.
const Bytes kProbeRequestNoRadio = {
    0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x40, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xf0, 0xff,                                      // sequence 4095
    0x00, 0x00,                                      // SSID element, empty
    0x01, 0x02, 0x02, 0x04,
};

struct Record {
  const Bytes* bytes;
  std::uint32_t sec;
  std::uint32_t frac;  // microseconds or nanoseconds, after the file's precision
};

std::vector<Record> four_packets(std::uint32_t frac_scale) {
  return {{&kProbeRequest, 1700000000, 123456 * frac_scale},
          {&kBeacon, 1700000001, 5 * frac_scale},
          {&kDataFrame, 1700000002, 0},
          {&kProbeRequestNoRadio, 1700000003, 999999 * frac_scale}};
}

// --- files --------------------------------------------------------------------------------------

using footfall::testing::TempDir;

struct PcapCloser {
  void operator()(pcap_t* p) const { pcap_close(p); }
};
struct DumperCloser {
  void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
};

void write_pcap(const std::string& path, int link_type, const std::vector<Record>& records, bool nanosecond) {
  std::unique_ptr<pcap_t, PcapCloser> dead(pcap_open_dead_with_tstamp_precision(
      link_type, 65535, nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO));
  REQUIRE(dead != nullptr);
  std::unique_ptr<pcap_dumper_t, DumperCloser> dumper(pcap_dump_open(dead.get(), path.c_str()));
  REQUIRE(dumper != nullptr);
  for (const Record& r : records) {
    pcap_pkthdr header{};
    header.ts.tv_sec = r.sec;
    header.ts.tv_usec = static_cast<suseconds_t>(r.frac);
    header.caplen = static_cast<bpf_u_int32>(r.bytes->size());
    header.len = header.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dumper.get()), &header, r.bytes->data());
  }
}

void put_le32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_le16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
}

// Section header, one radiotap interface with nanosecond resolution, one enhanced packet block per frame.
Bytes make_pcapng(const std::vector<std::pair<const Bytes*, std::uint64_t>>& packets) {
  Bytes out;
  put_le32(out, 0x0A0D0D0A);  // SHB
  put_le32(out, 28);
  put_le32(out, 0x1A2B3C4D);  // byte-order magic
  put_le16(out, 1);
  put_le16(out, 0);
  put_le32(out, 0xffffffff);  // section length unknown
  put_le32(out, 0xffffffff);
  put_le32(out, 28);

  put_le32(out, 1);  // IDB
  put_le32(out, 32);
  put_le16(out, 127);
  put_le16(out, 0);
  put_le32(out, 65535);
  put_le16(out, 9);  // if_tsresol = 10^-9
  put_le16(out, 1);
  out.insert(out.end(), {9, 0, 0, 0});
  put_le32(out, 0);  // opt_endofopt
  put_le32(out, 32);

  for (const auto& [bytes, ts_ns] : packets) {
    const auto caplen = static_cast<std::uint32_t>(bytes->size());
    const std::uint32_t padded = (caplen + 3) & ~3U;
    const std::uint32_t total = 32 + padded;
    put_le32(out, 6);  // EPB
    put_le32(out, total);
    put_le32(out, 0);  // interface 0
    put_le32(out, static_cast<std::uint32_t>(ts_ns >> 32));
    put_le32(out, static_cast<std::uint32_t>(ts_ns));
    put_le32(out, caplen);
    put_le32(out, caplen);
    out.insert(out.end(), bytes->begin(), bytes->end());
    out.insert(out.end(), padded - caplen, 0);
    put_le32(out, total);
  }
  return out;
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

// --- running the program ------------------------------------------------------------------------

struct RunResult {
  int exit_status = -1;
  std::vector<std::string> lines;  // stdout
  std::string err;
};

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// `shell_prefix` may pipe something into the program ("cat x |").
RunResult run_probe(const TempDir& dir, const std::string& args, const std::string& shell_prefix = "") {
  const std::string err_path = dir.file("stderr.txt");
  const std::string command =
      shell_prefix + " " + quoted(std::string(FOOTFALL_BIN_DIR) + "/footfall-probe") + " " + args + " 2>" + quoted(err_path);
  RunResult result;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> chunk{};
  for (std::size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0;) out.append(chunk.data(), n);
  const int status = pclose(pipe);
  REQUIRE(WIFEXITED(status));
  result.exit_status = WEXITSTATUS(status);
  result.lines = split_lines(out);
  std::ifstream err(err_path);
  result.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  return result;
}

std::vector<json> parse_lines(const RunResult& r) {
  std::vector<json> objects;
  for (const std::string& line : r.lines) objects.push_back(json::parse(line));  // throws on invalid JSON
  return objects;
}

void check_probe_request(const json& j, std::uint64_t frame, std::int64_t ts_ns) {
  CHECK(j["frame"] == frame);
  CHECK(j["ts_ns"] == ts_ns);
  CHECK(j["kind"] == "probe_req");
  CHECK(j["sa"] == "da:a1:19:0b:2c:ff");
  CHECK(j["bssid"] == "ff:ff:ff:ff:ff:ff");
  CHECK(j["ssid_hex"] == "63616665");
  CHECK(j["rssi_dbm"] == -60);
  CHECK(j["freq_mhz"] == 2412);
  CHECK(j["seq"] == 1234);
  CHECK(j["randomized"] == true);
  CHECK(j["ds_channel"] == 6);
  REQUIRE(j.contains("fingerprint"));
  CHECK(j["fingerprint"].get<std::string>().size() == 16);
}

void check_beacon(const json& j, std::uint64_t frame, std::int64_t ts_ns) {
  CHECK(j["frame"] == frame);
  CHECK(j["ts_ns"] == ts_ns);
  CHECK(j["kind"] == "beacon");
  CHECK(j["sa"] == "00:1b:63:aa:bb:cc");
  CHECK(j["bssid"] == "00:1b:63:aa:bb:cc");
  CHECK(j["ssid_hex"] == "6d616c6c");
  CHECK(j["rssi_dbm"] == -72);
  CHECK(j["freq_mhz"] == 2462);
  CHECK(j["seq"] == 7);
  CHECK(j["randomized"] == false);
  CHECK_FALSE(j.contains("fingerprint"));
}

void check_probe_request_no_radio(const json& j, std::uint64_t frame, std::int64_t ts_ns) {
  CHECK(j["frame"] == frame);
  CHECK(j["ts_ns"] == ts_ns);
  CHECK(j["kind"] == "probe_req");
  CHECK(j["sa"] == "00:11:22:33:44:55");
  CHECK(j["ssid_hex"] == "");
  CHECK(j["rssi_dbm"].is_null());
  CHECK(j["freq_mhz"].is_null());
  CHECK(j["seq"] == 4095);
  CHECK(j["randomized"] == false);
}

void check_four_packets(const RunResult& r, std::int64_t ts1, std::int64_t ts2, std::int64_t ts4) {
  CHECK(r.exit_status == 0);
  REQUIRE(r.lines.size() == 3);
  const auto objects = parse_lines(r);
  check_probe_request(objects[0], 1, ts1);
  check_beacon(objects[1], 2, ts2);
  check_probe_request_no_radio(objects[2], 4, ts4);  // packet 3 (data) is skipped but counted
  CHECK(r.err.find("packets_read=4 frames=3 probe_req=2 probe_resp=0 beacon=1") != std::string::npos);
  CHECK(r.err.find("not_management=1") != std::string::npos);
}

}  // namespace

TEST_CASE("microsecond pcap: one JSON line per management frame, fields from the golden frames") {
  TempDir dir;
  const std::string path = dir.file("micro.pcap");
  write_pcap(path, DLT_IEEE802_11_RADIO, four_packets(1), false);
  check_four_packets(run_probe(dir, "frames --read " + quoted(path)), 1700000000123456000, 1700000001000005000,
                     1700000003999999000);
}

TEST_CASE("nanosecond pcap keeps the nanosecond digits") {
  TempDir dir;
  const std::string path = dir.file("nano.pcap");
  write_pcap(path, DLT_IEEE802_11_RADIO, four_packets(1000), true);
  check_four_packets(run_probe(dir, "frames --read " + quoted(path)), 1700000000123456000, 1700000001000005000,
                     1700000003999999000);

  write_pcap(path, DLT_IEEE802_11_RADIO, {{&kProbeRequest, 1700000000, 123456789}}, true);
  const RunResult r = run_probe(dir, "frames --read " + quoted(path));
  REQUIRE(r.lines.size() == 1);
  CHECK(json::parse(r.lines[0])["ts_ns"] == 1700000000123456789);
}

TEST_CASE("hand-written pcapng with nanosecond resolution") {
  TempDir dir;
  const std::string path = dir.file("frames.pcapng");
  write_bytes(path, make_pcapng({{&kBeacon, 1700000000000000001ULL},
                                 {&kDataFrame, 1700000000500000000ULL},
                                 {&kProbeRequest, 1700000001987654321ULL}}));
  const RunResult r = run_probe(dir, "frames --read " + quoted(path));
  CHECK(r.exit_status == 0);
  REQUIRE(r.lines.size() == 2);
  const auto objects = parse_lines(r);
  check_beacon(objects[0], 1, 1700000000000000001);
  check_probe_request(objects[1], 3, 1700000001987654321);
}

TEST_CASE("standard input: --read - reads a pipe") {
  TempDir dir;
  const std::string path = dir.file("stdin.pcap");
  write_pcap(path, DLT_IEEE802_11_RADIO, four_packets(1), false);
  check_four_packets(run_probe(dir, "frames --read -", "cat " + quoted(path) + " |"), 1700000000123456000,
                     1700000001000005000, 1700000003999999000);
}

TEST_CASE("a file cut inside the last record: earlier frames kept, exit 0, truncation counted") {
  TempDir dir;
  const std::string path = dir.file("cut.pcap");
  write_pcap(path, DLT_IEEE802_11_RADIO, four_packets(1), false);
  fs::resize_file(path, fs::file_size(path) - 5);
  const RunResult r = run_probe(dir, "frames --read " + quoted(path));
  CHECK(r.exit_status == 0);
  REQUIRE(r.lines.size() == 2);
  const auto objects = parse_lines(r);
  check_probe_request(objects[0], 1, 1700000000123456000);
  check_beacon(objects[1], 2, 1700000001000005000);
  CHECK(r.err.find("packets_read=3") != std::string::npos);
  CHECK(r.err.find("truncated_file=1") != std::string::npos);

  // Cut inside a record header rather than its data.
  write_pcap(path, DLT_IEEE802_11_RADIO, four_packets(1), false);
  fs::resize_file(path, fs::file_size(path) - kProbeRequestNoRadio.size() - 10);
  const RunResult header_cut = run_probe(dir, "frames --read " + quoted(path));
  CHECK(header_cut.exit_status == 0);
  CHECK(header_cut.lines.size() == 2);
  CHECK(header_cut.err.find("truncated_file=1") != std::string::npos);
}

TEST_CASE("a text file is not a capture: exit 2, one line naming the file") {
  TempDir dir;
  const std::string path = dir.file("notes.txt");
  std::ofstream(path) << "this is a plain text file, long enough to hold a pcap header and more\n";
  const RunResult r = run_probe(dir, "frames --read " + quoted(path));
  CHECK(r.exit_status == 2);
  CHECK(r.lines.empty());
  const auto err_lines = split_lines(r.err);
  REQUIRE(err_lines.size() == 1);
  CHECK(err_lines[0].find(path) != std::string::npos);
  CHECK(err_lines[0].find("footfall-probe") == 0);

  const RunResult missing = run_probe(dir, "frames --read " + quoted(dir.file("absent.pcap")));
  CHECK(missing.exit_status == 2);
  CHECK(split_lines(missing.err).size() == 1);
  CHECK(missing.err.find("absent.pcap") != std::string::npos);
}

TEST_CASE("unsupported link type: exit 2 naming it") {
  TempDir dir;
  const std::string path = dir.file("ethernet.pcap");
  write_pcap(path, DLT_EN10MB, {{&kDataFrame, 1700000000, 0}}, false);
  const RunResult r = run_probe(dir, "frames --read " + quoted(path));
  CHECK(r.exit_status == 2);
  CHECK(r.lines.empty());
  const auto err_lines = split_lines(r.err);
  REQUIRE(err_lines.size() == 1);
  CHECK(err_lines[0].find("EN10MB (1)") != std::string::npos);
  CHECK(err_lines[0].find(path) != std::string::npos);
}

TEST_CASE("--format none parses and counts but prints no lines") {
  TempDir dir;
  const std::string path = dir.file("quiet.pcap");
  write_pcap(path, DLT_IEEE802_11_RADIO, four_packets(1), false);
  const RunResult r = run_probe(dir, "frames --read " + quoted(path) + " --format none");
  CHECK(r.exit_status == 0);
  CHECK(r.lines.empty());
  CHECK(r.err.find("packets_read=4 frames=3 probe_req=2") != std::string::npos);
}

TEST_CASE("--count stops after that many packets") {
  TempDir dir;
  const std::string path = dir.file("count.pcap");
  write_pcap(path, DLT_IEEE802_11_RADIO, four_packets(1), false);
  const RunResult r = run_probe(dir, "frames --read " + quoted(path) + " --count 2");
  CHECK(r.exit_status == 0);
  CHECK(r.lines.size() == 2);
  CHECK(r.err.find("packets_read=2") != std::string::npos);
}

TEST_CASE("usage errors exit 2") {
  TempDir dir;
  CHECK(run_probe(dir, "frames").exit_status == 2);
  CHECK(run_probe(dir, "frames --read a.pcap --interface wlan0").exit_status == 2);
  CHECK(run_probe(dir, "frames --read a.pcap --format xml").exit_status == 2);
  CHECK(run_probe(dir, "frames --read a.pcap --monitor").exit_status == 2);
  CHECK(run_probe(dir, "no-such-command").exit_status == 2);
  const RunResult help = run_probe(dir, "frames --help");
  CHECK(help.exit_status == 0);
}

TEST_CASE("frame_json: BLE advert with iBeacon and Eddystone URL stays valid JSON") {
  using footfall::probe::parse::ParsedPacket;
  ParsedPacket p;
  p.what = ParsedPacket::What::ble;
  p.ble.pdu_type = 2;
  p.ble.addr = *footfall::MacAddress::parse("c0:ff:ee:00:11:22");
  p.ble.addr_random = true;
  p.ble.rssi_dbm = -81;
  p.ble.channel = 37;
  p.ble.company_id = 0x004c;
  footfall::probe::parse::IBeacon beacon;
  beacon.uuid = {0xf7, 0x82, 0x6d, 0xa6, 0x4f, 0xa2, 0x4e, 0x98, 0x80, 0x24, 0xbc, 0x5b, 0x71, 0xe0, 0x89, 0x3e};
  beacon.major = 100;
  beacon.minor = 65535;
  beacon.measured_power = -59;
  p.ble.ibeacon = beacon;
  footfall::probe::parse::Eddystone eddystone;
  eddystone.frame = footfall::probe::parse::Eddystone::Frame::url;
  eddystone.tx_power = -20;
  eddystone.url = std::string("https://x.y/\"q\\\x01\xff", 17);
  p.ble.eddystone = eddystone;

  std::array<char, footfall::probe::commands::kMaxFrameJsonLine> buffer{};
  const std::size_t n = footfall::probe::commands::write_frame_json(buffer, 42, 1700000000000000000, p);
  REQUIRE(n > 0);
  const std::string line(buffer.data(), n);
  CHECK(line.back() == '\n');
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  const json j = json::parse(line);
  CHECK(j["frame"] == 42);
  CHECK(j["kind"] == "ble_adv");
  CHECK(j["addr"] == "c0:ff:ee:00:11:22");
  CHECK(j["addr_random"] == true);
  CHECK(j["rssi_dbm"] == -81);
  CHECK(j["channel"] == 37);
  CHECK(j["pdu_type"] == 2);
  CHECK(j["company_id"] == 76);
  CHECK(j["ibeacon"]["uuid"] == "f7826da6-4fa2-4e98-8024-bc5b71e0893e");
  CHECK(j["ibeacon"]["major"] == 100);
  CHECK(j["ibeacon"]["minor"] == 65535);
  CHECK(j["ibeacon"]["power"] == -59);
  CHECK(j["eddystone"]["frame"] == "url");
  CHECK(j["eddystone"]["tx_power"] == -20);
  CHECK(j["eddystone"]["url"].get<std::string>().starts_with("https://x.y/\"q\\\x01"));
}

TEST_CASE("frame_json: nothing for a dropped packet or a short buffer") {
  footfall::probe::parse::ParsedPacket dropped;
  std::array<char, footfall::probe::commands::kMaxFrameJsonLine> buffer{};
  CHECK(footfall::probe::commands::write_frame_json(buffer, 1, 0, dropped) == 0);
  footfall::probe::parse::ParsedPacket frame;
  frame.what = footfall::probe::parse::ParsedPacket::What::dot11;
  CHECK(footfall::probe::commands::write_frame_json(std::span<char>(buffer.data(), 100), 1, 0, frame) == 0);
}
