// libFuzzer target for the 802.11 management frame parser alone.
// Input: flag byte (bit 0: FCS at the end) then the frame from frame control on.
#include <cstddef>
#include <cstdint>

#include "probe/parse/dot11.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace footfall;
  using namespace footfall::probe;
  if (size == 0) return 0;
  const bool fcs_at_end = (data[0] & fuzz::kDot11FcsAtEnd) != 0;
  const std::span<const std::uint8_t> frame{data + 1, size - 1};
  const parse::Dot11Result r = parse::parse_dot11(frame, fcs_at_end);
  if (r.verdict == parse::Dot11Result::Verdict::frame) {
    fuzz::check_mgmt(r.frame, frame);
  } else {
    fuzz::check_reason(r.reason);
  }
  (void)parse::dot11_fcs_valid(frame);
  return 0;
}
