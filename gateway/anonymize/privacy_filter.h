#pragma once
// The last step before anything leaves the site: site arrivals and visits with the MAC address replaced
// by the tenant's keyed pseudonym of the epoch, the fingerprint likewise, and the key epoch named in
// each record, made into the items the publisher sends (gateway/publish/payloads.h). Nothing else is carried over that the merge did not already reduce to statistics: no
// address, no SSID, no information element (the records never hold them; see docs/privacy.md).
// A record whose epoch key is absent is dropped and counted, never published with a raw address.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/anonymize/keyring.h"
#include "gateway/merge/visit.h"
#include "gateway/publish/payloads.h"

namespace footfall::gateway {

struct PrivacyCounters {
  std::uint64_t arrivals_in = 0;
  std::uint64_t arrivals_out = 0;
  std::uint64_t visits_in = 0;
  std::uint64_t visits_out = 0;
  std::uint64_t merged_in = 0;
  std::uint64_t merged_out = 0;
  std::uint64_t no_key = 0;         // dropped: the epoch's key is not in the key store
  std::uint64_t crypto_failed = 0;  // dropped: OpenSSL failed while computing the pseudonym
};

class PrivacyFilter {
 public:
  // site: mixed into visit ids, so two sites of a tenant never share one.
  explicit PrivacyFilter(Keyring& keyring, std::string site = {}) : keyring_(keyring), site_(std::move(site)) {}

  // The arrival as the presence topic publishes it: device = HMAC-SHA-256(epoch key, "mac:" || address)[0..16)
  // in hex, under the epoch of its time.
  std::optional<publish::PresenceChange> arrival(const SiteArrival& arrival);
  // The visit as the visits topic publishes it: device as above under the epoch of its arrival, visit_id the
  // keyed hash of (site, address, arrival) (see pseudonymizer.h), fingerprint HMAC-SHA-256(epoch key, "fp:" ||
  // 8 bytes)[0..8) in hex (empty: none); times in ms.
  std::optional<publish::SiteVisit> visit(const Visit& visit);
  // The absorbed device of a merge leaves the presence feed: a departure under the pseudonym its arrival had
  // (the epoch of arrival_ns, that arrival's time), at the merge's time and zone.
  std::optional<publish::PresenceChange> merged(const DeviceMerge& merge, std::int64_t arrival_ns);

  [[nodiscard]] const PrivacyCounters& counters() const { return counters_; }

 private:
  // The device's pseudonym under the epoch of epoch_ns, in a presence change at at_ns; counted when no key.
  std::optional<publish::PresenceChange> presence_change(publish::PresenceKind kind, const MacAddress& device,
                                                         std::int64_t epoch_ns, std::int64_t at_ns,
                                                         const std::string& zone, bool randomized);

  Keyring& keyring_;
  std::string site_;
  PrivacyCounters counters_;
};

}  // namespace footfall::gateway
