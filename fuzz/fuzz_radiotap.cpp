// libFuzzer target for the radiotap header alone (the most common and most intricate radio header).
#include <cstddef>
#include <cstdint>

#include "probe/parse/radio_header.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input{data, size};
  footfall::fuzz::check_radio_header(footfall::probe::parse::parse_radiotap(input), input);
  return 0;
}
