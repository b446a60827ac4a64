#pragma once
// Replaces a file so that a crash or a power cut leaves the old content or the new, never a mix: the bytes go
// to a temporary file beside it (every byte, however the writes split), which is synced, renamed over the
// target, and then the folder is synced so the rename itself survives.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace footfall::atomic_file {

enum class Step : std::uint8_t { create, write, sync, close, rename, sync_dir };
std::string_view to_string(Step s);

struct Error {
  Step step = Step::create;
  int sys_errno = 0;
  std::filesystem::path path;  // the file the failed step worked on (the temporary, the target or the folder)
  [[nodiscard]] std::string message() const;  // "cannot <step> <path>: <strerror>"
};

struct Options {
  mode_t mode = 0644;               // of a new file (the umask applies)
  bool keep_existing_mode = false;  // an existing target keeps its mode and, for root, its owner
  // Fault point for tests: called before each step's system call (before every write() call for Step::write);
  // a non-zero errno fails that step as if the call had. EINTR at Step::write is retried like a real one.
  std::function<int(Step)> fault;
};

// nullopt: the target holds `bytes`. On an error before the rename the target is untouched; either way no
// temporary file is left behind.
std::optional<Error> write(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
                           const Options& options = {});
std::optional<Error> write(const std::filesystem::path& target, std::string_view text, const Options& options = {});

// The temporary name used beside `target` (a crash mid-write may leave it; the next write replaces it).
std::filesystem::path temporary_for(const std::filesystem::path& target);

}  // namespace footfall::atomic_file
