#pragma once
// A virtual monitor-mode interface: a persistent TAP device whose link type is switched to radiotap
// (ARPHRD_IEEE80211_RADIOTAP), so libpcap captures on it with link type 127. A frame written to the
// TAP file descriptor is received by the kernel on that interface, exactly as a radio would deliver it.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

namespace footfall::vmon {

class VmonError : public std::runtime_error {
 public:
  enum class Kind : std::uint8_t {
    not_permitted,    // not root / no CAP_NET_ADMIN
    no_tun_device,    // /dev/net/tun missing (no tun module, or a container without it)
    already_exists,   // create: the name is taken
    not_found,        // attach / destroy: no such TAP interface
    system,           // anything else; the message has errno's text
  };
  VmonError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] Kind kind() const { return kind_; }
  // Environments that cannot host a TAP device at all (tests skip there rather than fail).
  [[nodiscard]] bool unavailable() const { return kind_ == Kind::not_permitted || kind_ == Kind::no_tun_device; }

 private:
  Kind kind_;
};

// Owns one file descriptor; closes it once.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

class VirtualMonitor {
 public:
  // Creates NAME (persistent TAP, radiotap link type, up). The object owns it: destruction removes it
  // unless keep() was called. Throws VmonError.
  static VirtualMonitor create(const std::string& name);
  // Attaches to an existing virtual monitor to inject into it; destruction leaves it in place.
  static VirtualMonitor attach(const std::string& name);
  // Removes an existing virtual monitor (not persistent any more; gone when the last fd closes).
  static void destroy(const std::string& name);
  [[nodiscard]] static bool exists(const std::string& name);

  VirtualMonitor(VirtualMonitor&&) noexcept = default;
  VirtualMonitor& operator=(VirtualMonitor&&) noexcept = default;
  VirtualMonitor(const VirtualMonitor&) = delete;
  VirtualMonitor& operator=(const VirtualMonitor&) = delete;
  ~VirtualMonitor();

  // Delivers one radiotap frame (radiotap header + 802.11 frame) as received on the interface.
  // Frames shorter than 14 bytes are refused by the kernel. Throws VmonError on failure.
  void inject(std::span<const std::uint8_t> radiotap_frame);
  // Leave the interface behind when this object goes (the `create` command).
  void keep() { owned_ = false; }

  [[nodiscard]] const std::string& name() const { return name_; }

 private:
  VirtualMonitor(FileDescriptor tap, std::string name, bool owned)
      : tap_(std::move(tap)), name_(std::move(name)), owned_(owned) {}

  FileDescriptor tap_;
  std::string name_;
  bool owned_ = false;
};

}  // namespace footfall::vmon
