#include "gateway/anonymize/privacy_filter.h"

#include <algorithm>
#include <type_traits>

#include "common/records.h"

namespace footfall::gateway {

// The probe's records are fixed-size values: they cannot carry an SSID or raw information elements.
// If one ever gains a variable-length field, this fails to compile and docs/privacy.md must be revisited.
static_assert(std::is_trivially_copyable_v<Sighting> && sizeof(Sighting) <= 40,
              "Sighting grew: check that nothing identifying rides along (docs/privacy.md)");
// 88: the probe's device linking added `device` (a run-local number), `previous_mac` (an address like `mac`,
// used by the site merge and never published) and `addresses` (docs/privacy.md).
static_assert(std::is_trivially_copyable_v<PresenceEvent> && sizeof(PresenceEvent) <= 88,
              "PresenceEvent grew: check that nothing identifying rides along (docs/privacy.md)");

namespace {

publish::UnixMs to_ms(std::int64_t ns) { return ns / 1'000'000; }

}  // namespace

std::optional<publish::PresenceChange> PrivacyFilter::presence_change(publish::PresenceKind kind,
                                                                       const MacAddress& device,
                                                                       std::int64_t epoch_ns, std::int64_t at_ns,
                                                                       const std::string& zone, bool randomized) {
  Pseudonymizer* p = keyring_.for_time(epoch_ns);
  if (p == nullptr) {
    ++counters_.no_key;
    return std::nullopt;
  }
  const std::uint64_t failures = p->failures();
  publish::PresenceChange out;
  out.kind = kind;
  out.device = p->device(device).hex();
  if (p->failures() != failures) {
    ++counters_.crypto_failed;
    return std::nullopt;
  }
  out.key_epoch = p->epoch();
  out.at = to_ms(at_ns);
  out.zone = zone;
  out.randomized = randomized;
  return out;
}

std::optional<publish::PresenceChange> PrivacyFilter::arrival(const SiteArrival& arrival) {
  ++counters_.arrivals_in;
  auto out = presence_change(publish::PresenceKind::arrival, arrival.device, arrival.ts_ns, arrival.ts_ns, arrival.zone,
                             arrival.randomized);
  if (out) ++counters_.arrivals_out;
  return out;
}

std::optional<publish::SiteVisit> PrivacyFilter::visit(const Visit& visit) {
  ++counters_.visits_in;
  // One epoch per visit, that of its arrival, so a visit across the boundary keeps one pseudonym.
  Pseudonymizer* p = keyring_.for_time(visit.arrival_ns);
  if (p == nullptr) {
    ++counters_.no_key;
    return std::nullopt;
  }
  const std::uint64_t failures = p->failures();
  publish::SiteVisit out;
  out.device = p->device(visit.device).hex();
  out.visit_id = p->visit_id(site_, visit.device, visit.arrival_ns, visit.ble).hex();
  if (visit.fingerprint != 0) out.fingerprint = hex64(p->fingerprint(visit.fingerprint));
  if (p->failures() != failures) {
    ++counters_.crypto_failed;
    return std::nullopt;
  }
  out.key_epoch = p->epoch();
  out.arrival = to_ms(visit.arrival_ns);
  out.departure = to_ms(visit.departure_ns);
  out.zones = visit.zones;
  out.entry_zone = visit.entry_zone;
  out.exit_zone = visit.exit_zone;
  out.strongest_zone.reserve(visit.strongest_zone.size());
  for (const ZoneSegment& z : visit.strongest_zone) out.strongest_zone.push_back({to_ms(z.from_ns), z.zone});
  out.probes.reserve(visit.probes.size());
  for (const ProbeVisit& pv : visit.probes)
    out.probes.push_back({pv.probe, pv.zone, to_ms(pv.first_seen_ns), to_ms(pv.last_seen_ns), pv.frames, pv.rssi_max,
                          static_cast<double>(pv.rssi_mean)});
  out.randomized = visit.randomized;
  out.addresses = std::max<std::uint32_t>(visit.addresses, 1);
  ++counters_.visits_out;
  return out;
}

std::optional<publish::PresenceChange> PrivacyFilter::merged(const DeviceMerge& merge, std::int64_t arrival_ns) {
  ++counters_.merged_in;
  auto out = presence_change(publish::PresenceKind::departure, merge.absorbed_device, arrival_ns, merge.ts_ns,
                             merge.zone, merge.randomized);
  if (out) ++counters_.merged_out;
  return out;
}

}  // namespace footfall::gateway
