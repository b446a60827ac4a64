#include "probe/parse/radio_header.h"

#include <array>
#include <bit>
#include <cstddef>
#include <cstring>

#include "common/byte_cursor.h"

namespace footfall::probe::parse {
namespace {

RadioHeaderResult fail(DropReason reason) {
  RadioHeaderResult r;
  r.ok = false;
  r.reason = reason;
  return r;
}

int as_s8(std::uint8_t v) { return static_cast<int>(static_cast<std::int8_t>(v)); }
int as_s32(std::uint32_t v) { return static_cast<int>(static_cast<std::int32_t>(v)); }

template <typename T>
void keep_first(std::optional<T>& slot, T value) {
  if (!slot) slot = value;
}

// ---------------------------------------------------------------------------------------------
// Radiotap (https://www.radiotap.org): all fields little-endian, aligned to their natural size
// counted from the start of the radiotap header.

namespace rt {
constexpr std::size_t kFixedHeader = 8;  // it_version, it_pad, it_len, first it_present
constexpr std::uint32_t kBitTlv = 28;
constexpr std::uint32_t kBitRadiotapNs = 29;
constexpr std::uint32_t kBitVendorNs = 30;
constexpr std::uint32_t kBitExt = 31;

constexpr unsigned kTsft = 0, kFlags = 1, kChannel = 3, kDbmAntSignal = 5, kDbmAntNoise = 6, kAntenna = 11,
                   kXChannel = 18;
constexpr std::uint8_t kFlagDataPad = 0x20, kFlagFcsAtEnd = 0x10, kFlagBadFcs = 0x40;

struct FieldShape {
  std::uint8_t align;
  std::uint8_t size;
};
// Fields 0..27 of the radiotap namespace; 28 (TLVs) and anything later end the walk.
constexpr std::array<FieldShape, 28> kFieldShapes{{
    {8, 8},   // 0  TSFT
    {1, 1},   // 1  Flags
    {1, 1},   // 2  Rate
    {2, 4},   // 3  Channel: freq u16, flags u16
    {2, 2},   // 4  FHSS: hop set u8, hop pattern u8 (aligned to 2 as in Linux / Wireshark / FreeBSD)
    {1, 1},   // 5  dBm antenna signal
    {1, 1},   // 6  dBm antenna noise
    {2, 2},   // 7  lock quality
    {2, 2},   // 8  TX attenuation
    {2, 2},   // 9  dB TX attenuation
    {1, 1},   // 10 dBm TX power
    {1, 1},   // 11 antenna
    {1, 1},   // 12 dB antenna signal
    {1, 1},   // 13 dB antenna noise
    {2, 2},   // 14 RX flags
    {2, 2},   // 15 TX flags
    {1, 1},   // 16 RTS retries
    {1, 1},   // 17 data retries
    {4, 8},   // 18 XChannel: flags u32, freq u16, channel u8, max power u8
    {1, 3},   // 19 MCS
    {4, 8},   // 20 A-MPDU status
    {2, 12},  // 21 VHT
    {8, 12},  // 22 timestamp
    {2, 12},  // 23 HE
    {2, 12},  // 24 HE-MU
    {2, 6},   // 25 HE-MU-other-user
    {1, 1},   // 26 zero-length PSDU
    {2, 4},   // 27 L-SIG
}};

// Callers have checked that the bytes are there. One load each rather than a loop over the bytes.
unsigned load_le16(const std::uint8_t* p) { return static_cast<unsigned>(p[0] | (p[1] << 8)); }
std::uint32_t load_le32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}
std::uint64_t load_le64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// Bits 28..31 (TLVs, namespace switches, another present word): only the general walk handles them.
constexpr std::uint32_t kMultiWordOrTlvBits = 0xF0000000u;
static_assert(kFieldShapes.size() == kBitTlv, "every bit below the TLV bit has a known shape");

enum class Namespace : std::uint8_t { radiotap, vendor };

// Reads one radiotap-namespace field the cursor is positioned on (already aligned and bounds-checked).
void take_field(unsigned field, ByteCursor& c, RadioInfo& radio, std::optional<unsigned>& xchannel_freq,
                bool& flags_seen) {
  switch (field) {
    case kTsft:
      keep_first(radio.tsft_us, c.le64());
      break;
    case kFlags: {
      const std::uint8_t flags = c.u8();
      if (flags_seen) break;  // only the first Flags field describes the frame
      flags_seen = true;
      radio.fcs_at_end = (flags & kFlagFcsAtEnd) != 0;
      radio.bad_fcs = (flags & kFlagBadFcs) != 0;
      radio.data_pad = (flags & kFlagDataPad) != 0;
      break;
    }
    case kChannel: {
      const unsigned freq = c.le16();
      if (freq != 0) keep_first(radio.freq_mhz, freq);  // 0: the driver did not know it
      break;
    }
    case kDbmAntSignal:
      keep_first(radio.rssi_dbm, as_s8(c.u8()));
      break;
    case kDbmAntNoise:
      keep_first(radio.noise_dbm, as_s8(c.u8()));
      break;
    case kAntenna:
      keep_first(radio.antenna, static_cast<unsigned>(c.u8()));
      break;
    case kXChannel: {
      c.le32();  // flags
      const unsigned freq = c.le16();
      if (freq != 0) keep_first(xchannel_freq, freq);
      break;
    }
    default:
      break;
  }
}

}  // namespace rt

// ---------------------------------------------------------------------------------------------
// PPI (Per-Packet Information, CACE Technologies spec 1.0.2): all little-endian.

namespace ppi {
constexpr std::size_t kHeader = 8;
constexpr std::size_t kFieldHeader = 4;
constexpr std::uint8_t kFlagAligned = 0x01;  // fields padded to 32 bits
constexpr std::uint16_t kField80211Common = 2;
constexpr std::uint16_t kField80211Common_len = 20;
constexpr std::uint16_t kFieldBtle = 30006;  // PPI-BTLE as Ubertooth / crackle write it
constexpr std::uint16_t kCommonFcsPresent = 0x0001, kCommonTsftInMs = 0x0002, kCommonFcsInvalid = 0x0004;
constexpr int kDbmInvalid = -128;

void take_80211_common(ByteCursor c, RadioInfo& radio) {
  const std::uint64_t tsft = c.le64();
  const std::uint16_t flags = c.le16();
  c.le16();  // rate, 500 kb/s units
  const unsigned freq = c.le16();
  c.le16();  // channel flags
  c.u8();    // FHSS hop set
  c.u8();    // FHSS pattern
  const int signal = as_s8(c.u8());
  const int noise = as_s8(c.u8());
  if (!c.ok()) return;

  // Zero means "not supplied" for TSFT and frequency; for dBm values the spec says -128, yet some
  // writers leave 0, which no receiver reports in practice.
  if (tsft != 0) keep_first(radio.tsft_us, (flags & kCommonTsftInMs) ? tsft * 1000 : tsft);
  radio.fcs_at_end = (flags & kCommonFcsPresent) != 0;
  radio.bad_fcs = (flags & kCommonFcsInvalid) != 0;
  if (freq != 0) keep_first(radio.freq_mhz, freq);
  if (signal != kDbmInvalid && signal != 0) keep_first(radio.rssi_dbm, signal);
  if (noise != kDbmInvalid && noise != 0) keep_first(radio.noise_dbm, noise);
}

void take_btle(ByteCursor c, RadioInfo& radio) {
  c.u8();  // PPI-BTLE version
  const unsigned freq = c.le16();
  // Its RSSI bytes are the sniffer's uncalibrated register values, not dBm: not reported.
  if (c.ok() && freq >= 2400 && freq <= 2483) keep_first(radio.freq_mhz, freq);
}
}  // namespace ppi

// ---------------------------------------------------------------------------------------------
// Prism (linux-wlan-ng / madwifi "prism2 monitor" header): 144 bytes in host byte order.

namespace prism {
constexpr std::size_t kHeader = 144;
constexpr std::size_t kItemsOffset = 24;  // msgcode, msglen, devname[16]
constexpr std::size_t kItemSize = 12;     // did u32, status u16, len u16, data u32
constexpr std::uint32_t kMsgcodeType1 = 0x00000044, kMsgcodeType2 = 0x00000041;
constexpr std::uint16_t kStatusSupplied = 0;

enum class Item : std::uint8_t { other, mactime, channel, rssi, noise };

// Two DID numbering schemes exist: 0x000N0044 (type 1) and 0x0000N041 (type 2).
Item item_of(std::uint32_t did) {
  unsigned n = 0;
  if ((did & 0xFFF0FFFF) == 0x00000044) {
    n = (did >> 16) & 0xF;
  } else if ((did & 0xFFFF0FFF) == 0x00000041) {
    n = (did >> 12) & 0xF;
  } else {
    return Item::other;
  }
  switch (n) {
    case 2: return Item::mactime;
    case 3: return Item::channel;
    case 4: return Item::rssi;
    case 7: return Item::noise;
    default: return Item::other;
  }
}

struct Reader {
  bool big_endian;
  std::uint32_t u32(ByteCursor& c) const { return big_endian ? c.be32() : c.le32(); }
  std::uint16_t u16(ByteCursor& c) const { return big_endian ? c.be16() : c.le16(); }
};
}  // namespace prism

// ---------------------------------------------------------------------------------------------
// AVS / wlan-ng capture header: big-endian.

namespace avs {
constexpr std::size_t kHeaderV1 = 64;
constexpr std::uint32_t kVersion1 = 0x80211001, kVersion2 = 0x80211002;
constexpr std::uint32_t kSsiDbm = 2;
constexpr std::uint32_t kPhyOfdmDot11a = 8;  // the only 5 GHz PHY type of the header
}  // namespace avs

bool is_avs_cookie(std::span<const std::uint8_t> packet) {
  ByteCursor c(packet);
  const std::uint32_t v = c.be32();
  return c.ok() && (v == avs::kVersion1 || v == avs::kVersion2);
}

}  // namespace

namespace {

// Where the fields we read sit under one present word of radiotap-namespace fields only (bits 28..31 clear).
// Fields follow one another in bit order, so the header holds them all exactly when it reaches `end`.
struct SingleWordLayout {
  std::uint32_t word = 0;
  std::size_t end = rt::kFixedHeader;  // one past the last field
  std::uint8_t tsft = 0, flags = 0, channel = 0, signal = 0, noise = 0, antenna = 0, xchannel = 0;  // 0: absent
};

SingleWordLayout layout_of(std::uint32_t word) {
  using namespace rt;
  SingleWordLayout layout;
  layout.word = word;
  std::size_t offset = kFixedHeader;
  for (std::uint32_t bits = word; bits != 0; bits &= bits - 1) {
    const auto field = static_cast<unsigned>(std::countr_zero(bits));
    const FieldShape shape = kFieldShapes[field];
    offset = (offset + shape.align - 1) & ~static_cast<std::size_t>(shape.align - 1);
    // The fields kept are among the first 19 (at most 42 bytes and their padding in): offsets fit a byte.
    const auto at = static_cast<std::uint8_t>(offset);
    switch (field) {
      case kTsft: layout.tsft = at; break;
      case kFlags: layout.flags = at; break;
      case kChannel: layout.channel = at; break;
      case kDbmAntSignal: layout.signal = at; break;
      case kDbmAntNoise: layout.noise = at; break;
      case kAntenna: layout.antenna = at; break;
      case kXChannel: layout.xchannel = at; break;
      default: break;
    }
    offset += shape.size;
  }
  layout.end = offset;
  return layout;
}

std::optional<DropReason> read_single_radiotap_word(std::span<const std::uint8_t> header, std::uint32_t word,
                                                    RadioInfo& radio) {
  using namespace rt;
  // A capture repeats one present word packet after packet: its layout is worked out once per thread.
  constinit thread_local SingleWordLayout last{};  // the layout of word 0: no fields
  if (last.word != word) last = layout_of(word);
  const SingleWordLayout& layout = last;
  if (layout.end > header.size()) return DropReason::radiotap_truncated;

  // Each field occurs once in a single word, so "the first one wins" holds without checks.
  const std::uint8_t* h = header.data();
  if (layout.tsft != 0) radio.tsft_us = load_le64(h + layout.tsft);
  if (layout.flags != 0) {
    const std::uint8_t flags = h[layout.flags];
    radio.fcs_at_end = (flags & kFlagFcsAtEnd) != 0;
    radio.bad_fcs = (flags & kFlagBadFcs) != 0;
    radio.data_pad = (flags & kFlagDataPad) != 0;
  }
  if (layout.channel != 0) {
    if (const unsigned freq = load_le16(h + layout.channel); freq != 0) radio.freq_mhz = freq;
  }
  if (layout.signal != 0) radio.rssi_dbm = as_s8(h[layout.signal]);
  if (layout.noise != 0) radio.noise_dbm = as_s8(h[layout.noise]);
  if (layout.antenna != 0) radio.antenna = h[layout.antenna];
  if (layout.xchannel != 0 && !radio.freq_mhz) {
    if (const unsigned freq = load_le16(h + layout.xchannel + 4); freq != 0) radio.freq_mhz = freq;
  }
  return std::nullopt;
}

// Every present word and namespace, for headers the single-word walk does not cover.
std::optional<DropReason> walk_radiotap_words(std::span<const std::uint8_t> header, RadioInfo& radio) {
  using namespace rt;
  // The present words chain through bit 31; field data starts after the last one.
  ByteCursor words(header);
  words.skip(4);
  std::size_t word_count = 0;
  for (;;) {
    const std::uint32_t word = words.le32();
    if (!words.ok()) return DropReason::radiotap_truncated;
    ++word_count;
    if ((word & (1u << kBitExt)) == 0) break;
  }

  ByteCursor data(header);
  data.skip(4 + 4 * word_count);
  ByteCursor bitmaps(header);
  bitmaps.skip(4);

  std::optional<unsigned> xchannel_freq;
  bool flags_seen = false;
  Namespace ns = Namespace::radiotap;
  unsigned field_base = 0;  // field number of bit 0 in this word (32 per continued radiotap word)
  bool walking = true;

  for (std::size_t w = 0; w < word_count && walking; ++w) {
    const std::uint32_t word = bitmaps.le32();
    if (ns == Namespace::radiotap) {
      for (std::uint32_t bit = 0; bit < kBitTlv + 1 && walking; ++bit) {
        if ((word & (1u << bit)) == 0) continue;
        const unsigned field = field_base + bit;
        if (field >= kFieldShapes.size()) {
          walking = false;  // TLVs or an undefined field: later offsets cannot be known
          break;
        }
        const FieldShape shape = kFieldShapes[field];
        if (!data.align(shape.align) || !data.has(shape.size)) return DropReason::radiotap_truncated;
        ByteCursor field_bytes(data.bytes(shape.size));
        take_field(field, field_bytes, radio, xchannel_freq, flags_seen);
      }
    }
    // A vendor namespace's own fields were skipped with its skip_length; nothing to read per bit.
    if (!walking) break;

    bool namespace_switch = false;
    if (word & (1u << kBitRadiotapNs)) {
      ns = Namespace::radiotap;
      namespace_switch = true;
    }
    if (word & (1u << kBitVendorNs)) {
      // OUI[3], sub-namespace, skip_length u16: the vendor data that follows is opaque to us.
      if (!data.align(2)) return DropReason::radiotap_truncated;
      data.skip(4);
      const std::size_t skip_length = data.le16();
      if (!data.ok() || !data.skip(skip_length)) return DropReason::radiotap_truncated;
      ns = Namespace::vendor;
      namespace_switch = true;
    }
    field_base = namespace_switch ? 0 : field_base + 32;
  }

  if (!radio.freq_mhz && xchannel_freq) radio.freq_mhz = xchannel_freq;
  return std::nullopt;
}

}  // namespace

std::optional<DropReason> parse_radiotap_into(std::span<const std::uint8_t> packet, RadioInfo& radio,
                                              std::span<const std::uint8_t>& payload) {
  using namespace rt;
  radio = RadioInfo{};
  if (packet.size() < kFixedHeader) return DropReason::radiotap_truncated;
  const std::uint8_t version = packet[0];
  const std::size_t it_len = load_le16(packet.data() + 2);
  if (version != 0) return DropReason::radiotap_bad_version;
  if (it_len < kFixedHeader) return DropReason::radiotap_bad_length;
  if (it_len > packet.size()) return DropReason::radiotap_truncated;

  const auto header = packet.first(it_len);
  // Nearly every capture has one present word of radiotap-namespace fields only.
  const std::uint32_t first_word = load_le32(header.data() + 4);
  const std::optional<DropReason> reason = (first_word & kMultiWordOrTlvBits) == 0
                                               ? read_single_radiotap_word(header, first_word, radio)
                                               : walk_radiotap_words(header, radio);
  if (!reason) payload = packet.subspan(it_len);
  return reason;
}

RadioHeaderResult parse_radiotap(std::span<const std::uint8_t> packet) {
  RadioHeaderResult r;
  if (const auto reason = parse_radiotap_into(packet, r.radio, r.payload)) return fail(*reason);
  r.ok = true;
  r.inner_link_type = static_cast<int>(LinkType::ieee802_11);
  return r;
}

RadioHeaderResult parse_ppi(std::span<const std::uint8_t> packet) {
  using namespace ppi;
  if (packet.size() < kHeader) return fail(DropReason::ppi_truncated);
  ByteCursor fixed(packet);
  const std::uint8_t version = fixed.u8();
  const std::uint8_t flags = fixed.u8();
  const std::size_t pph_len = fixed.le16();
  const std::uint32_t dlt = fixed.le32();
  if (version != 0 || pph_len < kHeader) return fail(DropReason::ppi_bad_header);
  if (pph_len > packet.size()) return fail(DropReason::ppi_truncated);
  if (dlt != static_cast<std::uint32_t>(LinkType::ieee802_11) &&
      dlt != static_cast<std::uint32_t>(LinkType::user0_ble)) {
    return fail(DropReason::ppi_unsupported_dlt);
  }

  RadioHeaderResult r;
  r.ok = true;
  r.inner_link_type = static_cast<int>(dlt);

  ByteCursor fields(packet.first(pph_len));
  fields.skip(kHeader);
  while (fields.remaining() > 0) {
    if (!fields.has(kFieldHeader)) return fail(DropReason::ppi_truncated);
    const std::uint16_t type = fields.le16();
    const std::size_t len = fields.le16();
    if (!fields.has(len)) return fail(DropReason::ppi_truncated);
    const ByteCursor body(fields.bytes(len));
    // A field whose length does not match its type is ignored, as Wireshark does.
    if (type == kField80211Common && len == kField80211Common_len) take_80211_common(body, r.radio);
    if (type == kFieldBtle) take_btle(body, r.radio);
    if (flags & kFlagAligned) {
      const std::size_t pad = (4 - fields.offset() % 4) % 4;
      fields.skip(pad < fields.remaining() ? pad : fields.remaining());
    }
  }

  r.payload = packet.subspan(pph_len);
  return r;
}

RadioHeaderResult parse_prism(std::span<const std::uint8_t> packet) {
  using namespace prism;
  // Some drivers write the AVS header under the prism link type.
  if (is_avs_cookie(packet)) return parse_avs(packet);
  if (packet.size() < kHeader) return fail(DropReason::prism_truncated);

  // Host byte order: the message code tells it; failing that, a message length that fits.
  ByteCursor probe(packet);
  const std::uint32_t code_le = probe.le32();
  const std::uint32_t len_le = probe.le32();
  ByteCursor probe_be(packet);
  const std::uint32_t code_be = probe_be.be32();
  const std::uint32_t len_be = probe_be.be32();
  const auto fits = [&](std::uint32_t len) { return len >= kHeader && len <= packet.size(); };
  Reader rd{false};
  if (code_le == kMsgcodeType1 || code_le == kMsgcodeType2) {
    rd.big_endian = false;
  } else if (code_be == kMsgcodeType1 || code_be == kMsgcodeType2) {
    rd.big_endian = true;
  } else {
    rd.big_endian = !fits(len_le) && fits(len_be);
  }
  const std::uint32_t msglen = rd.big_endian ? len_be : len_le;
  if (msglen < kHeader) return fail(DropReason::prism_bad_header);
  if (!fits(msglen)) return fail(DropReason::prism_truncated);

  RadioHeaderResult r;
  r.ok = true;
  ByteCursor items(packet.first(kHeader));
  items.skip(kItemsOffset);
  while (items.has(kItemSize)) {
    const std::uint32_t did = rd.u32(items);
    const std::uint16_t status = rd.u16(items);
    rd.u16(items);  // item length: always 4 in practice, the slot is fixed-size either way
    const std::uint32_t value = rd.u32(items);
    if (status != kStatusSupplied) continue;
    switch (item_of(did)) {
      case Item::mactime: keep_first(r.radio.tsft_us, static_cast<std::uint64_t>(value)); break;
      case Item::channel: keep_first(r.radio.channel, static_cast<unsigned>(value)); break;
      case Item::rssi: keep_first(r.radio.rssi_dbm, as_s32(value)); break;
      case Item::noise: keep_first(r.radio.noise_dbm, as_s32(value)); break;
      case Item::other: break;
    }
  }
  r.payload = packet.subspan(msglen);
  r.inner_link_type = static_cast<int>(LinkType::ieee802_11);
  return r;
}

RadioHeaderResult parse_avs(std::span<const std::uint8_t> packet) {
  using namespace avs;
  if (packet.size() < kHeaderV1) return fail(DropReason::avs_truncated);
  ByteCursor c(packet);
  const std::uint32_t version = c.be32();
  const std::size_t length = c.be32();
  const std::uint64_t mactime_high = c.be32();
  const std::uint64_t mactime = (mactime_high << 32) | c.be32();
  c.skip(8);  // hosttime
  const std::uint32_t phytype = c.be32();
  const std::uint32_t channel = c.be32();
  c.be32();  // data rate, 100 kb/s units
  const std::uint32_t antenna = c.be32();
  c.be32();  // priority
  const std::uint32_t ssi_type = c.be32();
  const int ssi_signal = as_s32(c.be32());
  const int ssi_noise = as_s32(c.be32());
  if (!c.ok()) return fail(DropReason::avs_truncated);
  if (version != kVersion1 && version != kVersion2) return fail(DropReason::avs_bad_header);
  if (length < kHeaderV1) return fail(DropReason::avs_bad_header);
  if (length > packet.size()) return fail(DropReason::avs_truncated);

  RadioHeaderResult r;
  r.ok = true;
  if (mactime != 0) r.radio.tsft_us = mactime;
  if (channel != 0) {
    r.radio.channel = channel;
    r.radio.freq_mhz = channel_to_freq_mhz(channel, phytype == kPhyOfdmDot11a);
  }
  r.radio.antenna = antenna;
  // Other SSI types are normalised or raw RSSI, not comparable across radios.
  if (ssi_type == kSsiDbm) {
    r.radio.rssi_dbm = ssi_signal;
    r.radio.noise_dbm = ssi_noise;
  }
  r.payload = packet.subspan(length);
  r.inner_link_type = static_cast<int>(LinkType::ieee802_11);
  return r;
}

std::optional<unsigned> channel_to_freq_mhz(unsigned channel, bool five_ghz_hint) {
  if (five_ghz_hint || channel > 14) {
    if (channel >= 32 && channel <= 177) return 5000 + 5 * channel;
    return std::nullopt;
  }
  if (channel >= 1 && channel <= 13) return 2407 + 5 * channel;
  if (channel == 14) return 2484;
  return std::nullopt;
}

}  // namespace footfall::probe::parse
