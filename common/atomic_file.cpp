#include "common/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace footfall::atomic_file {

std::string_view to_string(Step s) {
  switch (s) {
    case Step::create: return "create";
    case Step::write: return "write";
    case Step::sync: return "sync";
    case Step::close: return "close";
    case Step::rename: return "rename to";
    case Step::sync_dir: return "sync the folder";
  }
  return "unknown";
}

std::string Error::message() const {
  return "cannot " + std::string(to_string(step)) + " " + path.string() + ": " + std::strerror(sys_errno);
}

std::filesystem::path temporary_for(const std::filesystem::path& target) { return target.string() + ".tmp"; }

namespace {

class Writer {
 public:
  Writer(const std::filesystem::path& target, const Options& options)
      : target_(target), temp_(temporary_for(target)), options_(options) {}

  std::optional<Error> run(std::span<const std::uint8_t> bytes) {
    if (!create()) return discard();
    if (!write_all(bytes) || !sync() || !close()) return discard();
    if (!step(Step::rename, [&] { return ::rename(temp_.c_str(), target_.c_str()); })) return discard();
    sync_dir();
    return error_;
  }

 private:
  // Runs one system call behind the fault point; false (and error_ set) when either fails.
  template <typename Call>
  bool step(Step s, Call call, const std::filesystem::path* path = nullptr) {
    int err = options_.fault ? options_.fault(s) : 0;
    if (err == 0 && call() != 0) err = errno;
    if (err == 0) return true;
    const std::filesystem::path& at = path != nullptr ? *path : s == Step::rename ? target_ : temp_;
    error_ = Error{s, err, at};
    return false;
  }

  bool create() {
    struct stat old {};
    const bool keep = options_.keep_existing_mode && ::stat(target_.c_str(), &old) == 0;
    return step(Step::create, [&] {
      // A temporary left by a crash goes first: a fresh file takes this write's mode, and no link is followed.
      if (::unlink(temp_.c_str()) != 0 && errno != ENOENT) return -1;
      fd_ = UniqueFd(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, options_.mode));
      if (!fd_.valid()) return -1;
      if (keep && ::fchmod(fd_.get(), old.st_mode & 07777) != 0) return -1;
      if (keep && ::geteuid() == 0 && ::fchown(fd_.get(), old.st_uid, old.st_gid) != 0) return -1;
      return 0;
    });
  }

  bool write_all(std::span<const std::uint8_t> bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = 0;
      const bool ok = step(Step::write, [&] {
        n = ::write(fd_.get(), bytes.data() + done, bytes.size() - done);
        if (n == 0) errno = EIO;  // no progress on a regular file: give up rather than spin
        return n > 0 ? 0 : -1;
      });
      if (!ok) {
        if (error_ && error_->sys_errno == EINTR) {
          error_.reset();
          continue;
        }
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  bool sync() {
    return step(Step::sync, [&] { return ::fsync(fd_.get()); });
  }

  bool close() {
    return step(Step::close, [&] { return ::close(fd_.release()); });
  }

  // A failed directory sync is reported, except where the file system cannot sync a directory at all.
  void sync_dir() {
    const std::filesystem::path dir = target_.has_parent_path() ? target_.parent_path() : std::filesystem::path(".");
    UniqueFd dir_fd;
    (void)step(
        Step::sync_dir,
        [&] {
          dir_fd = UniqueFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          if (!dir_fd.valid()) return -1;
          return ::fsync(dir_fd.get()) != 0 && errno != EINVAL ? -1 : 0;
        },
        &dir);
  }

  std::optional<Error> discard() {
    fd_.close_now();
    ::unlink(temp_.c_str());
    return error_;
  }

  const std::filesystem::path& target_;
  std::filesystem::path temp_;
  const Options& options_;
  UniqueFd fd_;
  std::optional<Error> error_;
};

}  // namespace

std::optional<Error> write(const std::filesystem::path& target, std::span<const std::uint8_t> bytes,
                           const Options& options) {
  return Writer(target, options).run(bytes);
}

std::optional<Error> write(const std::filesystem::path& target, std::string_view text, const Options& options) {
  return write(target, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), options);
}

}  // namespace footfall::atomic_file
