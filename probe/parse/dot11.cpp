#include "probe/parse/dot11.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "common/byte_cursor.h"

namespace footfall::probe::parse {
namespace {

// Frame control, first octet: version in bits 0-1, type in bits 2-3, subtype in bits 4-7.
constexpr std::uint8_t kTypeManagement = 0;
constexpr std::uint8_t kTypeExtension = 3;
// Frame control, second octet (flags).
constexpr std::uint8_t kFlagRetry = 0x08;
constexpr std::uint8_t kFlagProtected = 0x40;
constexpr std::uint8_t kFlagOrder = 0x80;

constexpr std::size_t kFcsLength = 4;
constexpr std::size_t kManagementHeaderLength = 24;
constexpr std::size_t kHtControlLength = 4;
constexpr std::size_t kFixedFieldsLength = 12;  // timestamp(8) beacon interval(2) capability(2)

namespace element {
constexpr std::uint8_t ssid = 0;
constexpr std::uint8_t supported_rates = 1;
constexpr std::uint8_t ds_parameter_set = 3;
constexpr std::uint8_t ht_capabilities = 45;
constexpr std::uint8_t extended_supported_rates = 50;
constexpr std::uint8_t interworking = 107;
constexpr std::uint8_t extended_capabilities = 127;
constexpr std::uint8_t vht_capabilities = 191;
constexpr std::uint8_t vendor_specific = 221;
constexpr std::uint8_t extension = 255;
constexpr std::uint8_t ext_he_capabilities = 35;
}  // namespace element

// Callers have checked that the bytes are there.
MacAddress mac_at(const std::uint8_t* p) {
  MacAddress m;
  std::memcpy(m.octets.data(), p, m.octets.size());
  return m;
}

// Fingerprint hash: the element list is reduced to a byte stream (below) which is hashed 8 bytes per
// multiply / xor-shift step rather than FNV-1a's byte per step, because it runs on every probe request.
// Words are read little-endian on every CPU so that probes of any make agree on a device's fingerprint.
class FingerprintHash {
 public:
  void append(std::span<const std::uint8_t> b) {
    const std::uint8_t* p = b.data();
    std::size_t n = b.size();
    for (; n >= 8; p += 8, n -= 8) push(load8(p), 8);
    if (n > 0) push(load_short(p, n), static_cast<unsigned>(n));
  }
  void append(std::uint8_t b) { push(b, 1); }

  [[nodiscard]] std::uint64_t value() const {
    std::uint64_t x = h_;
    if (used_ > 0) x = mix(x, buffer_);
    x = mix(x, length_);
    // MurmurHash3 finaliser, so that similar element lists do not give similar fingerprints.
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x == 0 ? 1 : x;  // zero means "no fingerprint"
  }

 private:
  static std::uint64_t mix(std::uint64_t h, std::uint64_t w) {
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 32);
  }
  static std::uint64_t load8(const std::uint8_t* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
    return w;
  }
  static std::uint64_t load4(const std::uint8_t* p) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap32(w);
    return w;
  }
  // 1..7 bytes without reading past them: two overlapping loads (the overlap holds equal bytes).
  static std::uint64_t load_short(const std::uint8_t* p, std::size_t n) {
    if (n >= 4) return load4(p) | (load4(p + n - 4) << (8 * (n - 4)));
    return std::uint64_t{p[0]} | (std::uint64_t{p[n / 2]} << (8 * (n / 2))) | (std::uint64_t{p[n - 1]} << (8 * (n - 1)));
  }
  // `w` holds `n` (1..8) stream bytes in its low bytes, zero above.
  void push(std::uint64_t w, unsigned n) {
    length_ += n;
    buffer_ |= w << (8 * used_);
    const unsigned total = used_ + n;
    if (total < 8) {
      used_ = total;
      return;
    }
    h_ = mix(h_, buffer_);
    buffer_ = used_ == 0 ? 0 : w >> (64 - 8 * used_);
    used_ = total - 8;
  }

  std::uint64_t h_ = 0xcbf29ce484222325ULL;
  std::uint64_t buffer_ = 0;  // stream bytes not yet mixed in, little-endian
  unsigned used_ = 0;         // how many of them (0..7)
  std::uint64_t length_ = 0;
};

// The fingerprint keeps only what one phone sends the same way in every probe request, measured on real
// captures where single addresses sent several variants (docs/counting.md): the SET of element ids (Android
// moves extended capabilities, vendor and extension elements about between scans), not their order; rates and
// interworking whole; HT capability info + A-MPDU parameters (not the MCS set: iPhones switch between 1 and 2
// receive streams); VHT capability info; HE MAC + PHY capabilities (not the MCS/NSS map or PPE thresholds);
// extended capabilities by length only (bits flip between scans). Left out: SSID, DS parameter set (sent on
// some bands only) and vendor elements (WPS, P2P and vendor elements come and go between scans).
class StableFingerprint {
 public:
  void element(std::uint8_t id) { ids_[id / 64] |= std::uint64_t{1} << (id % 64); }
  void extension(std::uint8_t ext) { ext_ids_[ext / 64] |= std::uint64_t{1} << (ext % 64); }
  // One kept part; parts are summed, so their order does not matter.
  void part(std::uint8_t id, std::span<const std::uint8_t> bytes) {
    FingerprintHash h;
    h.append(id);
    h.append(static_cast<std::uint8_t>(bytes.size()));
    h.append(bytes);
    parts_ += h.value();
  }
  void length_only(std::uint8_t id, std::uint8_t length) {
    FingerprintHash h;
    h.append(id);
    h.append(length);
    parts_ += h.value();
  }
  [[nodiscard]] std::uint64_t value() const {
    FingerprintHash h;
    for (const std::uint64_t w : ids_) push(h, w);
    for (const std::uint64_t w : ext_ids_) push(h, w);
    push(h, parts_);
    return h.value();
  }

 private:
  static void push(FingerprintHash& h, std::uint64_t w) {
    std::uint8_t b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(w >> (8 * i));
    h.append(std::span<const std::uint8_t>(b, 8));
  }
  std::uint64_t ids_[4] = {};
  std::uint64_t ext_ids_[4] = {};
  std::uint64_t parts_ = 0;
};

// One pass over the elements. With kFingerprint (probe requests) each element also feeds the fingerprint
// (StableFingerprint above).
template <bool kFingerprint>
void read_elements(std::span<const std::uint8_t> body, MgmtFrame& f) {
  using namespace element;
  StableFingerprint hash;
  unsigned rates = 0;
  // Walked with a pointer and the count left, each element checked whole before any of it is read.
  const std::uint8_t* at = body.data();
  std::size_t left = body.size();
  while (left > 0) {
    if (left < 2) {  // one stray octet: not even an element header
      f.ie_truncated = true;
      break;
    }
    const std::uint8_t id = at[0];
    const std::uint8_t len = at[1];
    if (left - 2 < len) {
      f.ie_truncated = true;
      break;
    }
    const std::span<const std::uint8_t> element(at, 2u + len);
    const auto data = element.subspan(2);
    at += element.size();
    left -= element.size();
    switch (id) {
      case ssid:
        if (!f.ssid_present) {
          f.ssid_present = true;
          f.ssid = data;  // any length, even past the 32 the standard allows: tshark shows it whole
        }
        break;
      case ds_parameter_set:
        if (!data.empty()) f.ds_channel = data[0];
        break;
      case supported_rates:
      case extended_supported_rates:
      case interworking:
        if (id != interworking) rates += len;
        if (kFingerprint) {
          hash.element(id);
          hash.part(id, data);
        }
        break;
      case ht_capabilities:
        f.has_ht = true;
        if (kFingerprint) {
          hash.element(id);
          hash.part(id, data.first(std::min<std::size_t>(len, 3)));  // capability info + A-MPDU parameters
        }
        break;
      case vht_capabilities:
        f.has_vht = true;
        if (kFingerprint) {
          hash.element(id);
          hash.part(id, data.first(std::min<std::size_t>(len, 4)));  // capability info
        }
        break;
      case extended_capabilities:
        if (kFingerprint) {
          hash.element(id);
          hash.length_only(id, len);
        }
        break;
      case extension:
        if (!data.empty() && data[0] == ext_he_capabilities) f.has_he = true;
        if (kFingerprint && !data.empty()) {
          hash.extension(data[0]);
          if (data[0] == ext_he_capabilities) hash.part(id, data.subspan(1, std::min<std::size_t>(len - 1, 17)));
        }
        break;
      case vendor_specific:
        if (data.size() >= 3 && f.vendor_oui_count < f.vendor_ouis.size()) {
          f.vendor_ouis[f.vendor_oui_count++] =
              (std::uint32_t{data[0]} << 16) | (std::uint32_t{data[1]} << 8) | data[2];
        }
        break;
      default:
        if (kFingerprint) hash.element(id);
        break;
    }
  }
  f.supported_rates = static_cast<std::uint8_t>(std::min(rates, 255u));
  if (kFingerprint) f.ie_fingerprint = hash.value();
}

// Reads one frame into `f` (freshly reset); the reason when it is not a frame we keep.
std::optional<DropReason> read_frame(std::span<const std::uint8_t> bytes, bool fcs_at_end, MgmtFrame& f) {
  if (fcs_at_end) {
    if (bytes.size() < kFcsLength) return DropReason::dot11_truncated;
    bytes = bytes.first(bytes.size() - kFcsLength);
  }
  if (bytes.size() < 2) return DropReason::dot11_truncated;
  const std::uint8_t fc0 = bytes[0];
  const std::uint8_t flags = bytes[1];

  const auto version = static_cast<std::uint8_t>(fc0 & 0x03);
  const auto type = static_cast<std::uint8_t>((fc0 >> 2) & 0x03);
  const auto subtype = static_cast<std::uint8_t>(fc0 >> 4);
  if (version != 0) return DropReason::dot11_bad_version;
  if (type == kTypeExtension) return DropReason::extension_frame;
  if (type != kTypeManagement) return DropReason::not_management;
  if (subtype != static_cast<std::uint8_t>(MgmtKind::probe_req) &&
      subtype != static_cast<std::uint8_t>(MgmtKind::probe_resp) &&
      subtype != static_cast<std::uint8_t>(MgmtKind::beacon)) {
    return DropReason::other_management;
  }
  if (bytes.size() < kManagementHeaderLength) return DropReason::dot11_truncated;

  // Frame control(2) duration(2) addr1(6) addr2(6) addr3(6) sequence control(2): all present, checked above.
  const std::uint8_t* header = bytes.data();
  f.kind = static_cast<MgmtKind>(subtype);
  f.da = mac_at(header + 4);
  f.sa = mac_at(header + 10);
  f.bssid = mac_at(header + 16);
  const auto seqctl = static_cast<std::uint16_t>(header[22] | (header[23] << 8));
  f.seq = static_cast<std::uint16_t>(seqctl >> 4);
  f.frag = static_cast<std::uint8_t>(seqctl & 0x0f);
  f.retry = (flags & kFlagRetry) != 0;

  std::span<const std::uint8_t> body = bytes.subspan(kManagementHeaderLength);
  // Past the header a short body still leaves a usable sighting (tshark lists such frames too).
  if ((flags & kFlagOrder) != 0) {
    if (body.size() < kHtControlLength) {
      f.body_truncated = true;
      return std::nullopt;
    }
    body = body.subspan(kHtControlLength);
  }
  if ((flags & kFlagProtected) != 0) {
    f.body_protected = true;
    return std::nullopt;
  }
  if (f.kind == MgmtKind::probe_req) {
    read_elements<true>(body, f);
    return std::nullopt;
  }
  if (body.size() < kFixedFieldsLength) {
    f.body_truncated = true;
    return std::nullopt;
  }
  ByteCursor fixed(body.subspan(8));  // past the timestamp
  f.beacon_interval = fixed.le16();
  f.capability = fixed.le16();
  read_elements<false>(body.subspan(kFixedFieldsLength), f);
  return std::nullopt;
}

}  // namespace

Dot11Result parse_dot11(std::span<const std::uint8_t> bytes, bool fcs_at_end) {
  Dot11Result r;  // the only object returned, so it is built in place in the caller's storage
  if (const auto reason = read_frame(bytes, fcs_at_end, r.frame)) {
    r.verdict = is_malformed(*reason) ? Dot11Result::Verdict::malformed : Dot11Result::Verdict::ignored;
    r.reason = *reason;
  } else {
    r.verdict = Dot11Result::Verdict::frame;
  }
  return r;
}

std::optional<DropReason> parse_dot11_into(std::span<const std::uint8_t> bytes, bool fcs_at_end, MgmtFrame& frame) {
  // Copied from a constant: cheaper than the zeroed temporary that `frame = MgmtFrame{}` builds first.
  static constexpr MgmtFrame kNoFrame{};
  frame = kNoFrame;
  return read_frame(bytes, fcs_at_end, frame);
}

namespace {

// CRC-32 (IEEE 802.3 polynomial, reflected), the 802.11 FCS; table built at compile time.
constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t v = i;
    for (int k = 0; k < 8; ++k) v = (v & 1) ? (v >> 1) ^ 0xedb88320u : v >> 1;
    t[i] = v;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

}  // namespace

bool dot11_fcs_valid(std::span<const std::uint8_t> frame_with_fcs) {
  if (frame_with_fcs.size() < kFcsLength) return false;
  const auto body = frame_with_fcs.first(frame_with_fcs.size() - kFcsLength);
  std::uint32_t crc = 0xffffffffu;
  for (const std::uint8_t b : body) crc = kCrcTable[(crc ^ b) & 0xffu] ^ (crc >> 8);
  crc ^= 0xffffffffu;
  ByteCursor fcs(frame_with_fcs.last(kFcsLength));
  return fcs.le32() == crc;
}

}  // namespace footfall::probe::parse
