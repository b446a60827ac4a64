#pragma once
// The visits of one site reduced once to compact rows: devices interned to integers, every per-visit verdict
// (visitor, bounce, engaged, returning, referred) decided up front, rows sorted by arrival. The figures of
// any window are then a pass over a slice of rows with no per-visit lookup.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/aggregate/local_time.h"
#include "aggregator/aggregate/thresholds.h"
#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

// Interns device identities (key_epoch, device) to 0, 1, 2, ...; keys are copied into one arena so that a
// lookup touches one slot and, on a hash match, one key.
class DeviceIndex {
 public:
  explicit DeviceIndex(std::size_t expected);
  std::int32_t intern(std::int64_t key_epoch, std::string_view device);
  std::int32_t size() const { return next_id_; }

 private:
  void grow();
  struct Slot {
    std::uint32_t tag = 0;   // high half of the hash (the low half picks the slot)
    std::int32_t id = -1;    // -1: empty
    std::uint32_t key = 0;   // offset of the key in arena_: epoch (8 bytes), length (4), characters
  };
  std::size_t slot_of(const Slot& slot, std::size_t mask) const;
  bool same_key(std::uint32_t offset, std::int64_t key_epoch, std::string_view device) const;
  std::vector<Slot> slots_;  // open addressing, at most 70 % full; the tag spares most key compares
  std::vector<char> arena_;
  std::int32_t next_id_ = 0;
};

enum VisitFlag : std::uint8_t {
  entered = 1,     // some probe heard it at the visitor signal level
  visitor = 2,     // loud long enough: a visitor visit
  bounce = 4,      // entered, not long enough
  engaged = 8,     // visitor visit long enough or through enough zones
  returning = 16,  // visitor visit of a device returning on this local day
  referred = 32,   // visitor visit of a new device paired with a returning visitor's visit (refer estimate)
};

struct VisitRow {
  TimeMs arrival = 0;
  TimeMs departure = 0;
  std::int32_t device = 0;
  std::int32_t day = 0;          // local day of the arrival
  std::int32_t entry_zone = -1;  // interned zone, -1 when none
  std::int32_t exit_zone = -1;
  std::uint32_t path_begin = 0;  // zone path of a visitor visit in VisitTable::paths
  std::uint16_t path_len = 0;
  std::uint8_t flags = 0;

  bool is(VisitFlag f) const { return (flags & f) != 0; }
  TimeMs dwell_ms() const { return departure - arrival; }
};

struct VisitTable {
  LocalClock clock{0};
  std::vector<VisitRow> rows;                // sorted by arrival; resident visits are not among them
  std::vector<TimeMs> departures;            // of the rows, sorted (occupancy)
  std::vector<VisitRow> resident_rows;       // the resident visits (residents.h), sorted by arrival
  TimeMs longest_resident_ms = 0;            // the longest of them: how far back one present at t can arrive
  std::vector<std::int32_t> paths;           // zone ids
  std::vector<std::string> zone_names;
  std::int32_t devices = 0;

  // Rows with arrival in [from, to).
  std::size_t lower(TimeMs t) const;
  std::pair<std::size_t, std::size_t> slice(TimeMs from, TimeMs to) const { return {lower(from), lower(to)}; }
  // Resident rows with arrival in [from, to).
  std::pair<std::size_t, std::size_t> resident_slice(TimeMs from, TimeMs to) const;
};

// The qualifying time of a visit: the union of the spans of the probes that heard it at the visitor level
// (rssi_mean, or rssi_max with visitor_rssi_stat = "max"); -1 when no probe did.
TimeMs qualifying_ms(const Visit& v, const SiteThresholds& thr);

// Every visit becomes a row; the visits of residents (resident_min_hours) go to resident_rows instead of rows.
VisitTable build_visit_table(const std::vector<Visit>& visits, const SiteThresholds& thr);

}  // namespace footfall::aggregator
