#include "fuzz/capture_inputs.h"

#include <algorithm>
#include <system_error>

#include "probe/capture/pcap_source.h"
#include "probe/parse/radio_header.h"
#include "fuzz/fuzz_input.h"

namespace footfall::fuzz {

namespace capture = footfall::probe::capture;
namespace parse = footfall::probe::parse;
namespace {

std::vector<std::uint8_t> with_prefix(std::uint8_t first, std::span<const std::uint8_t> bytes) {
  std::vector<std::uint8_t> out;
  out.reserve(bytes.size() + 1);
  out.push_back(first);
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

// The 802.11 frame behind whatever radio header the link type has, and whether it carries its FCS.
std::optional<parse::RadioHeaderResult> radio_header_of(const CapturedPacket& p) {
  switch (static_cast<parse::LinkType>(p.link_type)) {
    case parse::LinkType::radiotap: return parse::parse_radiotap(p.bytes);
    case parse::LinkType::ppi: return parse::parse_ppi(p.bytes);
    case parse::LinkType::prism: return parse::parse_prism(p.bytes);
    case parse::LinkType::avs: return parse::parse_avs(p.bytes);
    default: return std::nullopt;
  }
}

}  // namespace

bool is_capture_file(const std::filesystem::path& path) {
  const auto ext = path.extension().string();
  return ext == ".pcap" || ext == ".pcapng" || ext == ".cap";
}

std::optional<std::string> for_each_captured_packet(const std::filesystem::path& path,
                                                    const std::function<void(const CapturedPacket&)>& each) {
  try {
    auto source = capture::PcapSource::open_file(path.string());
    CapturedPacket packet;
    packet.link_type = source.link_type();
    capture::PacketView view;
    while (source.next(view) == capture::ReadStatus::packet) {
      ++packet.frame;
      packet.bytes = view.bytes;
      packet.wire_length = view.wire_length;
      each(packet);
    }
  } catch (const capture::CaptureError& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

std::optional<Target> target_from_name(const std::string& name) {
  if (name == "packet") return Target::packet;
  if (name == "radiotap") return Target::radiotap;
  if (name == "dot11") return Target::dot11;
  if (name == "ble") return Target::ble;
  return std::nullopt;
}

std::vector<std::uint8_t> input_for(Target target, const CapturedPacket& p) {
  const auto link = static_cast<parse::LinkType>(p.link_type);
  switch (target) {
    case Target::packet: {
      const auto selector = packet_selector(p.link_type, p.wire_length > p.bytes.size());
      if (!selector) return {};
      return with_prefix(*selector, p.bytes);
    }
    case Target::radiotap:
      if (link != parse::LinkType::radiotap) return {};
      return {p.bytes.begin(), p.bytes.end()};
    case Target::dot11: {
      if (link == parse::LinkType::ieee802_11) return with_prefix(0, p.bytes);
      const auto header = radio_header_of(p);
      if (!header || !header->ok || header->inner_link_type != static_cast<int>(parse::LinkType::ieee802_11)) {
        return {};
      }
      return with_prefix(header->radio.fcs_at_end ? kDot11FcsAtEnd : 0, header->payload);
    }
    case Target::ble: {
      if (link == parse::LinkType::ble_ll_phdr) return with_prefix(kBleWithPhdr, p.bytes);
      if (link == parse::LinkType::ble_ll) return with_prefix(0, p.bytes);
      const auto header = radio_header_of(p);
      if (!header || !header->ok || header->inner_link_type != static_cast<int>(parse::LinkType::user0_ble)) {
        return {};
      }
      return with_prefix(0, header->payload);
    }
  }
  return {};
}

std::vector<std::filesystem::path> files_under(const std::filesystem::path& path) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return {path};
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace footfall::fuzz
