#pragma once
// What the site merge produces: site-level arrivals, one Visit per completed presence at the site, and
// the occupancy now. Devices are still keyed by MAC here; gateway/anonymize/ replaces the key before
// anything leaves the site.
#include <cstdint>
#include <string>
#include <vector>

#include "common/mac_address.h"

namespace footfall::gateway {

// A device became present at the site (first probe arrival received for it).
struct SiteArrival {
  std::uint64_t id = 0;    // the site device: unique within the merge's run (see site_merger.h)
  MacAddress device;       // the first address it was heard with
  std::int64_t ts_ns = 0;  // first_seen at the probe that reported it first (the visit may end up earlier)
  std::string zone;        // that probe's zone
  bool randomized = false;
  bool ble = false;        // a Bluetooth LE address (its own address space; see site_merger.h)
};

// One probe's share of a visit, over all of that probe's presences within the visit.
struct ProbeVisit {
  std::string probe;
  std::string zone;
  std::int64_t first_seen_ns = 0;
  std::int64_t last_seen_ns = 0;
  std::uint32_t frames = 0;
  std::int8_t rssi_min = 0;
  std::int8_t rssi_max = 0;
  std::int8_t rssi_mean = 0;  // frame-weighted over the probe's presences, half away from zero
  std::uint16_t strongest_freq_mhz = 0;
  std::uint32_t presences = 0;  // > 1 when the probe lost the device and heard it again within the visit

  bool operator==(const ProbeVisit&) const = default;
};

// From from_ns on (until the next segment or the departure) this zone heard the device loudest.
struct ZoneSegment {
  std::int64_t from_ns = 0;
  std::string zone;

  bool operator==(const ZoneSegment&) const = default;
};

enum class VisitEnd : std::uint8_t {
  departed = 0,  // every probe reported a departure (and the grace, if any, ran out)
  evicted = 1,   // the merge table was full; the visit is cut at what was known
  flushed = 2,   // shutdown; dwell is a lower bound
};

constexpr const char* to_string(VisitEnd e) {
  switch (e) {
    case VisitEnd::departed: return "departed";
    case VisitEnd::evicted: return "evicted";
    case VisitEnd::flushed: return "flushed";
  }
  return "?";
}

struct Visit {
  std::uint64_t id = 0;           // the site device (SiteArrival::id)
  MacAddress device;              // the first address it was heard with: what its pseudonym is made from
  bool ble = false;               // device is a Bluetooth LE address, not a WiFi one
  std::int64_t arrival_ns = 0;    // earliest first_seen over its probes
  std::int64_t departure_ns = 0;  // latest last_seen over its probes
  std::uint32_t dwell_s = 0;      // (departure - arrival) in whole seconds
  std::vector<ProbeVisit> probes;           // in order of first hearing
  std::vector<std::string> zones;           // order of first hearing of each probe presence, repeats collapsed
  std::vector<ZoneSegment> strongest_zone;  // at least one segment; the first starts at arrival_ns
  std::string entry_zone;                   // zone of the first hearing
  std::string exit_zone;                    // zone of the last hearing
  bool randomized = false;
  std::uint64_t fingerprint = 0;            // latest non-zero one reported by any probe
  std::uint64_t frames_heard = 0;           // sum over probes: a frame heard by two probes counts twice
  std::uint64_t duplicate_frames = 0;       // of those, found twice in raw sightings (same sa, seq)
  std::uint64_t frames = 0;                 // site total: frames_heard - duplicate_frames (see site_merger.h)
  std::uint32_t addresses = 1;              // distinct addresses the device used during the visit
  VisitEnd end = VisitEnd::departed;

  bool operator==(const Visit&) const = default;
};

// Two site devices turned out to be one phone: a probe linked, within one of its devices, an address that
// another probe had already announced as a device of its own. `absorbed` continues as `into` and gets no
// visit of its own; its arrival was announced, so whoever counts arrivals counts it out now.
struct DeviceMerge {
  std::uint64_t absorbed = 0;     // SiteArrival::id of the device that ends here
  MacAddress absorbed_device;     // its first address
  std::uint64_t into = 0;         // the device that continues (the one heard first)
  MacAddress into_device;
  bool ble = false;
  bool randomized = false;
  std::int64_t ts_ns = 0;         // the event that showed it
  std::string zone;               // where that event was heard

  bool operator==(const DeviceMerge&) const = default;
};

struct ZoneOccupancy {
  std::string zone;
  std::uint32_t devices = 0;  // present at one or more probes of the zone

  bool operator==(const ZoneOccupancy&) const = default;
};

struct SiteOccupancy {
  std::uint32_t present = 0;  // present at one or more probes of the site
  std::uint32_t leaving = 0;  // departed from every probe, visit held open for the grace
  std::vector<ZoneOccupancy> zones;  // config order; a device in reach of two zones counts in both
};

}  // namespace footfall::gateway
