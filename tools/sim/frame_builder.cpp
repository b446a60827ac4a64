#include "tools/sim/frame_builder.h"

#include <algorithm>

namespace footfall::sim {
namespace {

// Slicing-by-8 tables: every frame carries an FCS, and a byte-at-a-time CRC was a tenth of the run time.
using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;
constexpr CrcTables make_crc_tables() {
  CrcTables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[0][i] = c;
  }
  for (std::size_t k = 1; k < 8; ++k) {
    for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}
constexpr CrcTables kCrc = make_crc_tables();

std::uint32_t load_le32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

constexpr std::uint8_t kSubtypeProbeRequest = 4;
constexpr std::uint8_t kSubtypeProbeResponse = 5;
constexpr std::uint8_t kSubtypeBeacon = 8;
constexpr MacAddress kBroadcast{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

// Appends to a fixed buffer; once something does not fit it stays failed and writes nothing.
class FrameWriter {
 public:
  explicit FrameWriter(std::span<std::uint8_t> out) : out_(out) {}

  void u8(std::uint8_t v) {
    if (fits(1)) out_[pos_++] = v;
  }
  void le16(std::uint16_t v) {
    u8(static_cast<std::uint8_t>(v & 0xff));
    u8(static_cast<std::uint8_t>(v >> 8));
  }
  void le32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void le64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void bytes(std::span<const std::uint8_t> b) {
    if (!fits(b.size())) return;
    std::copy(b.begin(), b.end(), out_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ += b.size();
  }
  void mac(const MacAddress& m) { bytes(m.octets); }

  void element(std::uint8_t id, std::span<const std::uint8_t> body) {
    u8(id);
    u8(static_cast<std::uint8_t>(body.size()));
    bytes(body);
  }
  void ssid_element(std::string_view ssid) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(ssid.data());
    element(0, std::span(p, std::min<std::size_t>(ssid.size(), 32)));
  }
  void ds_element(unsigned channel) {
    const std::uint8_t ch = static_cast<std::uint8_t>(channel);
    element(3, std::span(&ch, 1));
  }

  // 24-byte management header: frame control, duration, three addresses, sequence control.
  void mgmt_header(std::uint8_t subtype, const MacAddress& da, const MacAddress& sa, const MacAddress& bssid,
                   std::uint16_t seq) {
    u8(static_cast<std::uint8_t>(subtype << 4));  // protocol version 0, type 0 (management)
    u8(0);                                        // no flags
    le16(0);                                      // duration
    mac(da);
    mac(sa);
    mac(bssid);
    le16(static_cast<std::uint16_t>((seq & 0x0fff) << 4));  // fragment 0
  }

  // Appends the FCS over everything written; returns the frame length, 0 when it did not fit.
  std::size_t finish() {
    le32(crc32(out_.first(std::min(pos_, out_.size()))));
    return ok_ ? pos_ : 0;
  }

 private:
  bool fits(std::size_t n) {
    if (!ok_ || out_.size() - pos_ < n) ok_ = false;
    return ok_;
  }

  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

void ap_fixed_fields(FrameWriter& w, const AccessPoint& ap, std::uint64_t tsf_us) {
  w.le64(tsf_us);
  w.le16(ap.beacon_interval_tu);
  w.le16(ap.capability);
  w.ssid_element(ap.ssid);
  w.bytes(ap.ie_rates);
  w.ds_element(ap.channel);
}

}  // namespace

std::uint32_t crc32(std::span<const std::uint8_t> bytes) {
  std::uint32_t c = 0xffffffffu;
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  for (; n >= 8; n -= 8, p += 8) {
    const std::uint32_t one = load_le32(p) ^ c;
    const std::uint32_t two = load_le32(p + 4);
    c = kCrc[7][one & 0xff] ^ kCrc[6][(one >> 8) & 0xff] ^ kCrc[5][(one >> 16) & 0xff] ^ kCrc[4][one >> 24] ^
        kCrc[3][two & 0xff] ^ kCrc[2][(two >> 8) & 0xff] ^ kCrc[1][(two >> 16) & 0xff] ^ kCrc[0][two >> 24];
  }
  for (; n > 0; --n, ++p) c = kCrc[0][(c ^ *p) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

void write_radiotap(std::span<std::uint8_t, kRadiotapBytes> out, const RadiotapFields& fields) {
  constexpr std::uint32_t present = (1u << 0) | (1u << 1) | (1u << 3) | (1u << 5);  // TSFT Flags Channel dBm-signal
  constexpr std::uint8_t flag_fcs_at_end = 0x10;
  constexpr std::uint16_t channel_2ghz_cck = 0x0080 | 0x0020;
  FrameWriter w(out);
  w.u8(0);  // version
  w.u8(0);  // pad
  w.le16(static_cast<std::uint16_t>(kRadiotapBytes));
  w.le32(present);
  w.le64(fields.tsft_us);  // offset 8: already 8-aligned
  w.u8(flag_fcs_at_end);   // offset 16
  w.u8(0);                 // offset 17: pad, Channel needs 2-byte alignment
  w.le16(static_cast<std::uint16_t>(fields.freq_mhz));
  w.le16(channel_2ghz_cck);
  w.u8(static_cast<std::uint8_t>(static_cast<std::int8_t>(fields.signal_dbm)));
}

std::size_t build_probe_request(std::span<std::uint8_t> out, const ProbeRequestFields& fields,
                                const DeviceModel& model) {
  FrameWriter w(out);
  w.mgmt_header(kSubtypeProbeRequest, kBroadcast, fields.sa, kBroadcast, fields.seq);
  w.ssid_element(fields.ssid);
  w.bytes(model.ie_rates);
  if (model.sends_ds_param) w.ds_element(fields.channel);
  w.bytes(model.ie_tail_variants.empty() ? model.ie_tail : model.ie_tail_variants.at(fields.variant));
  return w.finish();
}

std::size_t build_beacon(std::span<std::uint8_t> out, const AccessPoint& ap, std::uint16_t seq,
                         std::uint64_t tsf_us) {
  FrameWriter w(out);
  w.mgmt_header(kSubtypeBeacon, kBroadcast, ap.bssid, ap.bssid, seq);
  ap_fixed_fields(w, ap, tsf_us);
  constexpr std::array<std::uint8_t, 4> tim{0, 1, 0, 0};  // DTIM count 0, period 1, no traffic buffered
  w.element(5, tim);
  w.bytes(ap.ie_tail);
  return w.finish();
}

std::size_t build_probe_response(std::span<std::uint8_t> out, const AccessPoint& ap, const MacAddress& da,
                                 std::uint16_t seq, std::uint64_t tsf_us) {
  FrameWriter w(out);
  w.mgmt_header(kSubtypeProbeResponse, da, ap.bssid, ap.bssid, seq);
  ap_fixed_fields(w, ap, tsf_us);
  w.bytes(ap.ie_tail);
  return w.finish();
}

}  // namespace footfall::sim
