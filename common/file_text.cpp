#include "common/file_text.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/unique_fd.h"

namespace footfall {

FileText read_file(const std::filesystem::path& path, std::size_t limit) {
  FileText result;
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    result.error = errno;
    return result;
  }
  result.opened = true;
  // /proc and /sys files report size 0: read until end of file, whatever fstat says.
  char chunk[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      result.error = errno;
      break;
    }
    if (result.text.size() + static_cast<std::size_t>(n) > limit) {
      result.error = EFBIG;
      break;
    }
    result.text.append(chunk, static_cast<std::size_t>(n));
  }
  return result;
}

}  // namespace footfall
