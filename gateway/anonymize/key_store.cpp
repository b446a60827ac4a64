#include "gateway/anonymize/key_store.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include "common/unique_fd.h"

namespace footfall::gateway {
namespace {

std::string failure(const std::filesystem::path& path, const char* what, int err) {
  return path.string() + ": " + what + ": " + std::strerror(err);
}

bool write_all(int fd, const std::uint8_t* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// A new or removed name is durable only once its directory is synced.
std::string sync_dir(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return failure(dir, "open directory", errno);
  if (::fsync(fd.get()) != 0) return failure(dir, "fsync directory", errno);
  return {};
}

}  // namespace

KeyStore::KeyStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::filesystem::path KeyStore::file_of(std::uint32_t epoch) const {
  return dir_ / ("epoch-" + std::to_string(epoch) + ".key");
}

KeyResult KeyStore::create(std::uint32_t epoch) const {
  const std::filesystem::path path = file_of(epoch);
  std::filesystem::path tmp = path;
  tmp.replace_extension(".key.new");  // not "epoch-N.key": epochs() never sees a half-written key
  SecretKey key;
  if (RAND_priv_bytes(key.writable().data(), static_cast<int>(SecretKey::size)) != 1)
    return path.string() + ": the random generator failed";
  ::unlink(tmp.c_str());  // a leftover of a crash mid-create holds no key anyone uses
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) return failure(tmp, "create", errno);
    if (::fchmod(fd.get(), 0600) != 0) return failure(tmp, "chmod", errno);
    if (!write_all(fd.get(), key.bytes().data(), SecretKey::size)) return failure(tmp, "write", errno);
    if (::fsync(fd.get()) != 0) return failure(tmp, "fsync", errno);
  }
  // link() fails when the name exists: an epoch's key is never replaced (sites would disagree).
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return err == EEXIST ? path.string() + ": a key for this epoch exists already" : failure(path, "link", err);
  }
  ::unlink(tmp.c_str());
  if (auto error = sync_dir(dir_); !error.empty()) return error;
  return key;
}

KeyResult KeyStore::load(std::uint32_t epoch) const {
  const std::filesystem::path path = file_of(epoch);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return failure(path, "open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failure(path, "stat", errno);
  if (!S_ISREG(st.st_mode)) return path.string() + ": not a regular file";
  if ((st.st_mode & 077) != 0) {
    std::array<char, 8> mode{};
    std::to_chars(mode.data(), mode.data() + mode.size(), st.st_mode & 0777, 8);
    return path.string() + ": mode 0" + mode.data() + " lets group or others read the key (must be 0600)";
  }
  if (st.st_size != static_cast<off_t>(SecretKey::size))
    return path.string() + ": " + std::to_string(st.st_size) + " bytes, a key is exactly 32";
  SecretKey key;
  std::size_t done = 0;
  while (done < SecretKey::size) {
    const ssize_t n = ::read(fd.get(), key.writable().data() + done, SecretKey::size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failure(path, "read", n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  return key;
}

std::string KeyStore::destroy(std::uint32_t epoch) const {
  const std::filesystem::path path = file_of(epoch);
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return errno == ENOENT ? std::string{} : failure(path, "open", errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return failure(path, "stat", errno);
    const std::array<std::uint8_t, 4096> zeros{};
    std::size_t left = std::max<std::size_t>(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)), SecretKey::size);
    std::size_t offset = 0;
    while (left > 0) {
      const std::size_t n = std::min(left, zeros.size());
      if (::pwrite(fd.get(), zeros.data(), n, static_cast<off_t>(offset)) != static_cast<ssize_t>(n))
        return failure(path, "overwrite", errno);
      offset += n;
      left -= n;
    }
    if (::fsync(fd.get()) != 0) return failure(path, "fsync", errno);
  }
  if (::unlink(path.c_str()) != 0) return failure(path, "unlink", errno);
  return sync_dir(dir_);
}

std::vector<std::uint32_t> KeyStore::epochs() const {
  std::vector<std::uint32_t> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    constexpr std::string_view head = "epoch-", tail = ".key";
    if (name.size() <= head.size() + tail.size() || !name.starts_with(head) || !name.ends_with(tail)) continue;
    std::uint32_t epoch = 0;
    const char* first = name.data() + head.size();
    const char* last = name.data() + name.size() - tail.size();
    auto [ptr, err] = std::from_chars(first, last, epoch);
    if (err == std::errc{} && ptr == last) out.push_back(epoch);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace footfall::gateway
