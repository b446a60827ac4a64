#include "tools/vmon/virtual_monitor.h"

// <net/if.h> before the kernel headers: linux/libc-compat.h then skips its duplicate IFF_* flags.
#include <net/if.h>
#include <fcntl.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

namespace footfall::vmon {
namespace {

constexpr const char* kTunDevice = "/dev/net/tun";

std::string errno_text(int err) { return std::strerror(err); }

[[noreturn]] void fail(const std::string& what, int err) {
  const VmonError::Kind kind = (err == EPERM || err == EACCES) ? VmonError::Kind::not_permitted : VmonError::Kind::system;
  std::string message = what + ": " + errno_text(err);
  if (kind == VmonError::Kind::not_permitted) message += " (needs root or CAP_NET_ADMIN)";
  throw VmonError(kind, message);
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos) {
    throw VmonError(VmonError::Kind::system,
                    "invalid interface name '" + name + "' (1 to " + std::to_string(IFNAMSIZ - 1) + " characters, no '/')");
  }
}

FileDescriptor open_tun() {
  FileDescriptor fd(::open(kTunDevice, O_RDWR | O_CLOEXEC));
  if (fd.valid()) return fd;
  const int err = errno;
  if (err == ENOENT || err == ENODEV || err == ENXIO) {
    throw VmonError(VmonError::Kind::no_tun_device,
                    std::string("cannot open ") + kTunDevice + ": " + errno_text(err) + " (no TUN/TAP support here)");
  }
  fail(std::string("cannot open ") + kTunDevice, err);
}

ifreq request_for(const std::string& name) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size() + 1);
  return ifr;
}

// Binds `fd` to the TAP named `name`, creating it when it does not exist.
void bind_tap(const FileDescriptor& fd, const std::string& name) {
  ifreq ifr = request_for(name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;  // no packet-info prefix: what we write is the frame itself
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) == 0) return;
  const int err = errno;
  if (err == EBUSY) fail("interface '" + name + "' is in use by another process", err);
  if (err == EINVAL) fail("interface '" + name + "' exists and is not a TAP interface", err);
  fail("cannot create TAP interface '" + name + "'", err);
}

void bring_up(const std::string& name) {
  FileDescriptor sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) sock = FileDescriptor(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) fail("cannot open a control socket", errno);
  ifreq ifr = request_for(name);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) fail("cannot read flags of '" + name + "'", errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) fail("cannot bring '" + name + "' up", errno);
}

bool is_tap_interface(const std::string& name) {
  // Only TUN/TAP devices have this attribute; it keeps `delete eth0` from touching a real interface.
  std::ifstream flags("/sys/class/net/" + name + "/tun_flags");
  return flags.good();
}

// Removes an interface by index through rtnetlink (when its TAP fd is held by another process).
void delete_link(const std::string& name) {
  const unsigned index = if_nametoindex(name.c_str());
  if (index == 0) return;
  FileDescriptor sock(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!sock.valid()) fail("cannot open a netlink socket", errno);
  struct {
    nlmsghdr header;
    ifinfomsg info;
  } request{};
  request.header.nlmsg_len = sizeof(request);
  request.header.nlmsg_type = RTM_DELLINK;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  request.header.nlmsg_seq = 1;
  request.info.ifi_family = AF_UNSPEC;
  request.info.ifi_index = static_cast<int>(index);
  if (::send(sock.get(), &request, sizeof(request), 0) < 0) fail("cannot ask to delete '" + name + "'", errno);
  alignas(nlmsghdr) char reply[512];
  const ssize_t n = ::recv(sock.get(), reply, sizeof(reply), 0);
  if (n < 0) fail("no answer deleting '" + name + "'", errno);
  const auto* header = reinterpret_cast<const nlmsghdr*>(reply);
  if (static_cast<std::size_t>(n) >= sizeof(nlmsghdr) + sizeof(nlmsgerr) && header->nlmsg_type == NLMSG_ERROR) {
    const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(header));
    if (error->error != 0) fail("cannot delete '" + name + "'", -error->error);
  }
}

}  // namespace

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

bool VirtualMonitor::exists(const std::string& name) { return if_nametoindex(name.c_str()) != 0; }

VirtualMonitor VirtualMonitor::create(const std::string& name) {
  check_name(name);
  if (exists(name)) throw VmonError(VmonError::Kind::already_exists, "interface '" + name + "' already exists");
  FileDescriptor fd = open_tun();
  bind_tap(fd, name);
  // Owned from here on: a failure below removes the half-made interface.
  VirtualMonitor monitor(std::move(fd), name, true);
  const int tap = monitor.tap_.get();
  // The link type must change while the interface is down; libpcap maps 803 to DLT_IEEE802_11_RADIO.
  if (::ioctl(tap, TUNSETLINK, static_cast<unsigned long>(ARPHRD_IEEE80211_RADIOTAP)) != 0) {
    fail("cannot switch '" + name + "' to radiotap", errno);
  }
  if (::ioctl(tap, TUNSETPERSIST, 1UL) != 0) fail("cannot make '" + name + "' persistent", errno);
  bring_up(name);
  return monitor;
}

VirtualMonitor VirtualMonitor::attach(const std::string& name) {
  check_name(name);
  if (!exists(name) || !is_tap_interface(name)) {
    throw VmonError(VmonError::Kind::not_found, "no virtual monitor interface '" + name + "'");
  }
  FileDescriptor fd = open_tun();
  bind_tap(fd, name);
  return VirtualMonitor(std::move(fd), name, false);
}

void VirtualMonitor::destroy(const std::string& name) {
  check_name(name);
  if (!exists(name) || !is_tap_interface(name)) {
    throw VmonError(VmonError::Kind::not_found, "no virtual monitor interface '" + name + "'");
  }
  FileDescriptor fd = open_tun();
  ifreq ifr = request_for(name);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    if (errno == EBUSY) return delete_link(name);  // another process holds it: remove it under them
    fail("cannot attach to '" + name + "'", errno);
  }
  if (::ioctl(fd.get(), TUNSETPERSIST, 0UL) != 0) fail("cannot release '" + name + "'", errno);
  // Closing the last fd of a non-persistent TAP removes the interface.
}

VirtualMonitor::~VirtualMonitor() {
  if (owned_ && tap_.valid()) (void)::ioctl(tap_.get(), TUNSETPERSIST, 0UL);
}

void VirtualMonitor::inject(std::span<const std::uint8_t> radiotap_frame) {
  const ssize_t n = ::write(tap_.get(), radiotap_frame.data(), radiotap_frame.size());
  if (n < 0) fail("cannot inject into '" + name_ + "'", errno);
  if (static_cast<std::size_t>(n) != radiotap_frame.size()) {
    throw VmonError(VmonError::Kind::system, "short write injecting into '" + name_ + "'");
  }
}

}  // namespace footfall::vmon
