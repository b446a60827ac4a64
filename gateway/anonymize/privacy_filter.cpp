#include "gateway/anonymize/privacy_filter.h"

#include <type_traits>

#include "common/records.h"

namespace footfall::gateway {

// The probe's records are fixed-size values: they cannot carry an SSID or raw information elements.
// If one ever gains a variable-length field, this fails to compile and docs/privacy.md must be revisited.
static_assert(std::is_trivially_copyable_v<Sighting> && sizeof(Sighting) <= 40,
              "Sighting grew: check that nothing identifying rides along (docs/privacy.md)");
// 88: the probe's device linking added `device` (a run-local number), `previous_mac` (an address like `mac`)
// and `addresses`; the wire does not carry them yet (docs/privacy.md).
static_assert(std::is_trivially_copyable_v<PresenceEvent> && sizeof(PresenceEvent) <= 88,
              "PresenceEvent grew: check that nothing identifying rides along (docs/privacy.md)");

std::optional<PublishedArrival> PrivacyFilter::arrival(const SiteArrival& arrival) {
  ++counters_.arrivals_in;
  Pseudonymizer* p = keyring_.for_time(arrival.ts_ns);
  if (p == nullptr) {
    ++counters_.no_key;
    return std::nullopt;
  }
  const std::uint64_t failures = p->failures();
  PublishedArrival out;
  out.device = p->device(arrival.device).hex();
  if (p->failures() != failures) {
    ++counters_.crypto_failed;
    return std::nullopt;
  }
  out.key_epoch = p->epoch();
  out.ts_ns = arrival.ts_ns;
  out.zone = arrival.zone;
  out.randomized = arrival.randomized;
  ++counters_.arrivals_out;
  return out;
}

std::optional<PublishedVisit> PrivacyFilter::visit(const Visit& visit) {
  ++counters_.visits_in;
  // One epoch per visit, that of its arrival, so a visit across the boundary keeps one pseudonym.
  Pseudonymizer* p = keyring_.for_time(visit.arrival_ns);
  if (p == nullptr) {
    ++counters_.no_key;
    return std::nullopt;
  }
  const std::uint64_t failures = p->failures();
  PublishedVisit out;
  out.device = p->device(visit.device).hex();
  out.visit_id = p->visit_id(site_, visit.device, visit.arrival_ns, visit.ble).hex();
  if (visit.fingerprint != 0) out.fingerprint = hex64(p->fingerprint(visit.fingerprint));
  if (p->failures() != failures) {
    ++counters_.crypto_failed;
    return std::nullopt;
  }
  out.key_epoch = p->epoch();
  out.arrival_ns = visit.arrival_ns;
  out.departure_ns = visit.departure_ns;
  out.dwell_s = visit.dwell_s;
  out.probes = visit.probes;
  out.zones = visit.zones;
  out.strongest_zone = visit.strongest_zone;
  out.entry_zone = visit.entry_zone;
  out.exit_zone = visit.exit_zone;
  out.randomized = visit.randomized;
  out.frames = visit.frames;
  out.frames_heard = visit.frames_heard;
  out.duplicate_frames = visit.duplicate_frames;
  out.end = visit.end;
  ++counters_.visits_out;
  return out;
}

}  // namespace footfall::gateway
