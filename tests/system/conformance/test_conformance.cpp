// Conformance with tshark: every shared real capture is run through `footfall-probe frames` and each JSON line
// is compared, field by field, with tshark's view of the same frame (FILE.truth.tsv, FILE.ble.truth.tsv).
// Where tshark is wrong and we are right, the cell is listed in kDocumentedExceptions below (and in
// docs/conformance.md): the test then expects our value there, and fails when the exception no longer applies.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------------------------
// Cells where tshark 4.0.17 is wrong and the probe is right. `ours` is the value the probe must print, in the
// normalised text form used by the comparison: decimal for numbers, "null", raw text for strings.
// Field "frame" is about the row itself: ours = "absent" when tshark lists a frame the probe must not print,
// "present" when the probe prints a frame tshark does not list. `ble` selects the BLE comparison.
struct DocumentedException {
  std::string_view file;
  long frame;
  bool ble;
  std::string_view field;
  std::string_view ours;
  std::string_view reason;
};

constexpr std::string_view kReservedPduType =
    "PDU type 0x0c/0x0e is reserved on the advertising channels: no advertiser address, so no advert (tshark lists it, "
    "undecoded)";
constexpr std::string_view kAdvAPastPdu =
    "SCAN_RSP with PDU length 4, shorter than its 6-byte AdvA: tshark takes the address from the CRC bytes behind "
    "the PDU";
constexpr std::string_view kElementPastPdu =
    "manufacturer-specific element claims 23 bytes where 22 remain in the PDU: we do not read elements that run into "
    "the CRC; tshark takes the company ID, then reports the packet malformed";
constexpr std::string_view kTsharkServiceData128 =
    "tshark reads a 16-byte UUID from a 2-byte 'Service Data - 128 bit UUID' element, loses the element boundaries and "
    "misses the manufacturer element (0x004c) that follows";
constexpr std::string_view kTsharkUuid16Odd =
    "tshark reads a 2-byte UUID from a 16-bit UUID list element with 1 data byte, loses the element boundaries and "
    "misses the manufacturer element (0x005c) that follows";
constexpr std::string_view kAuxHeaderPastPdu =
    "AUX_CONNECT_RSP (type 8, secondary channels only) whose extended header (31 bytes) is longer than its PDU (20): "
    "tshark decodes the addresses, then reports the packet malformed";

constexpr DocumentedException kDocumentedExceptions[] = {
    {"btle256-ice9-boston-adv38.pcap", 191, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-adv38.pcap", 293, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-adv38.pcap", 571, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-adv38.pcap", 660, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-adv38.pcap", 916, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-adv38.pcap", 917, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-adv38.pcap", 1341, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-adv38.pcap", 447, true, "frame", "absent", kAdvAPastPdu},
    {"btle256-ice9-boston-adv38.pcap", 1289, true, "frame", "absent", kAdvAPastPdu},
    {"btle256-ice9-boston-adv38.pcap", 222, true, "company_id", "null", kElementPastPdu},
    {"btle256-ice9-boston-adv38.pcap", 340, true, "company_id", "76", kTsharkServiceData128},
    {"btle256-ice9-boston-adv38.pcap", 639, true, "company_id", "92", kTsharkUuid16Odd},
    {"btle256-ice9-boston-take2-all-adv.pcap", 104, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-take2-all-adv.pcap", 207, true, "frame", "absent", kReservedPduType},
    {"btle256-ice9-boston-take2-all-adv.pcap", 204, true, "frame", "absent", kAuxHeaderPastPdu},
};

// ---------------------------------------------------------------------------------------------------------

const fs::path kCaptures = fs::path(FOOTFALL_SHARED_DIR) / "captures";
const fs::path kProbe = fs::path(FOOTFALL_BIN_DIR) / "footfall-probe";
constexpr std::size_t kMaxReportedPerFile = 20;

bool is_capture(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".pcap" || ext == ".pcapng" || ext == ".cap";
}

std::vector<fs::path> shared_captures() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(kCaptures)) {
    if (entry.is_regular_file() && is_capture(entry.path())) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto end = text.find(sep, start);
    out.emplace_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

std::vector<std::string> lines_of(std::string_view text) {
  auto lines = split(text, '\n');
  for (auto& l : lines) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string first_of_list(const std::string& cell) { return split(cell, ',').front(); }

// Single-quoted for /bin/sh, whatever the path holds.
std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// A temporary file that goes away with its owner.
class TempFile {
 public:
  TempFile() {
    std::string pattern = (fs::temp_directory_path() / "footfall-conformance-XXXXXX").string();
    const int fd = ::mkstemp(pattern.data());
    if (fd >= 0) {
      ::close(fd);
      path_ = pattern;
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove(path_, ignored);
  }
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct ProbeRun {
  int exit_code = -1;  // -1 when it did not exit normally (signal, sanitizer abort)
  std::string status;  // how it ended, for messages
  std::string out;
  std::string err;
};

ProbeRun run_probe(const std::vector<std::string>& args) {
  ProbeRun run;
  TempFile err_file;
  std::string cmd = shell_quoted(kProbe.string());
  for (const auto& a : args) cmd += " " + shell_quoted(a);
  cmd += " 2>" + shell_quoted(err_file.path().string());

  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    run.status = "popen failed";
    return run;
  }
  std::array<char, 65536> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) run.out.append(buf.data(), n);
  const int status = ::pclose(pipe);
  run.err = read_text(err_file.path());
  if (status != -1 && WIFEXITED(status)) {
    run.exit_code = WEXITSTATUS(status);
    run.status = "exit " + std::to_string(run.exit_code);
  } else if (status != -1 && WIFSIGNALED(status)) {
    run.status = "killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    run.status = "unknown wait status";
  }
  return run;
}

// pcap: link type in the global header; pcapng: link type of the first interface description block.
std::optional<unsigned> capture_link_type(const fs::path& p) {
  const std::string head = read_text(p).substr(0, 4096);
  auto u32 = [&](std::size_t at, bool big) -> std::optional<std::uint32_t> {
    if (head.size() < at + 4) return std::nullopt;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const auto byte = static_cast<std::uint8_t>(head[at + (big ? i : 3 - i)]);
      v = (v << 8) | byte;
    }
    return v;
  };
  const auto magic = u32(0, true);
  if (!magic) return std::nullopt;
  const bool pcap_big = *magic == 0xa1b2c3d4 || *magic == 0xa1b23c4d;
  const bool pcap_little = *magic == 0xd4c3b2a1 || *magic == 0x4d3cb2a1;
  if (pcap_big || pcap_little) {
    const auto field = u32(20, pcap_big);
    if (!field) return std::nullopt;
    return *field & 0xffffu;  // the upper bits carry FCS length flags
  }
  if (*magic == 0x0a0d0d0a) {
    const auto bom = u32(8, false);
    if (!bom) return std::nullopt;
    const bool big = *bom != 0x1a2b3c4d;
    const auto shb_len = u32(4, big);
    if (!shb_len) return std::nullopt;
    const auto idb_type = u32(*shb_len, big);
    if (!idb_type || *idb_type != 1) return std::nullopt;
    const auto field = u32(*shb_len + 8, big);  // LinkType (16 bits) then Reserved (16 bits)
    if (!field) return std::nullopt;
    return big ? (*field >> 16) : (*field & 0xffffu);
  }
  return std::nullopt;
}

// "1537621366.598171000" -> nanoseconds, exactly (a double has only ~16 significant digits).
std::optional<std::int64_t> epoch_text_to_ns(const std::string& text) {
  const auto dot = text.find('.');
  const std::string secs = text.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (secs.empty() || frac.size() > 9) return std::nullopt;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!std::all_of(secs.begin(), secs.end(), digit) || !std::all_of(frac.begin(), frac.end(), digit)) {
    return std::nullopt;
  }
  frac.resize(9, '0');
  return std::stoll(secs) * 1'000'000'000 + std::stoll(frac);
}

std::optional<long> parse_int(const std::string& text, int base = 10) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, base);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return v;
}

// Our side of a cell, in the comparison's text form.
std::string our_cell(const json& line, const char* key) {
  const auto it = line.find(key);
  if (it == line.end()) return "<absent>";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// Optional numeric fields may be printed as null or left out; both mean "none".
std::string our_optional_number(const json& line, const char* key) {
  const auto it = line.find(key);
  if (it == line.end() || it->is_null()) return "null";
  if (it->is_string()) {
    // Company identifiers are often written as "0x004c": compare by value.
    const auto s = it->get<std::string>();
    if (s.rfind("0x", 0) == 0) {
      if (const auto v = parse_int(s.substr(2), 16)) return std::to_string(*v);
    }
    return s;
  }
  return it->dump();
}

std::string number_or_null(const std::string& text, int base = 10) {
  if (text.empty()) return "null";
  const std::string digits = base == 16 && text.rfind("0x", 0) == 0 ? text.substr(2) : text;
  const auto v = parse_int(digits, base);
  return v ? std::to_string(*v) : "<bad:" + text + ">";
}

std::optional<std::uint8_t> first_octet(const std::string& mac) {
  if (mac.size() != 17) return std::nullopt;
  const auto v = parse_int(mac.substr(0, 2), 16);
  if (!v) return std::nullopt;
  return static_cast<std::uint8_t>(*v);
}

struct Truth {
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
};

Truth read_truth(const fs::path& p) {
  Truth t;
  const auto lines = lines_of(read_text(p));
  if (lines.empty()) return t;
  t.header = split(lines[0], '\t');
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto cells = split(lines[i], '\t');
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < t.header.size(); ++c) row[t.header[c]] = c < cells.size() ? cells[c] : "";
    t.rows.push_back(std::move(row));
  }
  return t;
}

// Collects per-capture differences, applies documented exceptions, and keeps the first few for the report.
class Comparison {
 public:
  Comparison(std::string file, bool ble) : file_(std::move(file)), ble_(ble) {}

  void compare(long frame, std::string_view field, const std::string& ours, const std::string& theirs) {
    ++cells_;
    if (const auto* ex = exception_for(frame, field)) {
      used_exceptions_.insert(ex);
      if (ours != ex->ours) {
        differ(frame, field, ours, std::string(ex->ours) + " (documented exception: " + std::string(ex->reason) + ")");
      } else if (ours == theirs) {
        differ(frame, field, ours, theirs + " (documented exception no longer applies: tshark agrees now)");
      } else {
        ++exceptions_applied_;
      }
      return;
    }
    if (ours != theirs) differ(frame, field, ours, theirs);
  }

  void note(long frame, std::string_view field, const std::string& problem) { differ(frame, field, problem, "-"); }

  [[nodiscard]] std::size_t mismatches() const { return mismatches_; }
  [[nodiscard]] std::size_t cells() const { return cells_; }
  [[nodiscard]] std::size_t exceptions_applied() const { return exceptions_applied_; }
  [[nodiscard]] const std::set<const DocumentedException*>& used_exceptions() const { return used_exceptions_; }

  [[nodiscard]] std::string report() const {
    std::string out = file_ + (ble_ ? " (--ble)" : "") + ": " + std::to_string(mismatches_) + " mismatch(es)";
    for (const auto& r : reported_) out += "\n  " + r;
    if (mismatches_ > reported_.size()) {
      out += "\n  ... and " + std::to_string(mismatches_ - reported_.size()) + " more";
    }
    return out;
  }

 private:
  const DocumentedException* exception_for(long frame, std::string_view field) const {
    for (const auto& ex : kDocumentedExceptions) {
      if (ex.file == file_ && ex.frame == frame && ex.ble == ble_ && ex.field == field) return &ex;
    }
    return nullptr;
  }

  void differ(long frame, std::string_view field, const std::string& ours, const std::string& theirs) {
    ++mismatches_;
    if (reported_.size() < kMaxReportedPerFile) {
      reported_.push_back("frame " + std::to_string(frame) + " " + std::string(field) + ": ours=" + ours +
                          " tshark=" + theirs);
    }
  }

  std::string file_;
  bool ble_;
  std::size_t cells_ = 0;
  std::size_t mismatches_ = 0;
  std::size_t exceptions_applied_ = 0;
  std::vector<std::string> reported_;
  std::set<const DocumentedException*> used_exceptions_;
};

// JSON lines of one kind ("wifi": probe_req / probe_resp / beacon; "ble": ble_adv), by frame number.
struct ParsedOutput {
  std::map<long, json> by_frame;
  std::vector<std::string> problems;
};

ParsedOutput parse_output(const std::string& out, bool ble) {
  ParsedOutput p;
  std::size_t line_no = 0;
  for (const auto& line : lines_of(out)) {
    ++line_no;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      p.problems.push_back("line " + std::to_string(line_no) + " is not a JSON object: " + line.substr(0, 120));
      continue;
    }
    const auto frame = j.find("frame");
    const auto kind = j.find("kind");
    if (frame == j.end() || !frame->is_number_integer() || kind == j.end() || !kind->is_string()) {
      p.problems.push_back("line " + std::to_string(line_no) + " lacks an integer frame or a string kind: " +
                           line.substr(0, 120));
      continue;
    }
    if ((kind->get<std::string>() == "ble_adv") != ble) continue;
    const long n = frame->get<long>();
    if (!p.by_frame.emplace(n, std::move(j)).second) {
      p.problems.push_back("frame " + std::to_string(n) + " printed more than once");
    }
  }
  return p;
}

std::string kind_of_subtype(const std::string& hex) {
  if (hex == "0x0004") return "probe_req";
  if (hex == "0x0005") return "probe_resp";
  if (hex == "0x0008") return "beacon";
  return "<subtype " + hex + ">";
}

std::string ssid_of(const std::string& cell) {
  const std::string first = first_of_list(cell);
  return first == "<MISSING>" ? "" : first;
}

// Frames where the row is expected in one view only.
void compare_presence(Comparison& cmp, const std::vector<long>& truth_frames, const ParsedOutput& ours,
                      std::set<long>& matched) {
  for (long f : truth_frames) {
    if (ours.by_frame.contains(f)) {
      matched.insert(f);
    } else {
      cmp.compare(f, "frame", "absent", "present");
    }
  }
  for (const auto& [f, line] : ours.by_frame) {
    if (!matched.contains(f)) cmp.compare(f, "frame", "present", "absent");
  }
}

struct CaptureTally {
  std::string file;
  std::size_t wifi_rows = 0;
  std::size_t ble_rows = 0;
  std::size_t mismatches = 0;
  std::size_t exceptions = 0;
};

std::vector<CaptureTally> g_tallies;
std::set<const DocumentedException*> g_used_exceptions;

void compare_wifi(const fs::path& capture, unsigned link_type, const ProbeRun& run, Comparison& cmp,
                  CaptureTally& tally) {
  const Truth truth = read_truth(capture.string() + ".truth.tsv");
  const ParsedOutput ours = parse_output(run.out, false);
  for (const auto& problem : ours.problems) cmp.note(0, "output", problem);

  std::vector<long> truth_frames;
  std::map<long, const std::map<std::string, std::string>*> rows;
  for (const auto& row : truth.rows) {
    const auto n = parse_int(row.at("frame.number"));
    if (!n) {
      FAIL_CHECK(capture.filename().string(), ": bad frame.number '", row.at("frame.number"), "' in truth");
      continue;
    }
    truth_frames.push_back(*n);
    rows[*n] = &row;
  }
  tally.wifi_rows = truth_frames.size();
  std::set<long> matched;
  compare_presence(cmp, truth_frames, ours, matched);

  const bool radiotap = link_type == 127;
  for (long f : matched) {
    const auto& row = *rows.at(f);
    const json& line = ours.by_frame.at(f);
    const auto ts = epoch_text_to_ns(row.at("frame.time_epoch"));
    cmp.compare(f, "ts_ns", our_cell(line, "ts_ns"), ts ? std::to_string(*ts) : "<bad:" + row.at("frame.time_epoch") + ">");
    cmp.compare(f, "kind", our_cell(line, "kind"), kind_of_subtype(row.at("wlan.fc.type_subtype")));
    cmp.compare(f, "sa", our_cell(line, "sa"), row.at("wlan.sa"));
    cmp.compare(f, "bssid", our_cell(line, "bssid"), row.at("wlan.bssid"));
    cmp.compare(f, "ssid_hex", our_cell(line, "ssid_hex"), ssid_of(row.at("wlan.ssid")));
    const std::string rssi =
        radiotap ? first_of_list(row.at("radiotap.dbm_antsignal")) : row.at("wlan_radio.signal_dbm");
    cmp.compare(f, "rssi_dbm", our_cell(line, "rssi_dbm"), number_or_null(rssi));
    const std::string freq =
        radiotap ? first_of_list(row.at("radiotap.channel.freq")) : row.at("wlan_radio.frequency");
    cmp.compare(f, "freq_mhz", our_cell(line, "freq_mhz"), number_or_null(freq));
    cmp.compare(f, "seq", our_cell(line, "seq"), number_or_null(row.at("wlan.seq")));
    // Internal consistency: the flag must follow our own source address.
    const auto octet = first_octet(our_cell(line, "sa"));
    cmp.compare(f, "randomized", our_cell(line, "randomized"),
                octet ? ((*octet & 0x02) != 0 ? "true" : "false") : "<no sa>");
  }
}

// AdvA is the first address of the payload for these PDU types, so TxAdd describes it; for SCAN_REQ (3) and
// CONNECT_IND (5) TxAdd describes the scanner / initiator instead.
bool tx_add_describes_adv_a(long pdu_type) {
  return pdu_type == 0 || pdu_type == 1 || pdu_type == 2 || pdu_type == 4 || pdu_type == 6;
}

void compare_ble(const fs::path& capture, const ProbeRun& run, Comparison& cmp, CaptureTally& tally) {
  const Truth truth = read_truth(capture.string() + ".ble.truth.tsv");
  const ParsedOutput ours = parse_output(run.out, true);
  for (const auto& problem : ours.problems) cmp.note(0, "output", problem);

  std::vector<long> truth_frames;
  std::map<long, const std::map<std::string, std::string>*> rows;
  for (const auto& row : truth.rows) {
    const auto n = parse_int(row.at("frame.number"));
    if (!n) {
      FAIL_CHECK(capture.filename().string(), ": bad frame.number '", row.at("frame.number"), "' in BLE truth");
      continue;
    }
    truth_frames.push_back(*n);
    rows[*n] = &row;
  }
  tally.ble_rows = truth_frames.size();
  std::set<long> matched;
  compare_presence(cmp, truth_frames, ours, matched);

  for (long f : matched) {
    const auto& row = *rows.at(f);
    const json& line = ours.by_frame.at(f);
    const auto ts = epoch_text_to_ns(row.at("frame.time_epoch"));
    cmp.compare(f, "ts_ns", our_cell(line, "ts_ns"), ts ? std::to_string(*ts) : "<bad>");
    cmp.compare(f, "addr", our_cell(line, "addr"), row.at("btle.advertising_address"));
    const std::string pdu_type = number_or_null(row.at("btle.advertising_header.pdu_type"), 16);
    cmp.compare(f, "pdu_type", our_cell(line, "pdu_type"), pdu_type);
    cmp.compare(f, "company_id", our_optional_number(line, "company_id"),
                number_or_null(first_of_list(row.at("btcommon.eir_ad.entry.company_id")), 16));
    cmp.compare(f, "channel", our_optional_number(line, "channel"), number_or_null(row.at("btle_rf.channel")));
    cmp.compare(f, "rssi_dbm", our_optional_number(line, "rssi_dbm"), number_or_null(row.at("btle_rf.signal_dbm")));
    if (const auto t = parse_int(pdu_type); t && tx_add_describes_adv_a(*t)) {
      const std::string tx_add = row.at("btle.advertising_header.randomized_tx");
      cmp.compare(f, "addr_random", our_cell(line, "addr_random"),
                  tx_add == "1" ? "true" : tx_add == "0" ? "false" : "<bad:" + tx_add + ">");
    }
  }
}

void check_run_ended_well(const fs::path& capture, const ProbeRun& run, const std::string& mode) {
  const std::string name = capture.filename().string() + mode;
  CHECK_MESSAGE(run.exit_code == 0, name, ": footfall-probe ended with ", run.status, "; stderr: ", run.err.substr(0, 400));
  CHECK_MESSAGE(!lines_of(run.err).empty(), name, ": no summary on standard error");
}

void record(const Comparison& cmp, CaptureTally& tally) {
  tally.mismatches += cmp.mismatches();
  tally.exceptions += cmp.exceptions_applied();
  g_used_exceptions.insert(cmp.used_exceptions().begin(), cmp.used_exceptions().end());
  CHECK_MESSAGE(cmp.mismatches() == 0, cmp.report());
}

bool captures_present() {
  if (fs::is_directory(kCaptures)) return true;
  MESSAGE("SKIP: ", kCaptures.string(), " is absent; the conformance test with tshark's view was not run");
  return false;
}

}  // namespace

TEST_CASE("every shared capture: 802.11 management frames match tshark's view") {
  if (!captures_present()) return;
  REQUIRE_MESSAGE(fs::exists(kProbe), kProbe.string(), " is missing: build the footfall-probe target");
  const auto captures = shared_captures();
  REQUIRE_MESSAGE(!captures.empty(), "no capture (.pcap/.pcapng/.cap) found in ", kCaptures.string());

  for (const auto& capture : captures) {
    const std::string name = capture.filename().string();
    CaptureTally tally{name};
    const auto link_type = capture_link_type(capture);
    CHECK_MESSAGE(link_type.has_value(), name, ": cannot read the link type from the file header");
    CHECK_MESSAGE(fs::exists(capture.string() + ".truth.tsv"), name, ": has no .truth.tsv beside it");
    if (!link_type || !fs::exists(capture.string() + ".truth.tsv")) continue;

    const ProbeRun run = run_probe({"frames", "--read", capture.string()});
    check_run_ended_well(capture, run, "");
    Comparison cmp(name, false);
    compare_wifi(capture, *link_type, run, cmp, tally);
    record(cmp, tally);
    g_tallies.push_back(tally);
  }
}

TEST_CASE("captures with BLE truth: --ble adverts match tshark's view") {
  if (!captures_present()) return;
  REQUIRE(fs::exists(kProbe));
  std::size_t with_ble = 0;
  for (const auto& capture : shared_captures()) {
    const fs::path truth = capture.string() + ".ble.truth.tsv";
    if (!fs::exists(truth)) continue;
    ++with_ble;
    const std::string name = capture.filename().string();
    const ProbeRun run = run_probe({"frames", "--ble", "--read", capture.string()});
    check_run_ended_well(capture, run, " (--ble)");

    auto it = std::find_if(g_tallies.begin(), g_tallies.end(), [&](const auto& t) { return t.file == name; });
    if (it == g_tallies.end()) it = g_tallies.insert(g_tallies.end(), CaptureTally{name});
    Comparison cmp(name, true);
    compare_ble(capture, run, cmp, *it);
    // The 802.11 view of a BLE capture must not change with --ble.
    const auto link_type = capture_link_type(capture);
    REQUIRE(link_type.has_value());
    Comparison wifi(name, false);
    CaptureTally ignored{name};
    compare_wifi(capture, *link_type, run, wifi, ignored);
    CHECK_MESSAGE(wifi.mismatches() == 0, wifi.report());
    record(cmp, *it);
  }
  CHECK_MESSAGE(with_ble > 0, "no capture in ", kCaptures.string(), " has a .ble.truth.tsv");
}

TEST_CASE("results per capture and documented exceptions" * doctest::description("runs after the comparisons")) {
  if (!captures_present()) return;
  std::size_t rows = 0, exceptions = 0;
  std::string table = "capture | 802.11 rows | BLE rows | mismatches | documented exceptions applied";
  for (const auto& t : g_tallies) {
    table += "\n" + t.file + " | " + std::to_string(t.wifi_rows) + " | " + std::to_string(t.ble_rows) + " | " +
             std::to_string(t.mismatches) + " | " + std::to_string(t.exceptions);
    rows += t.wifi_rows + t.ble_rows;
    exceptions += t.exceptions;
  }
  MESSAGE(table);
  MESSAGE(g_tallies.size(), " captures, ", rows, " truth rows compared; ", exceptions,
          " documented exception cell(s) applied (", std::size(kDocumentedExceptions), " listed)");
  // An exception that matched no cell is stale: its file or frame changed, or the table has a typo.
  for (const auto& ex : kDocumentedExceptions) {
    const bool compared = std::any_of(g_tallies.begin(), g_tallies.end(), [&](const auto& t) {
      return t.file == ex.file && (ex.ble ? t.ble_rows : t.wifi_rows) > 0;
    });
    if (compared) {
      CHECK_MESSAGE(g_used_exceptions.contains(&ex), "documented exception never met: ", std::string(ex.file),
                    " frame ", ex.frame, " ", std::string(ex.field));
    }
  }
}

TEST_CASE("a file that is not a capture: exit status 2 and one line naming the file") {
  const fs::path not_capture = fs::path(FOOTFALL_SHARED_DIR) / "captures" / "MANIFEST.md";
  TempFile own_text;  // used when the shared folder is absent, so the test still runs
  fs::path input = not_capture;
  if (!fs::exists(not_capture)) {
    std::ofstream(own_text.path()) << "# not a packet capture\nplain text\n";
    input = own_text.path();
  }
  REQUIRE(fs::exists(kProbe));
  const ProbeRun run = run_probe({"frames", "--read", input.string()});
  CHECK_MESSAGE(run.exit_code == 2, "ended with ", run.status);
  CHECK(run.out.empty());
  const auto err_lines = lines_of(run.err);
  CHECK_MESSAGE(err_lines.size() == 1, "stderr: ", run.err);
  CHECK_MESSAGE(run.err.find(input.filename().string()) != std::string::npos, "stderr does not name the file: ",
                run.err);
}

TEST_CASE("a capture path that does not exist: exit status 2 and one line naming the file") {
  REQUIRE(fs::exists(kProbe));
  const fs::path missing = fs::temp_directory_path() / "footfall-conformance-no-such-capture.pcap";
  const ProbeRun run = run_probe({"frames", "--read", missing.string()});
  CHECK_MESSAGE(run.exit_code == 2, "ended with ", run.status);
  CHECK(run.out.empty());
  CHECK_MESSAGE(lines_of(run.err).size() == 1, "stderr: ", run.err);
  CHECK_MESSAGE(run.err.find(missing.filename().string()) != std::string::npos, "stderr does not name the file: ",
                run.err);
}
