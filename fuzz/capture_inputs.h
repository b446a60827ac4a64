#pragma once
// Packets of real captures turned into fuzz inputs: the seed corpus, and the replay regression test.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace footfall::fuzz {

struct CapturedPacket {
  std::uint64_t frame = 0;  // 1-based, as tshark numbers them
  int link_type = 0;
  std::span<const std::uint8_t> bytes;  // valid during the callback only
  std::uint32_t wire_length = 0;
};

bool is_capture_file(const std::filesystem::path& path);

// Calls `each` for every packet of the capture; on a file that cannot be opened, returns its error message.
std::optional<std::string> for_each_captured_packet(const std::filesystem::path& path,
                                                    const std::function<void(const CapturedPacket&)>& each);

// Fuzz inputs derived from one packet, one layout per fuzz target (see fuzz_input.h); empty when the packet
// has nothing for that target (e.g. a BLE packet for the radiotap target).
enum class Target : std::uint8_t { packet, radiotap, dot11, ble };
std::optional<Target> target_from_name(const std::string& name);
std::vector<std::uint8_t> input_for(Target target, const CapturedPacket& packet);

// Files (not folders) under `path` in name order, `path` itself when it is a file.
std::vector<std::filesystem::path> files_under(const std::filesystem::path& path);

}  // namespace footfall::fuzz
