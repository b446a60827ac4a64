#include "common/wire/batch_body.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "common/byte_cursor.h"
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
constexpr std::size_t kMinEventBytes = 14;

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
  for (const PresenceEvent& e : events)
    if (mac_index_.try_emplace(e.mac.as_u64(), 0).second) macs_.push_back(e.mac);
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

  put_le(raw, static_cast<std::uint64_t>(base_ns), 8);
  put_varint(raw, macs_.size());
  std::uint8_t prev_first = 0;
  for (const auto& m : macs_) {
    raw.push_back(static_cast<std::uint8_t>(m.octets[0] - prev_first));
    prev_first = m.octets[0];
  }
  for (const auto& m : macs_) raw.insert(raw.end(), m.octets.begin() + 1, m.octets.end());
  put_varint(raw, fps_.size());
  for (auto fp : fps_) put_le(raw, fp, 8);
  put_varint(raw, freqs_.size());
  for (auto f : freqs_) put_le(raw, f, 2);

  put_varint(raw, events.size());
  for (const PresenceEvent& e : events) {
    const auto cause_bits =
        static_cast<std::uint8_t>((static_cast<unsigned>(e.cause) << kEventCauseShift) & kEventCauseMask);
    raw.push_back(static_cast<std::uint8_t>(static_cast<std::uint8_t>(e.kind) | (e.randomized ? kEventRandomized : 0) |
                                            cause_bits | (e.ble ? kEventBle : 0)));
    put_varint(raw, mac_index_.find(e.mac.as_u64())->second);
    put_zigzag(raw, wrapping_diff(e.ts_ns, base_ns));
    put_varint(raw, e.fingerprint == 0 ? 0 : fp_index_.find(e.fingerprint)->second + 1);
    put_zigzag(raw, wrapping_diff(e.ts_ns, e.first_seen_ns));
    put_zigzag(raw, wrapping_diff(e.ts_ns, e.last_seen_ns));
    put_varint(raw, e.frames);
    put_varint(raw, e.interval_frames);
    raw.push_back(static_cast<std::uint8_t>(e.rssi_min));
    raw.push_back(static_cast<std::uint8_t>(e.rssi_max));
    raw.push_back(static_cast<std::uint8_t>(e.rssi_mean));
    raw.push_back(static_cast<std::uint8_t>(e.interval_rssi_mean));
    put_varint(raw, e.strongest_freq_mhz);
    put_varint(raw, e.dwell_s);
  }

  put_varint(raw, n);
  raw.push_back(static_cast<std::uint8_t>(layout_));
  put_varint(raw, unit);
  sections_.push_back(raw.size());
  if (layout_ == SightingLayout::in_order) {
    for (std::uint32_t i : order_) put_varint(raw, sighting_mac_[i]);
  } else {
    for (std::uint32_t c : per_device_) put_varint(raw, c);
  }
  sections_.push_back(raw.size());
  for (std::uint32_t i : order_)
    raw.push_back(static_cast<std::uint8_t>(static_cast<std::uint8_t>(sightings[i].kind) |
                                            (sightings[i].has_rssi ? kSightingHasRssi : 0)));
  sections_.push_back(raw.size());

  // Each per-device column is written in groups: a device's first sighting (an absolute value) apart
  // from its continuations (small deltas), so each group gets an entropy table fitted to it.
  first_.resize(n);
  seen_.assign(macs_.size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    first_[k] = seen_[sighting_mac_[order_[k]]] == 0;
    seen_[sighting_mac_[order_[k]]] = 1;
  }
  codes_.resize(n);
  auto emit = [&](auto group_of, int groups, bool one_byte) {
    for (int g = 0; g < groups; ++g) {
      for (std::size_t k = 0; k < n; ++k) {
        if (group_of(k) != g) continue;
        if (one_byte) raw.push_back(static_cast<std::uint8_t>(codes_[k]));
        else put_varint(raw, codes_[k]);
      }
      sections_.push_back(raw.size());
    }
  };
  auto first_or_rest = [&](std::size_t k) { return first_[k] ? 0 : 1; };

  // Time, as steps of `unit`: from the previous sighting (in order) or from the device's previous one (by device).
  last_ts_.assign(last_ts_.size(), base_ns);
  const std::uint64_t beacon_interval = kBeaconIntervalNs / unit;
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t i = order_[k];
    // unit <= 2^63; at 2^63 the cast gives INT64_MIN and the quotient is still exact.
    const auto step = static_cast<std::uint64_t>(wrapping_diff(sightings[i].ts_ns, clock_of(i)) /
                                                 static_cast<std::int64_t>(unit));
    clock_of(i) = sightings[i].ts_ns;
    codes_[k] = time_code(layout_, sightings[i].kind, first_[k], step, beacon_interval);
  }
  emit([&](std::size_t k) { return first_[k] ? 0 : sightings[order_[k]].kind == SightingKind::beacon ? 1 : 2; }, 3,
       false);

  last_freq_.assign(macs_.size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    const Sighting& s = sightings[order_[k]];
    auto& last = last_freq_[sighting_mac_[order_[k]]];
    codes_[k] = s.freq_mhz == last ? 0 : freq_index_.find(s.freq_mhz)->second + 1;
    last = s.freq_mhz;
  }
  emit(first_or_rest, 2, false);

  last_rssi_.assign(macs_.size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    const Sighting& s = sightings[order_[k]];
    if (!s.has_rssi) continue;
    auto& last = last_rssi_[sighting_mac_[order_[k]]];
    codes_[k] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(s.rssi_dbm) - static_cast<std::uint8_t>(last));
    last = s.rssi_dbm;
  }
  emit([&](std::size_t k) { return !sightings[order_[k]].has_rssi ? -1 : first_[k] ? 0 : 1; }, 2, true);

  last_seq_.assign(macs_.size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    auto& last = last_seq_[sighting_mac_[order_[k]]];
    const std::uint16_t seq = sightings[order_[k]].seq;
    codes_[k] = zigzag(static_cast<std::int16_t>(static_cast<std::uint16_t>(seq - last)));
    last = seq;
  }
  emit(first_or_rest, 2, false);

  last_fp_.assign(macs_.size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    auto& last = last_fp_[sighting_mac_[order_[k]]];
    const std::uint64_t fp = sightings[order_[k]].fingerprint;
    codes_[k] = fp == last ? 0 : fp_index_.find(fp)->second + 1;
    last = fp;
  }
  emit(first_or_rest, 2, false);
}

std::optional<BadReason> BatchBodyReader::read(std::span<const std::uint8_t> raw, BatchBody& out,
                                               std::uint8_t version) {
  out.clear();
  const bool v1 = version < 2;
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

  if (auto bad = count(n, v1 ? kMinEventBytesV1 : kMinEventBytes)) return bad;
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
    if ((flags & ~known_flags) != 0 || (flags & kEventKindMask) > static_cast<std::uint8_t>(PresenceKind::departure))
      return BadReason::bad_value;
    if (frames > std::numeric_limits<std::uint32_t>::max() ||
        interval_frames > std::numeric_limits<std::uint32_t>::max() ||
        freq > std::numeric_limits<std::uint16_t>::max() || dwell > std::numeric_limits<std::uint32_t>::max())
      return BadReason::bad_value;
    if (mac >= macs_.size() || fp > fps_.size()) return BadReason::index_out_of_range;
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
  auto take = [&](auto group_of, int groups, bool one_byte) -> std::optional<BadReason> {
    for (int g = 0; g < groups; ++g) {
      for (std::size_t i = 0; i < n; ++i) {
        if (group_of(i) != g) continue;
        if (one_byte) {
          codes_[i] = in.u8();
          if (!in.ok()) return BadReason::truncated_body;
        } else if (!varint(codes_[i])) {
          return short_or_overlong();
        }
      }
    }
    return std::nullopt;
  };
  auto first_or_rest = [&](std::size_t i) { return first_[i] ? 0 : 1; };

  if (auto bad = take([&](std::size_t i) { return first_[i] ? 0 : sightings[i].kind == SightingKind::beacon ? 1 : 2; },
                      3, false))
    return bad;
  last_ts_.assign(layout == SightingLayout::in_order ? 1 : macs_.size(), base_ns);
  const std::uint64_t beacon_interval = kBeaconIntervalNs / unit;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t step = time_step(layout, sightings[i].kind, first_[i], codes_[i], beacon_interval);
    auto& clock = last_ts_[layout == SightingLayout::in_order ? 0 : sighting_mac_[i]];
    clock = wrapping_add(clock, step * unit);
    sightings[i].ts_ns = clock;
  }

  if (auto bad = take(first_or_rest, 2, false)) return bad;
  last_freq_.assign(macs_.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (codes_[i] > freqs_.size()) return BadReason::index_out_of_range;
    auto& last = last_freq_[sighting_mac_[i]];
    if (codes_[i] != 0) last = freqs_[codes_[i] - 1];
    sightings[i].freq_mhz = last;
  }

  if (auto bad = take([&](std::size_t i) { return !sightings[i].has_rssi ? -1 : first_[i] ? 0 : 1; }, 2, true))
    return bad;
  last_rssi_.assign(macs_.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (!sightings[i].has_rssi) continue;
    auto& last = last_rssi_[sighting_mac_[i]];
    last = static_cast<std::int8_t>(static_cast<std::uint8_t>(static_cast<std::uint8_t>(last) + codes_[i]));
    sightings[i].rssi_dbm = last;
  }

  if (auto bad = take(first_or_rest, 2, false)) return bad;
  last_seq_.assign(macs_.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t delta = unzigzag(codes_[i]);
    if (delta < std::numeric_limits<std::int16_t>::min() || delta > std::numeric_limits<std::int16_t>::max())
      return BadReason::bad_value;
    auto& last = last_seq_[sighting_mac_[i]];
    last = static_cast<std::uint16_t>(last + static_cast<std::uint16_t>(delta));
    sightings[i].seq = last;
  }

  if (auto bad = take(first_or_rest, 2, false)) return bad;
  last_fp_.assign(macs_.size(), 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (codes_[i] > fps_.size()) return BadReason::index_out_of_range;
    auto& last = last_fp_[sighting_mac_[i]];
    if (codes_[i] != 0) last = fps_[codes_[i] - 1];
    sightings[i].fingerprint = last;
  }
  if (in.remaining() != 0) return BadReason::trailing_bytes;
  // Grouped by device on the wire; back to (ts, mac) order, each device's own order kept by the stable sort.
  if (layout == SightingLayout::by_device) sort_for_wire(sightings);
  return std::nullopt;
}

}  // namespace footfall::wire
