#include "probe/commands/frame_json.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

namespace footfall::probe::commands {
namespace {

using parse::ParsedPacket;

constexpr char kHexDigits[] = "0123456789abcdef";
// Longest SSID element is 255 bytes; an Eddystone URL expands 17 bytes to at most ~240 characters.
constexpr std::size_t kMaxHexBytes = 255;
constexpr std::size_t kMaxUrlBytes = 320;

// Appends to a buffer known to be large enough (kMaxFrameJsonLine bounds every line).
class LineWriter {
 public:
  explicit LineWriter(char* out) : begin_(out), pos_(out) {}

  void raw(std::string_view s) {
    std::memcpy(pos_, s.data(), s.size());
    pos_ += s.size();
  }
  void ch(char c) { *pos_++ = c; }
  template <typename Int>
  void integer(Int v) {
    pos_ = std::to_chars(pos_, pos_ + 24, v).ptr;
  }
  void real(double v) {
    if (!std::isfinite(v)) return raw("null");
    // Shortest round-trip digits, as std::to_chars gives, without libstdc++'s 127 KB floating to_chars.
    pos_ = fmt::format_to(pos_, "{}", v);
  }
  void boolean(bool v) { raw(v ? "true" : "false"); }
  void mac(const MacAddress& m) {
    ch('"');
    pos_ = m.write(pos_);
    ch('"');
  }
  void hex(std::span<const std::uint8_t> bytes) {
    if (bytes.size() > kMaxHexBytes) bytes = bytes.first(kMaxHexBytes);
    for (const std::uint8_t b : bytes) {
      *pos_++ = kHexDigits[b >> 4];
      *pos_++ = kHexDigits[b & 0x0f];
    }
  }
  void hex_u64(std::uint64_t v) {
    for (int shift = 60; shift >= 0; shift -= 4) *pos_++ = kHexDigits[(v >> shift) & 0x0f];
  }
  // Text from the air: quotes, backslashes, control and non-ASCII bytes escaped so the line stays valid JSON.
  void escaped(std::string_view s) {
    if (s.size() > kMaxUrlBytes) s = s.substr(0, kMaxUrlBytes);
    ch('"');
    for (const char c : s) {
      const auto b = static_cast<unsigned char>(c);
      if (b == '"' || b == '\\') {
        ch('\\');
        ch(c);
      } else if (b < 0x20 || b >= 0x7f) {
        raw("\\u00");
        ch(kHexDigits[b >> 4]);
        ch(kHexDigits[b & 0x0f]);
      } else {
        ch(c);
      }
    }
    ch('"');
  }
  template <typename T>
  void optional_int(const std::optional<T>& v) {
    if (v) {
      integer(*v);
    } else {
      raw("null");
    }
  }
  void uuid(const std::array<std::uint8_t, 16>& u) {
    ch('"');
    for (std::size_t i = 0; i < u.size(); ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) ch('-');
      ch(kHexDigits[u[i] >> 4]);
      ch(kHexDigits[u[i] & 0x0f]);
    }
    ch('"');
  }

  [[nodiscard]] std::size_t size() const { return static_cast<std::size_t>(pos_ - begin_); }

 private:
  char* begin_;
  char* pos_;
};

void write_dot11(LineWriter& w, const ParsedPacket& p) {
  const parse::MgmtFrame& f = p.dot11;
  w.raw(",\"kind\":\"");
  w.raw(parse::to_string(f.kind));
  w.raw("\",\"sa\":");
  w.mac(f.sa);
  w.raw(",\"bssid\":");
  w.mac(f.bssid);
  w.raw(",\"ssid_hex\":\"");
  if (f.ssid_present) w.hex(f.ssid);
  w.raw("\",\"rssi_dbm\":");
  w.optional_int(p.radio.rssi_dbm);
  w.raw(",\"freq_mhz\":");
  w.optional_int(p.radio.freq_mhz);
  w.raw(",\"seq\":");
  w.integer(f.seq);
  w.raw(",\"randomized\":");
  w.boolean(f.sa.locally_administered());
  if (f.ds_channel) {
    w.raw(",\"ds_channel\":");
    w.integer(*f.ds_channel);
  }
  if (f.kind == parse::MgmtKind::probe_req) {
    w.raw(",\"fingerprint\":\"");
    w.hex_u64(f.ie_fingerprint);
    w.ch('"');
  }
  if (f.ie_truncated) w.raw(",\"ie_truncated\":true");
  if (p.radio.bad_fcs) w.raw(",\"fcs_bad\":true");
}

std::string_view eddystone_frame_name(parse::Eddystone::Frame frame) {
  switch (frame) {
    case parse::Eddystone::Frame::uid: return "uid";
    case parse::Eddystone::Frame::url: return "url";
    case parse::Eddystone::Frame::tlm: return "tlm";
    case parse::Eddystone::Frame::eid: return "eid";
  }
  return "unknown";
}

void write_eddystone(LineWriter& w, const parse::Eddystone& e) {
  w.raw(",\"eddystone\":{\"frame\":\"");
  w.raw(eddystone_frame_name(e.frame));
  w.ch('"');
  switch (e.frame) {
    case parse::Eddystone::Frame::uid:
      w.raw(",\"tx_power\":");
      w.integer(e.tx_power);
      w.raw(",\"namespace\":\"");
      w.hex(e.namespace_id);
      w.raw("\",\"instance\":\"");
      w.hex(e.instance_id);
      w.ch('"');
      break;
    case parse::Eddystone::Frame::url:
      w.raw(",\"tx_power\":");
      w.integer(e.tx_power);
      w.raw(",\"url\":");
      w.escaped(e.url);
      break;
    case parse::Eddystone::Frame::tlm:
      w.raw(",\"battery_mv\":");
      w.integer(e.battery_mv);
      w.raw(",\"temperature_c\":");
      w.real(e.temperature_c);
      w.raw(",\"adv_count\":");
      w.integer(e.adv_count);
      w.raw(",\"uptime_ds\":");
      w.integer(e.uptime_ds);
      break;
    case parse::Eddystone::Frame::eid:
      w.raw(",\"tx_power\":");
      w.integer(e.tx_power);
      break;
  }
  w.ch('}');
}

void write_ble(LineWriter& w, const ParsedPacket& p) {
  const parse::BleAdvert& a = p.ble;
  w.raw(",\"kind\":\"ble_adv\",\"addr\":");
  w.mac(a.addr);
  w.raw(",\"addr_random\":");
  w.boolean(a.addr_random);
  w.raw(",\"rssi_dbm\":");
  // The BLE parser fills the advert's own RSSI; a radio header in front (PPI) may be the only source.
  w.optional_int(a.rssi_dbm ? a.rssi_dbm : p.radio.rssi_dbm);
  w.raw(",\"channel\":");
  w.optional_int(a.channel);
  w.raw(",\"pdu_type\":");
  w.integer(a.pdu_type);
  if (a.company_id) {
    w.raw(",\"company_id\":");
    w.integer(*a.company_id);
  }
  if (a.ibeacon) {
    w.raw(",\"ibeacon\":{\"uuid\":");
    w.uuid(a.ibeacon->uuid);
    w.raw(",\"major\":");
    w.integer(a.ibeacon->major);
    w.raw(",\"minor\":");
    w.integer(a.ibeacon->minor);
    w.raw(",\"power\":");
    w.integer(a.ibeacon->measured_power);
    w.ch('}');
  }
  if (a.eddystone) write_eddystone(w, *a.eddystone);
}

}  // namespace

std::size_t write_frame_json(std::span<char> out, std::uint64_t frame_number, std::int64_t ts_ns,
                             const ParsedPacket& packet) {
  if (packet.what == ParsedPacket::What::dropped || out.size() < kMaxFrameJsonLine) return 0;
  LineWriter w(out.data());
  w.raw("{\"frame\":");
  w.integer(frame_number);
  w.raw(",\"ts_ns\":");
  w.integer(ts_ns);
  if (packet.what == ParsedPacket::What::dot11) {
    write_dot11(w, packet);
  } else {
    write_ble(w, packet);
  }
  w.raw("}\n");
  return w.size();
}

}  // namespace footfall::probe::commands
