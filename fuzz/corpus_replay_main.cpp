// Runs a fuzz target's committed seed corpus without libFuzzer, so that every test run (and the sanitizer
// presets above all) exercises it: each file as it is, every truncation of it, and each byte replaced by a few
// values that matter to a JSON text. Exit 0 when nothing crashed. The seeds of fuzz/corpus/ begin with the
// target's selector byte as a digit ('0' visits / probe.json, ...), so they read as text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

// Bounds the derived inputs of one seed: a long seed is cut and changed at evenly spaced places.
constexpr std::size_t kPlacesPerSeed = 512;
constexpr std::uint8_t kReplacements[] = {'"', '}', ']', '-', '0', '9', 'e', ' ', 0x00, 0xff};

std::uint64_t runs = 0;

void run(const std::vector<std::uint8_t>& input) {
  ++runs;
  LLVMFuzzerTestOneInput(input.data(), input.size());
}

void run_seed(const std::vector<std::uint8_t>& seed) {
  run(seed);
  const std::size_t step = std::max<std::size_t>(1, seed.size() / kPlacesPerSeed);
  for (std::size_t keep = 0; keep < seed.size(); keep += step)
    run(std::vector<std::uint8_t>(seed.begin(), seed.begin() + static_cast<std::ptrdiff_t>(keep)));
  // The first byte is the target's selector: it is changed as well, to run each seed through every branch.
  for (std::size_t at = 0; at < seed.size(); at += step) {
    for (const std::uint8_t b : kReplacements) {
      if (seed[at] == b) continue;
      std::vector<std::uint8_t> changed = seed;
      changed[at] = b;
      run(changed);
    }
  }
  for (std::uint8_t selector = 0; selector < 8 && !seed.empty(); ++selector) {
    std::vector<std::uint8_t> other = seed;
    other[0] = selector;
    run(other);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    std::printf("usage: %s CORPUS_FOLDER|INPUT...\n"
                "Runs every file (each as it is, truncated and with single bytes changed) through the fuzz target.\n",
                argv[0]);
    return argc < 2 ? 2 : 0;
  }
  std::uint64_t seeds = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<fs::path> files;
    if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::exists(argv[i])) {
      files.emplace_back(argv[i]);
    } else {
      std::fprintf(stderr, "%s: %s does not exist\n", argv[0], argv[i]);
      return 2;
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::vector<std::uint8_t> seed{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      ++seeds;
      run_seed(seed);
    }
  }
  if (seeds == 0) {
    std::fprintf(stderr, "%s: no seed found: the corpus folder is empty\n", argv[0]);
    return 2;
  }
  std::printf("%s: %llu seeds, %llu inputs run; no crash\n", argv[0], static_cast<unsigned long long>(seeds),
              static_cast<unsigned long long>(runs));
  return 0;
}
