// libFuzzer target for the BLE advertising parsers alone (with and without the LINKTYPE 256 pseudo-header).
// Input: flag byte (bit 0: pseudo-header present) then the bytes.
#include <cstddef>
#include <cstdint>

#include "probe/parse/ble.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace footfall;
  using namespace footfall::probe;
  if (size == 0) return 0;
  const std::span<const std::uint8_t> bytes{data + 1, size - 1};
  const parse::BleResult r =
      (data[0] & fuzz::kBleWithPhdr) != 0 ? parse::parse_ble_ll_phdr(bytes) : parse::parse_ble_ll(bytes);
  if (r.verdict == parse::BleResult::Verdict::advert) {
    fuzz::check_advert(r.advert);
  } else {
    fuzz::check_reason(r.reason);
  }
  return 0;
}
