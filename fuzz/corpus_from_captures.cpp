// footfall-fuzz-corpus: writes every packet of the given captures as a seed input for a fuzz target, in the
// layout that target reads (fuzz_input.h). Identical inputs are written once.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "fuzz/capture_inputs.h"

namespace {

namespace fs = std::filesystem;

int usage(const char* self) {
  std::fprintf(stderr,
               "usage: %s [--target packet|radiotap|dot11|ble] OUTDIR CAPTURE|FOLDER...\n"
               "Writes one file per packet (as the chosen fuzz target reads it) into OUTDIR.\n",
               self);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  footfall::fuzz::Target target = footfall::fuzz::Target::packet;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--target" && i + 1 < argc) {
      const auto t = footfall::fuzz::target_from_name(argv[++i]);
      if (!t) {
        std::fprintf(stderr, "%s: unknown --target '%s'\n", argv[0], argv[i]);
        return 2;
      }
      target = *t;
    } else if (arg == "-h" || arg == "--help") {
      usage(argv[0]);
      return 0;
    } else {
      args.push_back(arg);
    }
  }
  if (args.size() < 2) return usage(argv[0]);

  const fs::path out_dir = args[0];
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "%s: cannot create %s: %s\n", argv[0], out_dir.c_str(), ec.message().c_str());
    return 2;
  }

  std::unordered_set<std::string> seen;
  std::size_t captures = 0, written = 0, duplicates = 0, failed = 0;
  for (std::size_t a = 1; a < args.size(); ++a) {
    for (const auto& file : footfall::fuzz::files_under(args[a])) {
      if (!footfall::fuzz::is_capture_file(file)) continue;
      ++captures;
      const auto error = footfall::fuzz::for_each_captured_packet(file, [&](const auto& packet) {
        const auto input = footfall::fuzz::input_for(target, packet);
        if (input.empty()) return;
        if (!seen.emplace(input.begin(), input.end()).second) {
          ++duplicates;
          return;
        }
        char frame[32];
        std::snprintf(frame, sizeof frame, "-%06llu", static_cast<unsigned long long>(packet.frame));
        std::ofstream out(out_dir / (file.filename().string() + frame), std::ios::binary);
        out.write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
        if (out) ++written;
      });
      if (error) {
        ++failed;
        std::fprintf(stderr, "%s: skipped %s: %s\n", argv[0], file.c_str(), error->c_str());
      }
    }
  }
  std::printf("%zu inputs written to %s from %zu captures (%zu duplicates left out, %zu captures unreadable)\n",
              written, out_dir.c_str(), captures, duplicates, failed);
  return captures == 0 || failed == captures ? 1 : 0;
}
