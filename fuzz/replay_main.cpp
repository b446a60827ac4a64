// Runs inputs through the fuzz_packet harness without libFuzzer, so that every build, and the sanitizer presets
// above all, exercise it as a regression test: built-in edge cases, every packet of each capture named on the
// command line (plus every truncation of a sample of them), and any other file as a raw fuzz input (a saved
// crash, a corpus folder).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/capture_inputs.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;
using footfall::fuzz::CapturedPacket;

// Truncations cost one parse per byte: a sample of packets per capture keeps the run short under sanitizers.
constexpr std::uint64_t kTruncatedPacketsPerCapture = 32;
constexpr std::uint64_t kTruncationSampleEvery = 101;

struct Tally {
  std::uint64_t inputs = 0;
  std::uint64_t packets = 0;
  std::uint64_t captures = 0;
  std::uint64_t files = 0;
};

void run(Tally& tally, const std::vector<std::uint8_t>& input) {
  ++tally.inputs;
  LLVMFuzzerTestOneInput(input.data(), input.size());
}

// Short runs of all-zero and all-one bytes behind every selector: lengths fields at 0 and at their maximum.
void run_built_in(Tally& tally) {
  for (std::size_t i = 0; i < footfall::fuzz::kLinkTypes.size(); ++i) {
    for (const std::uint8_t cut : {std::uint8_t{0}, footfall::fuzz::kCutBySnaplen}) {
      for (const std::uint8_t fill : {std::uint8_t{0x00}, std::uint8_t{0xff}}) {
        for (std::size_t len = 0; len <= 96; ++len) {
          std::vector<std::uint8_t> input(len + 1, fill);
          input[0] = static_cast<std::uint8_t>(i | cut);
          run(tally, input);
        }
      }
    }
  }
}

void run_capture(Tally& tally, const fs::path& path) {
  ++tally.captures;
  const auto error = footfall::fuzz::for_each_captured_packet(path, [&](const CapturedPacket& packet) {
    const auto input = footfall::fuzz::input_for(footfall::fuzz::Target::packet, packet);
    if (input.empty()) return;
    ++tally.packets;
    run(tally, input);
    if (packet.frame > kTruncatedPacketsPerCapture && packet.frame % kTruncationSampleEvery != 0) return;
    // Every shorter length, both as cut by the capture and as a frame that is simply short.
    for (std::size_t keep = 1; keep < input.size(); ++keep) {
      std::vector<std::uint8_t> cut(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(keep));
      cut[0] = static_cast<std::uint8_t>(cut[0] | footfall::fuzz::kCutBySnaplen);
      run(tally, cut);
      cut[0] = static_cast<std::uint8_t>(cut[0] & ~footfall::fuzz::kCutBySnaplen);
      run(tally, cut);
    }
  });
  if (error) std::printf("fuzz_packet_replay: %s: not read as a capture (%s)\n", path.c_str(), error->c_str());
}

void run_file(Tally& tally, const fs::path& path) {
  ++tally.files;
  std::ifstream in(path, std::ios::binary);
  const std::vector<std::uint8_t> input{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  run(tally, input);
}

bool is_notes(const fs::path& file) {
  const auto ext = file.extension().string();
  return ext == ".md" || ext == ".tsv" || ext == ".csv" || ext == ".txt";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help")) {
    std::printf("usage: %s [CAPTURE|INPUT|FOLDER]...\n"
                "Runs built-in inputs, every packet of each capture (.pcap .pcapng .cap) and every other file as a\n"
                "raw fuzz input through the fuzz_packet harness. Exit 0 when nothing crashed.\n",
                argv[0]);
    return 0;
  }
  Tally tally;
  run_built_in(tally);
  for (int i = 1; i < argc; ++i) {
    const fs::path path = argv[i];
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      std::printf("fuzz_packet_replay: %s is absent: only the other inputs were run\n", path.c_str());
      continue;
    }
    for (const auto& file : footfall::fuzz::files_under(path)) {
      if (footfall::fuzz::is_capture_file(file)) {
        run_capture(tally, file);
      } else if (fs::is_directory(path, ec) && is_notes(file)) {
        continue;  // a capture folder's notes and truth tables are not fuzz inputs
      } else {
        run_file(tally, file);
      }
    }
  }
  std::printf("fuzz_packet_replay: %llu inputs run (%llu packets from %llu captures, %llu raw files, the rest "
              "built-in or truncations); no crash\n",
              static_cast<unsigned long long>(tally.inputs), static_cast<unsigned long long>(tally.packets),
              static_cast<unsigned long long>(tally.captures), static_cast<unsigned long long>(tally.files));
  return 0;
}
