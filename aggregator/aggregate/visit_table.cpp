#include "aggregator/aggregate/visit_table.h"

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <cmath>
#include <functional>

#include "aggregator/aggregate/residents.h"

namespace footfall::aggregator {
namespace {

std::uint64_t identity_hash(std::int64_t key_epoch, std::string_view device) {
  const std::uint64_t h = std::hash<std::string_view>{}(device);
  return h ^ (static_cast<std::uint64_t>(key_epoch) * 0x9E3779B97F4A7C15ULL);
}

TimeMs seconds_ms(double s) { return static_cast<TimeMs>(std::llround(s * 1000.0)); }

// Zone names interned by linear search: a site has a handful of zones, fewer than a hash map needs to pay off.
std::int32_t zone_id(std::vector<std::string>& names, const std::string& zone) {
  for (std::size_t i = names.size(); i-- > 0;) {
    if (names[i] == zone) return static_cast<std::int32_t>(i);
  }
  names.push_back(zone);
  return static_cast<std::int32_t>(names.size() - 1);
}

}  // namespace

DeviceIndex::DeviceIndex(std::size_t expected) {
  std::size_t cap = 16;
  while (cap * 7 < expected * 10) cap *= 2;
  slots_.assign(cap, Slot{});
  arena_.reserve(expected * 48);
}

std::size_t DeviceIndex::slot_of(const Slot& slot, std::size_t mask) const {
  std::int64_t epoch = 0;
  std::uint32_t len = 0;
  std::memcpy(&epoch, arena_.data() + slot.key, sizeof epoch);
  std::memcpy(&len, arena_.data() + slot.key + sizeof epoch, sizeof len);
  const std::string_view device(arena_.data() + slot.key + sizeof epoch + sizeof len, len);
  return static_cast<std::size_t>(identity_hash(epoch, device)) & mask;
}

void DeviceIndex::grow() {
  std::vector<Slot> bigger(slots_.size() * 2, Slot{});
  const std::size_t mask = bigger.size() - 1;
  for (const Slot& old : slots_) {
    if (old.id < 0) continue;
    std::size_t s = slot_of(old, mask);
    while (bigger[s].id >= 0) s = (s + 1) & mask;
    bigger[s] = old;
  }
  slots_ = std::move(bigger);
}

bool DeviceIndex::same_key(std::uint32_t offset, std::int64_t key_epoch, std::string_view device) const {
  std::int64_t epoch = 0;
  std::uint32_t len = 0;
  std::memcpy(&epoch, arena_.data() + offset, sizeof epoch);
  std::memcpy(&len, arena_.data() + offset + sizeof epoch, sizeof len);
  return epoch == key_epoch && len == device.size() &&
         std::memcmp(arena_.data() + offset + sizeof epoch + sizeof len, device.data(), len) == 0;
}

std::int32_t DeviceIndex::intern(std::int64_t key_epoch, std::string_view device) {
  const std::uint64_t h = identity_hash(key_epoch, device);
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  const std::size_t mask = slots_.size() - 1;
  std::size_t s = static_cast<std::size_t>(h) & mask;
  while (slots_[s].id >= 0) {
    if (slots_[s].tag == tag && same_key(slots_[s].key, key_epoch, device)) return slots_[s].id;
    s = (s + 1) & mask;
  }
  if (arena_.size() + 12 + device.size() > UINT32_MAX) throw std::length_error("DeviceIndex: more than 4 GiB of keys");
  const auto offset = static_cast<std::uint32_t>(arena_.size());
  const auto len = static_cast<std::uint32_t>(device.size());
  const char* epoch_bytes = reinterpret_cast<const char*>(&key_epoch);
  const char* len_bytes = reinterpret_cast<const char*>(&len);
  arena_.insert(arena_.end(), epoch_bytes, epoch_bytes + sizeof key_epoch);
  arena_.insert(arena_.end(), len_bytes, len_bytes + sizeof len);
  arena_.insert(arena_.end(), device.begin(), device.end());
  const std::int32_t id = next_id_++;
  slots_[s] = Slot{tag, id, offset};
  if (static_cast<std::size_t>(next_id_) * 10 > slots_.size() * 7) grow();
  return id;
}

std::size_t VisitTable::lower(TimeMs t) const {
  return static_cast<std::size_t>(
      std::partition_point(rows.begin(), rows.end(), [t](const VisitRow& r) { return r.arrival < t; }) - rows.begin());
}

std::pair<std::size_t, std::size_t> VisitTable::resident_slice(TimeMs from, TimeMs to) const {
  const auto at = [&](TimeMs t) {
    const auto before = [t](const VisitRow& r) { return r.arrival < t; };
    return static_cast<std::size_t>(std::partition_point(resident_rows.begin(), resident_rows.end(), before) -
                                    resident_rows.begin());
  };
  return {at(from), at(to)};
}

TimeMs qualifying_ms(const Visit& v, const SiteThresholds& thr) {
  const bool use_max = thr.visitor_rssi_stat == "max";
  std::pair<TimeMs, TimeMs> spans[16];
  std::vector<std::pair<TimeMs, TimeMs>> many;  // only for visits heard by more than 16 probes
  std::size_t n = 0;
  for (const auto& p : v.probes) {
    const double level = use_max ? static_cast<double>(p.rssi_max) : p.rssi_mean;
    if (level < static_cast<double>(thr.visitor_rssi_dbm)) continue;
    const std::pair<TimeMs, TimeMs> span{p.first_seen, std::max(p.first_seen, p.last_seen)};
    if (n < 16) {
      spans[n++] = span;
    } else {
      if (many.empty()) many.assign(spans, spans + n);
      many.push_back(span);
    }
  }
  std::pair<TimeMs, TimeMs>* b = many.empty() ? spans : many.data();
  std::pair<TimeMs, TimeMs>* e = many.empty() ? spans + n : many.data() + many.size();
  if (b == e) return -1;
  std::sort(b, e);
  TimeMs total = 0;
  TimeMs cur_from = b->first;
  TimeMs cur_to = b->second;
  for (auto* s = b + 1; s != e; ++s) {
    if (s->first > cur_to) {
      total += cur_to - cur_from;
      cur_from = s->first;
      cur_to = s->second;
    } else {
      cur_to = std::max(cur_to, s->second);
    }
  }
  return total + (cur_to - cur_from);
}

namespace {

// The path walked: the strongest-zone segments, repeats collapsed; the first-entered order without them.
void walked_path(const Visit& v, std::vector<std::string>& zone_names, std::vector<std::int32_t>& path) {
  path.clear();
  const auto walk = [&](const std::string& zone) {
    const auto z = zone_id(zone_names, zone);
    if (path.empty() || path.back() != z) path.push_back(z);
  };
  if (!v.strongest_zone.empty()) {
    for (const auto& seg : v.strongest_zone) walk(seg.zone);
  } else {
    for (const auto& zone : v.zones) walk(zone);
  }
}

// One row per visit, in the order given: device interned, the visit's own verdicts and its zones.
void reduce_visits(VisitTable& t, const std::vector<Visit>& visits, const SiteThresholds& thr) {
  const TimeMs min_dwell = seconds_ms(thr.visitor_min_dwell_s);
  const TimeMs engaged_dwell = seconds_ms(thr.engaged_dwell_s);
  DeviceIndex index(visits.size() / 3 + 16);
  t.rows.resize(visits.size());
  std::vector<std::int32_t> path;
  for (std::size_t i = 0; i < visits.size(); ++i) {
    const Visit& v = visits[i];
    VisitRow& r = t.rows[i];
    r.arrival = v.arrival;
    r.departure = std::max(v.arrival, v.departure);
    r.device = index.intern(v.key_epoch, v.device);
    r.day = t.clock.day_of(v.arrival);
    const TimeMs qual = qualifying_ms(v, thr);
    if (qual < 0) continue;  // never heard at the visitor level: a passer-by
    r.flags |= entered;
    if (qual < min_dwell) {
      r.flags |= bounce;
      continue;
    }
    r.flags |= visitor;
    if (r.dwell_ms() >= engaged_dwell || v.zones.size() >= static_cast<std::size_t>(thr.engaged_min_zones)) {
      r.flags |= engaged;
    }
    if (!v.entry_zone.empty()) r.entry_zone = zone_id(t.zone_names, v.entry_zone);
    if (!v.exit_zone.empty()) r.exit_zone = zone_id(t.zone_names, v.exit_zone);
    walked_path(v, t.zone_names, path);
    r.path_begin = static_cast<std::uint32_t>(t.paths.size());
    if (path.size() > UINT16_MAX) path.resize(UINT16_MAX);  // a path of more than 65535 zones: beyond any real visit
    r.path_len = static_cast<std::uint16_t>(path.size());
    t.paths.insert(t.paths.end(), path.begin(), path.end());
  }
  t.devices = index.size();
}

// Rows by arrival (the contract says sorted: checked on the compact rows, sorted only when not).
void sort_rows(VisitTable& t) {
  const auto by_arrival = [](const VisitRow& a, const VisitRow& b) { return a.arrival < b.arrival; };
  if (!std::is_sorted(t.rows.begin(), t.rows.end(), by_arrival)) {
    std::stable_sort(t.rows.begin(), t.rows.end(), by_arrival);
  }
}

// Resident visits moved out of rows (both keep arrival order), so no visitor figure and no occupancy sees them.
void set_residents_apart(VisitTable& t, const SiteThresholds& thr) {
  const std::vector<std::uint8_t> resident = resident_visits(t.rows, t.devices, t.clock, resident_min_ms(thr));
  std::size_t kept = 0;
  for (std::size_t i = 0; i < t.rows.size(); ++i) {
    if (resident[i] != 0) {
      t.longest_resident_ms = std::max(t.longest_resident_ms, t.rows[i].dwell_ms());
      t.resident_rows.push_back(t.rows[i]);
    } else {
      t.rows[kept++] = t.rows[i];
    }
  }
  t.rows.resize(kept);
}

// The departures of the rows sorted on their own for occupancy.
void sort_departures(VisitTable& t) {
  t.departures.resize(t.rows.size());
  for (std::size_t i = 0; i < t.rows.size(); ++i) t.departures[i] = t.rows[i].departure;
  std::sort(t.departures.begin(), t.departures.end());
}

// Returning: a visitor visit on an earlier local day within the window; decided at the first visit of a day.
void mark_returning(VisitTable& t, const SiteThresholds& thr) {
  const auto devices = static_cast<std::size_t>(t.devices);
  std::vector<std::int32_t> last_day(devices, INT_MIN);
  std::vector<std::uint8_t> returning_today(devices, 0);
  for (auto& r : t.rows) {
    if (!r.is(visitor)) continue;
    const auto d = static_cast<std::size_t>(r.device);
    if (last_day[d] != r.day) {
      returning_today[d] = last_day[d] != INT_MIN && r.day - last_day[d] <= thr.returning_window_days;
      last_day[d] = r.day;
    }
    if (returning_today[d] != 0) r.flags |= returning;
  }
}

// Refer estimate: per day, a new visitor's visit close in arrival and departure to a returning visitor's.
void mark_referred(VisitTable& t, const SiteThresholds& thr) {
  const TimeMs refer_arrival = seconds_ms(thr.refer_arrival_s);
  const TimeMs refer_departure = seconds_ms(thr.refer_departure_s);
  std::vector<std::size_t> returning_rows;
  for (std::size_t b = 0; b < t.rows.size();) {
    std::size_t e = b;
    returning_rows.clear();
    while (e < t.rows.size() && t.rows[e].day == t.rows[b].day) {
      if (t.rows[e].is(returning)) returning_rows.push_back(e);
      ++e;
    }
    if (!returning_rows.empty()) {
      for (std::size_t i = b; i < e; ++i) {
        VisitRow& r = t.rows[i];
        if (!r.is(visitor) || r.is(returning)) continue;
        auto it = std::partition_point(returning_rows.begin(), returning_rows.end(),
                                       [&](std::size_t k) { return t.rows[k].arrival < r.arrival - refer_arrival; });
        for (; it != returning_rows.end() && t.rows[*it].arrival <= r.arrival + refer_arrival; ++it) {
          if (std::llabs(t.rows[*it].departure - r.departure) <= refer_departure) {
            r.flags |= referred;
            break;
          }
        }
      }
    }
    b = e;
  }
}

}  // namespace

VisitTable build_visit_table(const std::vector<Visit>& visits, const SiteThresholds& thr) {
  VisitTable t;
  t.clock = thr.clock();
  reduce_visits(t, visits, thr);
  sort_rows(t);
  set_residents_apart(t, thr);
  sort_departures(t);
  mark_returning(t, thr);
  mark_referred(t, thr);
  return t;
}

}  // namespace footfall::aggregator
