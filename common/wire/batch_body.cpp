#include "common/wire/batch_body.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <type_traits>

#include "common/byte_cursor.h"
#include "common/byte_writer.h"
#include "common/wire/varint.h"

namespace footfall::wire {

namespace {

constexpr std::uint8_t kSightingKindMask = 0x03;
constexpr std::uint8_t kSightingHasRssi = 0x04;
constexpr std::uint8_t kEventKindMask = 0x03;
constexpr std::uint8_t kEventRandomized = 0x04;
constexpr std::uint8_t kEventCauseShift = 3;   // version 2: bits 3-4 departure cause
constexpr std::uint8_t kEventCauseMask = 0x18;
constexpr std::uint8_t kEventBle = 0x20;       // version 2
constexpr std::size_t kMinSightingBytes = 5;  // one byte in each always-present column but the MAC one
// Flags, the one-byte varints and the signal bytes: version 1 has eight varints and three signal bytes,
// version 2 adds interval_frames and interval_rssi_mean.
constexpr std::size_t kMinEventBytesV1 = 12;
constexpr std::size_t kMinEventBytesV2 = 14;
constexpr std::size_t kMinEventBytes = 17;  // version 3 adds device, previous address slot and addresses

// Differences are taken modulo 2^64 so any pair of int64 timestamps round-trips without overflow.
std::int64_t wrapping_diff(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
std::int64_t wrapping_add(std::int64_t a, std::uint64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + b);
}
std::uint64_t magnitude(std::int64_t v) {
  return v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
}
// 100 TU, the beacon interval nearly every access point uses: a beacon's step is coded as its distance
// from this, a few hundred microseconds of channel-access delay. Other intervals only cost more bytes.
constexpr std::uint64_t kBeaconIntervalNs = 102'400'000;

// By device, steps within one device never go backwards (the layout requires (ts, mac) order), so they
// are written unsigned; everything else may be negative and is zigzagged.
std::uint64_t time_code(SightingLayout layout, SightingKind kind, bool first, std::uint64_t step,
                        std::uint64_t beacon_interval) {
  if (layout == SightingLayout::in_order) return zigzag(static_cast<std::int64_t>(step));
  if (kind == SightingKind::beacon && !first) return zigzag(static_cast<std::int64_t>(step - beacon_interval));
  return step;
}
std::uint64_t time_step(SightingLayout layout, SightingKind kind, bool first, std::uint64_t code,
                        std::uint64_t beacon_interval) {
  if (layout == SightingLayout::in_order) return static_cast<std::uint64_t>(unzigzag(code));
  if (kind == SightingKind::beacon && !first) return static_cast<std::uint64_t>(unzigzag(code)) + beacon_interval;
  return code;
}

bool before(const Sighting& a, const Sighting& b) {
  return a.ts_ns != b.ts_ns ? a.ts_ns < b.ts_ns : a.mac < b.mac;
}


}  // namespace

// What the sighting columns are coded against, on either side: the writer fills in its indexes, the reader
// its tables.
struct ColumnTables {
  SightingLayout layout = SightingLayout::in_order;
  std::uint64_t unit = 1;             // divides every time step
  std::uint64_t beacon_interval = 0;  // kBeaconIntervalNs in units
  std::int64_t base_ns = 0;
  const std::unordered_map<std::uint16_t, std::uint32_t>* freq_index = nullptr;  // writer
  const std::unordered_map<std::uint64_t, std::uint32_t>* fp_index = nullptr;    // writer
  const std::vector<std::uint16_t>* freqs = nullptr;                               // reader
  const std::vector<std::uint64_t>* fps = nullptr;                                 // reader
};

namespace {

// A sighting column, described once for both directions: which group each sighting's code goes to (-1: none;
// each group is a zstd block of its own), one byte or a varint per code, and how a value becomes a code
// against `last` (the previous value of the same device, or of the batch when not per_device) and back.
int first_or_rest(const Sighting&, bool first) { return first ? 0 : 1; }

// Time, as steps of `unit`: from the previous sighting (in order) or from the device's previous one (by device).
struct TimeColumn {
  static constexpr int kGroups = 3;
  static constexpr bool kOneByte = false;
  static int group(const Sighting& s, bool first) { return first ? 0 : s.kind == SightingKind::beacon ? 1 : 2; }
  static bool per_device(const ColumnTables& t) { return t.layout == SightingLayout::by_device; }
  static std::uint64_t start(const ColumnTables& t) { return static_cast<std::uint64_t>(t.base_ns); }
  static std::uint64_t encode(const Sighting& s, bool first, std::uint64_t& last, const ColumnTables& t) {
    // unit <= 2^63; at 2^63 the cast gives INT64_MIN and the quotient is still exact.
    const auto step = static_cast<std::uint64_t>(wrapping_diff(s.ts_ns, static_cast<std::int64_t>(last)) /
                                                 static_cast<std::int64_t>(t.unit));
    last = static_cast<std::uint64_t>(s.ts_ns);
    return time_code(t.layout, s.kind, first, step, t.beacon_interval);
  }
  static std::optional<BadReason> decode(std::uint64_t code, Sighting& s, bool first, std::uint64_t& last,
                                         const ColumnTables& t) {
    const std::uint64_t step = time_step(t.layout, s.kind, first, code, t.beacon_interval);
    last = static_cast<std::uint64_t>(wrapping_add(static_cast<std::int64_t>(last), step * t.unit));
    s.ts_ns = static_cast<std::int64_t>(last);
    return std::nullopt;
  }
};

// A value that repeats per device: 0 for the device's previous one, else its index in the table + 1. Frequency (an
// access point stays on its channel) and fingerprint (a phone's never changes).
template <auto Field, auto Index, auto Table>
struct TableColumn {
  static constexpr int kGroups = 2;
  static constexpr bool kOneByte = false;
  static int group(const Sighting& s, bool first) { return first_or_rest(s, first); }
  static bool per_device(const ColumnTables&) { return true; }
  static std::uint64_t start(const ColumnTables&) { return 0; }
  static std::uint64_t encode(const Sighting& s, bool, std::uint64_t& last, const ColumnTables& t) {
    const std::uint64_t code = s.*Field == last ? 0 : (t.*Index)->find(s.*Field)->second + 1;
    last = s.*Field;
    return code;
  }
  static std::optional<BadReason> decode(std::uint64_t code, Sighting& s, bool, std::uint64_t& last,
                                         const ColumnTables& t) {
    if (code > (t.*Table)->size()) return BadReason::index_out_of_range;
    if (code != 0) last = (*(t.*Table))[code - 1];
    s.*Field = static_cast<std::remove_reference_t<decltype(s.*Field)>>(last);
    return std::nullopt;
  }
};
using FreqColumn = TableColumn<&Sighting::freq_mhz, &ColumnTables::freq_index, &ColumnTables::freqs>;
using FingerprintColumn = TableColumn<&Sighting::fingerprint, &ColumnTables::fp_index, &ColumnTables::fps>;

// Signal: one byte, the difference from the device's previous reading modulo 256; absent readings take no byte.
struct RssiColumn {
  static constexpr int kGroups = 2;
  static constexpr bool kOneByte = true;
  static int group(const Sighting& s, bool first) { return !s.has_rssi ? -1 : first ? 0 : 1; }
  static bool per_device(const ColumnTables&) { return true; }
  static std::uint64_t start(const ColumnTables&) { return 0; }
  static std::uint64_t encode(const Sighting& s, bool, std::uint64_t& last, const ColumnTables&) {
    const auto now = static_cast<std::uint8_t>(s.rssi_dbm);
    const auto code = static_cast<std::uint8_t>(now - static_cast<std::uint8_t>(last));
    last = now;
    return code;
  }
  static std::optional<BadReason> decode(std::uint64_t code, Sighting& s, bool, std::uint64_t& last,
                                         const ColumnTables&) {
    last = static_cast<std::uint8_t>(static_cast<std::uint8_t>(last) + code);
    s.rssi_dbm = static_cast<std::int8_t>(static_cast<std::uint8_t>(last));
    return std::nullopt;
  }
};

// 802.11 sequence number: the zigzagged 16-bit step from the device's previous frame.
struct SeqColumn {
  static constexpr int kGroups = 2;
  static constexpr bool kOneByte = false;
  static int group(const Sighting& s, bool first) { return first_or_rest(s, first); }
  static bool per_device(const ColumnTables&) { return true; }
  static std::uint64_t start(const ColumnTables&) { return 0; }
  static std::uint64_t encode(const Sighting& s, bool, std::uint64_t& last, const ColumnTables&) {
    const auto code = zigzag(static_cast<std::int16_t>(static_cast<std::uint16_t>(s.seq - static_cast<std::uint16_t>(last))));
    last = s.seq;
    return code;
  }
  static std::optional<BadReason> decode(std::uint64_t code, Sighting& s, bool, std::uint64_t& last,
                                         const ColumnTables&) {
    const std::int64_t delta = unzigzag(code);
    if (delta < std::numeric_limits<std::int16_t>::min() || delta > std::numeric_limits<std::int16_t>::max())
      return BadReason::bad_value;
    last = static_cast<std::uint16_t>(static_cast<std::uint16_t>(last) + static_cast<std::uint16_t>(delta));
    s.seq = static_cast<std::uint16_t>(last);
    return std::nullopt;
  }
};


}  // namespace

// Each per-device column is written in groups: a device's first sighting (an absolute value) apart from its
// continuations (small deltas), so each group gets an entropy table (a zstd block) of its own.
template <typename Column>
void BatchBodyWriter::put_column(const std::vector<Sighting>& sightings, const ColumnTables& tables,
                                 std::vector<std::uint8_t>& raw) {
  const std::size_t n = sightings.size();
  const bool per_device = Column::per_device(tables);
  last_.assign(per_device ? macs_.size() : 1, Column::start(tables));
  for (std::size_t k = 0; k < n; ++k) {
    const Sighting& s = sightings[order_[k]];
    if (Column::group(s, first_[k] != 0) < 0) continue;
    codes_[k] = Column::encode(s, first_[k] != 0, last_[per_device ? sighting_mac_[order_[k]] : 0], tables);
  }
  ByteWriter out(raw);
  for (int g = 0; g < Column::kGroups; ++g) {
    for (std::size_t k = 0; k < n; ++k) {
      if (Column::group(sightings[order_[k]], first_[k] != 0) != g) continue;
      if (Column::kOneByte) out.u8(static_cast<std::uint8_t>(codes_[k]));
      else put_varint(out, codes_[k]);
    }
    sections_.push_back(raw.size());
  }
}

template <typename Column>
std::optional<BadReason> BatchBodyReader::take_column(ByteCursor& in, std::vector<Sighting>& sightings,
                                                      const ColumnTables& tables) {
  const std::size_t n = sightings.size();
  bool overlong = false;
  for (int g = 0; g < Column::kGroups; ++g) {
    for (std::size_t i = 0; i < n; ++i) {
      if (Column::group(sightings[i], first_[i] != 0) != g) continue;
      if (Column::kOneByte) {
        codes_[i] = in.u8();
        if (!in.ok()) return BadReason::truncated_body;
      } else if (!get_varint(in, codes_[i], overlong)) {
        return overlong ? BadReason::bad_varint : BadReason::truncated_body;
      }
    }
  }
  const bool per_device = Column::per_device(tables);
  last_.assign(per_device ? macs_.size() : 1, Column::start(tables));
  for (std::size_t i = 0; i < n; ++i) {
    if (Column::group(sightings[i], first_[i] != 0) < 0) continue;
    if (auto bad = Column::decode(codes_[i], sightings[i], first_[i] != 0, last_[per_device ? sighting_mac_[i] : 0], tables))
      return bad;
  }
  return std::nullopt;
}

void sort_for_wire(std::vector<Sighting>& sightings) { std::stable_sort(sightings.begin(), sightings.end(), before); }

void BatchBodyWriter::write(const BatchBody& body, std::vector<std::uint8_t>& raw) {
  raw.clear();
  sections_.clear();
  mac_index_.clear();
  macs_.clear();
  fp_index_.clear();
  fps_.clear();
  freq_index_.clear();
  freqs_.clear();
  const auto& sightings = body.sightings;
  const auto& events = body.events;
  const std::size_t n = sightings.size();

  // MAC table sorted by address: the order carries no information, so the first octets become small deltas.
  for (const Sighting& s : sightings)
    if (mac_index_.try_emplace(s.mac.as_u64(), 0).second) macs_.push_back(s.mac);
  for (const PresenceEvent& e : events) {
    if (mac_index_.try_emplace(e.mac.as_u64(), 0).second) macs_.push_back(e.mac);
    if (e.previous_mac != MacAddress{} && mac_index_.try_emplace(e.previous_mac.as_u64(), 0).second)
      macs_.push_back(e.previous_mac);
  }
  std::sort(macs_.begin(), macs_.end());
  for (std::size_t i = 0; i < macs_.size(); ++i) mac_index_[macs_[i].as_u64()] = static_cast<std::uint32_t>(i);
  sighting_mac_.resize(n);
  for (std::size_t i = 0; i < n; ++i) sighting_mac_[i] = mac_index_.find(sightings[i].mac.as_u64())->second;

  layout_ = SightingLayout::by_device;
  for (std::size_t i = 1; i < n && layout_ == SightingLayout::by_device; ++i)
    if (before(sightings[i], sightings[i - 1])) layout_ = SightingLayout::in_order;

  // Encoded order: input order, or grouped by device keeping each device's own order (a counting sort).
  order_.resize(n);
  per_device_.assign(macs_.size(), 0);
  if (layout_ == SightingLayout::in_order) {
    std::iota(order_.begin(), order_.end(), 0u);
  } else {
    for (std::size_t i = 0; i < n; ++i) ++per_device_[sighting_mac_[i]];
    next_slot_.resize(macs_.size());
    std::uint32_t at = 0;
    for (std::size_t m = 0; m < macs_.size(); ++m) {
      next_slot_[m] = at;
      at += per_device_[m];
    }
    for (std::size_t i = 0; i < n; ++i) order_[next_slot_[sighting_mac_[i]]++] = static_cast<std::uint32_t>(i);
  }

  // Fingerprints and frequencies go to tables; a sighting names one only where it differs from the
  // same device's previous sighting (a phone's fingerprint never changes, an access point stays on its channel).
  last_fp_.assign(macs_.size(), 0);
  last_freq_.assign(macs_.size(), 0);
  for (std::uint32_t i : order_) {
    const Sighting& s = sightings[i];
    if (s.freq_mhz != last_freq_[sighting_mac_[i]]) {
      if (freq_index_.try_emplace(s.freq_mhz, static_cast<std::uint32_t>(freqs_.size())).second)
        freqs_.push_back(s.freq_mhz);
      last_freq_[sighting_mac_[i]] = s.freq_mhz;
    }
    if (s.fingerprint != last_fp_[sighting_mac_[i]]) {
      if (fp_index_.try_emplace(s.fingerprint, static_cast<std::uint32_t>(fps_.size())).second)
        fps_.push_back(s.fingerprint);
      last_fp_[sighting_mac_[i]] = s.fingerprint;
    }
  }
  for (const PresenceEvent& e : events)
    if (e.fingerprint != 0 && fp_index_.try_emplace(e.fingerprint, static_cast<std::uint32_t>(fps_.size())).second)
      fps_.push_back(e.fingerprint);

  // The time unit divides every time step written below, so steps shrink by it exactly (1000 for pcap's us).
  const std::int64_t base_ns = n != 0 ? sightings.front().ts_ns : (!events.empty() ? events.front().ts_ns : 0);
  std::uint64_t unit = 0;
  last_ts_.assign(layout_ == SightingLayout::in_order ? 1 : macs_.size(), base_ns);
  auto clock_of = [&](std::uint32_t i) -> std::int64_t& {
    return last_ts_[layout_ == SightingLayout::in_order ? 0 : sighting_mac_[i]];
  };
  for (std::uint32_t i : order_) {
    unit = std::gcd(unit, magnitude(wrapping_diff(sightings[i].ts_ns, clock_of(i))));
    clock_of(i) = sightings[i].ts_ns;
  }
  if (unit == 0) unit = 1;

  ByteWriter out(raw);
  out.le64(static_cast<std::uint64_t>(base_ns));
  put_varint(out, macs_.size());
  std::uint8_t prev_first = 0;
  for (const auto& m : macs_) {
    out.u8(static_cast<std::uint8_t>(m.octets[0] - prev_first));
    prev_first = m.octets[0];
  }
  for (const auto& m : macs_) out.bytes(std::span<const std::uint8_t>(m.octets).subspan(1));
  put_varint(out, fps_.size());
  for (auto fp : fps_) out.le64(fp);
  put_varint(out, freqs_.size());
  for (auto f : freqs_) out.le16(f);

  put_varint(out, events.size());
  for (const PresenceEvent& e : events) {
    const auto cause_bits =
        static_cast<std::uint8_t>((static_cast<unsigned>(e.cause) << kEventCauseShift) & kEventCauseMask);
    out.u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(e.kind) | (e.randomized ? kEventRandomized : 0) |
                                            cause_bits | (e.ble ? kEventBle : 0)));
    put_varint(out, mac_index_.find(e.mac.as_u64())->second);
    put_zigzag(out, wrapping_diff(e.ts_ns, base_ns));
    put_varint(out, e.fingerprint == 0 ? 0 : fp_index_.find(e.fingerprint)->second + 1);
    put_zigzag(out, wrapping_diff(e.ts_ns, e.first_seen_ns));
    put_zigzag(out, wrapping_diff(e.ts_ns, e.last_seen_ns));
    put_varint(out, e.frames);
    put_varint(out, e.interval_frames);
    out.u8(static_cast<std::uint8_t>(e.rssi_min));
    out.u8(static_cast<std::uint8_t>(e.rssi_max));
    out.u8(static_cast<std::uint8_t>(e.rssi_mean));
    out.u8(static_cast<std::uint8_t>(e.interval_rssi_mean));
    put_varint(out, e.strongest_freq_mhz);
    put_varint(out, e.dwell_s);
    put_varint(out, e.device);
    put_varint(out, e.previous_mac == MacAddress{} ? 0 : mac_index_.find(e.previous_mac.as_u64())->second + 1);
    put_varint(out, e.addresses);
  }

  put_varint(out, n);
  out.u8(static_cast<std::uint8_t>(layout_));
  put_varint(out, unit);
  sections_.push_back(raw.size());
  if (layout_ == SightingLayout::in_order) {
    for (std::uint32_t i : order_) put_varint(out, sighting_mac_[i]);
  } else {
    for (std::uint32_t c : per_device_) put_varint(out, c);
  }
  sections_.push_back(raw.size());
  for (std::uint32_t i : order_)
    out.u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(sightings[i].kind) |
                                            (sightings[i].has_rssi ? kSightingHasRssi : 0)));
  sections_.push_back(raw.size());

  first_.resize(n);
  seen_.assign(macs_.size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    first_[k] = seen_[sighting_mac_[order_[k]]] == 0;
    seen_[sighting_mac_[order_[k]]] = 1;
  }
  codes_.resize(n);
  ColumnTables tables{layout_, unit, kBeaconIntervalNs / unit, base_ns};
  tables.freq_index = &freq_index_;
  tables.fp_index = &fp_index_;
  put_column<TimeColumn>(sightings, tables, raw);
  put_column<FreqColumn>(sightings, tables, raw);
  put_column<RssiColumn>(sightings, tables, raw);
  put_column<SeqColumn>(sightings, tables, raw);
  put_column<FingerprintColumn>(sightings, tables, raw);
}

std::optional<BadReason> BatchBodyReader::read(std::span<const std::uint8_t> raw, BatchBody& out,
                                               std::uint8_t version) {
  out.clear();
  const bool v1 = version < 2;
  const bool linked = version >= 3;
  ByteCursor in(raw);
  bool overlong = false;
  auto varint = [&](std::uint64_t& v) { return get_varint(in, v, overlong); };
  auto short_or_overlong = [&] { return overlong ? BadReason::bad_varint : BadReason::truncated_body; };
  // A count is believable only if that many minimal records fit in what is left.
  auto count = [&](std::uint64_t& n, std::size_t min_bytes) -> std::optional<BadReason> {
    if (!varint(n)) return short_or_overlong();
    if (n > in.remaining() / min_bytes) return BadReason::count_too_large;
    return std::nullopt;
  };

  const auto base_ns = static_cast<std::int64_t>(in.le64());
  if (!in.ok()) return BadReason::truncated_body;
  std::uint64_t n = 0;
  if (auto bad = count(n, 6)) return bad;
  macs_.resize(n);
  std::uint8_t prev_first = 0;
  for (auto& m : macs_) {
    m.octets[0] = static_cast<std::uint8_t>(prev_first + in.u8());
    prev_first = m.octets[0];
  }
  for (auto& m : macs_) {
    const auto rest = in.bytes(5);
    std::copy(rest.begin(), rest.end(), m.octets.begin() + 1);
  }
  if (auto bad = count(n, 8)) return bad;
  fps_.resize(n);
  for (auto& fp : fps_) fp = in.le64();
  if (auto bad = count(n, 2)) return bad;
  freqs_.resize(n);
  for (auto& f : freqs_) f = in.le16();

  if (auto bad = count(n, v1 ? kMinEventBytesV1 : linked ? kMinEventBytes : kMinEventBytesV2)) return bad;
  out.events.resize(n);
  const std::uint8_t known_flags = v1 ? kEventKindMask | kEventRandomized
                                      : kEventKindMask | kEventRandomized | kEventCauseMask | kEventBle;
  for (PresenceEvent& e : out.events) {
    const std::uint8_t flags = in.u8();
    std::uint64_t mac = 0, ts = 0, fp = 0, first = 0, last = 0, frames = 0, interval_frames = 0, freq = 0, dwell = 0;
    if (!in.ok()) return BadReason::truncated_body;
    if (!varint(mac) || !varint(ts) || !varint(fp) || !varint(first) || !varint(last) || !varint(frames) ||
        (!v1 && !varint(interval_frames)))
      return short_or_overlong();
    const auto rssi = in.bytes(v1 ? 3 : 4);
    if (!in.ok()) return BadReason::truncated_body;
    if (!varint(freq) || !varint(dwell)) return short_or_overlong();
    std::uint64_t device = 0, previous = 0, addresses = 0;
    if (linked && (!varint(device) || !varint(previous) || !varint(addresses))) return short_or_overlong();
    if ((flags & ~known_flags) != 0 || (flags & kEventKindMask) > static_cast<std::uint8_t>(PresenceKind::departure))
      return BadReason::bad_value;
    if (frames > std::numeric_limits<std::uint32_t>::max() ||
        interval_frames > std::numeric_limits<std::uint32_t>::max() ||
        freq > std::numeric_limits<std::uint16_t>::max() || dwell > std::numeric_limits<std::uint32_t>::max() ||
        addresses > std::numeric_limits<std::uint16_t>::max())
      return BadReason::bad_value;
    if (mac >= macs_.size() || fp > fps_.size() || previous > macs_.size()) return BadReason::index_out_of_range;
    e.kind = static_cast<PresenceKind>(flags & kEventKindMask);
    e.cause = static_cast<DepartureCause>((flags & kEventCauseMask) >> kEventCauseShift);  // every value is named
    e.randomized = (flags & kEventRandomized) != 0;
    e.ble = (flags & kEventBle) != 0;
    e.mac = macs_[mac];
    e.ts_ns = wrapping_add(base_ns, static_cast<std::uint64_t>(unzigzag(ts)));
    e.fingerprint = fp == 0 ? 0 : fps_[fp - 1];
    e.first_seen_ns = wrapping_diff(e.ts_ns, unzigzag(first));
    e.last_seen_ns = wrapping_diff(e.ts_ns, unzigzag(last));
    e.frames = static_cast<std::uint32_t>(frames);
    e.interval_frames = static_cast<std::uint32_t>(interval_frames);
    e.rssi_min = static_cast<std::int8_t>(rssi[0]);
    e.rssi_max = static_cast<std::int8_t>(rssi[1]);
    e.rssi_mean = static_cast<std::int8_t>(rssi[2]);
    if (!v1) e.interval_rssi_mean = static_cast<std::int8_t>(rssi[3]);
    e.strongest_freq_mhz = static_cast<std::uint16_t>(freq);
    e.dwell_s = static_cast<std::uint32_t>(dwell);
    e.device = device;
    e.previous_mac = previous == 0 ? MacAddress{} : macs_[previous - 1];
    e.addresses = static_cast<std::uint16_t>(addresses);
  }

  if (auto bad = count(n, kMinSightingBytes)) return bad;
  auto& sightings = out.sightings;
  const std::uint8_t layout_byte = in.u8();
  std::uint64_t unit = 0;
  if (!in.ok()) return BadReason::truncated_body;
  if (!varint(unit)) return short_or_overlong();
  if (unit == 0 || layout_byte > static_cast<std::uint8_t>(SightingLayout::by_device)) return BadReason::bad_value;
  const auto layout = static_cast<SightingLayout>(layout_byte);
  sightings.resize(n);

  sighting_mac_.resize(n);
  if (layout == SightingLayout::in_order) {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t slot = 0;
      if (!varint(slot)) return short_or_overlong();
      if (slot >= macs_.size()) return BadReason::index_out_of_range;
      sighting_mac_[i] = static_cast<std::uint32_t>(slot);
    }
  } else {
    std::uint64_t total = 0;
    for (std::size_t m = 0; m < macs_.size(); ++m) {
      std::uint64_t c = 0;
      if (!varint(c)) return short_or_overlong();
      if (c > n - total) return BadReason::count_too_large;
      for (std::uint64_t k = 0; k < c; ++k) sighting_mac_[total + k] = static_cast<std::uint32_t>(m);
      total += c;
    }
    if (total != n) return BadReason::bad_value;
  }
  first_.resize(n);
  seen_.assign(macs_.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    sightings[i].mac = macs_[sighting_mac_[i]];
    first_[i] = seen_[sighting_mac_[i]] == 0;
    seen_[sighting_mac_[i]] = 1;
  }
  for (Sighting& s : sightings) {
    const std::uint8_t flags = in.u8();
    if (!in.ok()) return BadReason::truncated_body;
    if ((flags & ~(kSightingKindMask | kSightingHasRssi)) != 0) return BadReason::bad_value;
    s.kind = static_cast<SightingKind>(flags & kSightingKindMask);
    s.has_rssi = (flags & kSightingHasRssi) != 0;
  }

  codes_.resize(n);
  ColumnTables tables{layout, unit, kBeaconIntervalNs / unit, base_ns};
  tables.freqs = &freqs_;
  tables.fps = &fps_;
  if (auto bad = take_column<TimeColumn>(in, sightings, tables)) return bad;
  if (auto bad = take_column<FreqColumn>(in, sightings, tables)) return bad;
  if (auto bad = take_column<RssiColumn>(in, sightings, tables)) return bad;
  if (auto bad = take_column<SeqColumn>(in, sightings, tables)) return bad;
  if (auto bad = take_column<FingerprintColumn>(in, sightings, tables)) return bad;
  if (in.remaining() != 0) return BadReason::trailing_bytes;
  // Grouped by device on the wire; back to (ts, mac) order, each device's own order kept by the stable sort.
  if (layout == SightingLayout::by_device) sort_for_wire(sightings);
  return std::nullopt;
}

}  // namespace footfall::wire
