// libFuzzer target for the probe's single parsing entry point: any link type, any bytes.
// Input: selector byte (link type, snaplen cut) then the packet; see fuzz_input.h.
#include <cstddef>
#include <cstdint>

#include "probe/parse/packet.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace footfall;
  using namespace footfall::probe;
  const auto input = fuzz::decode_packet_input({data, size});
  if (!input) return 0;
  fuzz::require(parse::supported_link_type(input->link_type), "selector picked an unsupported link type");
  const parse::ParsedPacket p = parse::parse_packet(input->link_type, input->bytes, input->wire_length, true);
  switch (p.what) {
    case parse::ParsedPacket::What::dot11: fuzz::check_mgmt(p.dot11, input->bytes); break;
    case parse::ParsedPacket::What::ble: fuzz::check_advert(p.ble); break;
    case parse::ParsedPacket::What::dropped: fuzz::check_reason(p.reason); break;
  }
  // Without --ble no BLE advert may come out.
  const parse::ParsedPacket no_ble = parse::parse_packet(input->link_type, input->bytes, input->wire_length, false);
  fuzz::require(no_ble.what != parse::ParsedPacket::What::ble, "BLE advert while BLE is not wanted");
  return 0;
}
