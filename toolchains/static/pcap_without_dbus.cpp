// libpcap's two entry points into its D-Bus capture module (pcap-dbus.c), for a static libpcap built without
// that module: the probe captures radios, never D-Bus traffic, and a static libdbus would need libsystemd,
// which Debian ships only as a shared library. libpcap calls both for every device it opens or lists.
#include <cstring>

extern "C" {

struct pcap;
struct pcap_if_list;

// "Not a D-Bus device": libpcap goes on to its other capture modules.
pcap* dbus_create(const char* /*device*/, char* /*errbuf*/, int* is_ours) {
  *is_ours = 0;
  return nullptr;
}

// No D-Bus devices to list; 0 is success.
int dbus_findalldevs(pcap_if_list* /*devices*/, char* /*errbuf*/) { return 0; }

}  // extern "C"
