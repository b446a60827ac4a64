#pragma once
// The last step before anything leaves the site: site arrivals and visits with the MAC address replaced
// by the tenant's keyed pseudonym of the epoch, the fingerprint likewise, and the key epoch named in
// each record. Nothing else is carried over that the merge did not already reduce to statistics: no
// address, no SSID, no information element (the records never hold them; see docs/privacy.md).
// A record whose epoch key is absent is dropped and counted, never published with a raw address.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/anonymize/keyring.h"
#include "gateway/merge/visit.h"

namespace footfall::gateway {

struct PublishedArrival {
  std::string device;        // 32 hex chars: HMAC-SHA-256(epoch key, "mac:" || address)[0..16)
  std::uint32_t key_epoch = 0;
  std::int64_t ts_ns = 0;
  std::string zone;
  bool randomized = false;

  bool operator==(const PublishedArrival&) const = default;
};

struct PublishedVisit {
  std::string device;        // as above, under the epoch of arrival_ns
  std::string visit_id;      // 32 hex chars: keyed hash of (site, address, arrival_ns); see pseudonymizer.h
  std::uint32_t key_epoch = 0;
  std::int64_t arrival_ns = 0;
  std::int64_t departure_ns = 0;
  std::uint32_t dwell_s = 0;
  std::vector<ProbeVisit> probes;
  std::vector<std::string> zones;
  std::vector<ZoneSegment> strongest_zone;
  std::string entry_zone;
  std::string exit_zone;
  bool randomized = false;
  std::string fingerprint;   // 16 hex chars, HMAC-SHA-256(epoch key, "fp:" || 8 bytes)[0..8); empty: none
  std::uint64_t frames = 0;
  std::uint64_t frames_heard = 0;
  std::uint64_t duplicate_frames = 0;
  VisitEnd end = VisitEnd::departed;

  bool operator==(const PublishedVisit&) const = default;
};

struct PrivacyCounters {
  std::uint64_t arrivals_in = 0;
  std::uint64_t arrivals_out = 0;
  std::uint64_t visits_in = 0;
  std::uint64_t visits_out = 0;
  std::uint64_t no_key = 0;         // dropped: the epoch's key is not in the key store
  std::uint64_t crypto_failed = 0;  // dropped: OpenSSL failed while computing the pseudonym
};

class PrivacyFilter {
 public:
  // site: mixed into visit ids, so two sites of a tenant never share one.
  explicit PrivacyFilter(Keyring& keyring, std::string site = {}) : keyring_(keyring), site_(std::move(site)) {}

  std::optional<PublishedArrival> arrival(const SiteArrival& arrival);
  std::optional<PublishedVisit> visit(const Visit& visit);

  [[nodiscard]] const PrivacyCounters& counters() const { return counters_; }

 private:
  Keyring& keyring_;
  std::string site_;
  PrivacyCounters counters_;
};

}  // namespace footfall::gateway
