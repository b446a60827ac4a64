#pragma once
// Invariants every parser result must hold whatever the input; a breach aborts, so libFuzzer keeps the input.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "probe/parse/ble.h"
#include "probe/parse/dot11.h"
#include "probe/parse/drop_reason.h"
#include "probe/parse/radio_header.h"
#include "fuzz/fuzz_input.h"

namespace footfall::fuzz {

namespace parse = footfall::probe::parse;

inline void require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

// Reads every byte of a span the parser handed back, so AddressSanitizer sees a span that points outside.
inline void touch(std::span<const std::uint8_t> bytes) {
  volatile std::uint8_t sink = 0;
  for (auto b : bytes) sink = static_cast<std::uint8_t>(sink ^ b);
  (void)sink;
}

inline void check_reason(parse::DropReason r) {
  require(static_cast<std::size_t>(r) < parse::kDropReasonCount, "drop reason out of range");
  (void)parse::to_string(r);
}

inline void check_mgmt(const parse::MgmtFrame& f, std::span<const std::uint8_t> input) {
  require(f.kind == parse::MgmtKind::probe_req || f.kind == parse::MgmtKind::probe_resp ||
              f.kind == parse::MgmtKind::beacon,
          "management kind other than 4, 5, 8");
  require(f.seq <= 4095, "sequence number above 4095");
  require(f.frag <= 15, "fragment number above 15");
  require(f.vendor_oui_count <= f.vendor_ouis.size(), "vendor OUI count above its array");
  require(f.ssid_present || f.ssid.empty(), "SSID bytes without an SSID element");
  require(f.ssid.size() <= 255, "SSID longer than an element can be");
  require(lies_within(f.ssid, input), "SSID span outside the input");
  touch(f.ssid);
  if (f.kind == parse::MgmtKind::probe_req) return;
  require(f.ie_fingerprint == 0, "fingerprint on a beacon or probe response");
}

inline void check_advert(const parse::BleAdvert& a) {
  require(a.pdu_type <= 15, "PDU type above 4 bits");
  require(!a.channel || *a.channel <= 39, "RF channel above 39");
}

inline void check_radio_header(const parse::RadioHeaderResult& r, std::span<const std::uint8_t> input) {
  if (!r.ok) {
    check_reason(r.reason);
    return;
  }
  require(lies_within(r.payload, input), "radio header payload outside the input");
  touch(r.payload);
}

}  // namespace footfall::fuzz
