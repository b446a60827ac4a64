#pragma once
// One probe's capture file: radiotap link type, nanosecond timestamps, written through libpcap.
#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace footfall::sim {

class PcapWriter {
 public:
  // Creates (truncates) `path`; throws std::runtime_error naming the file when it cannot.
  explicit PcapWriter(const std::string& path);

  void write(std::int64_t ts_ns, std::span<const std::uint8_t> record);
  void flush();
  [[nodiscard]] std::uint64_t frames() const { return frames_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  struct PcapClose {
    void operator()(pcap_t* p) const { pcap_close(p); }
  };
  struct DumperClose {
    void operator()(pcap_dumper_t* d) const { pcap_dump_close(d); }
  };

  std::string path_;
  std::unique_ptr<pcap_t, PcapClose> dead_;
  std::unique_ptr<pcap_dumper_t, DumperClose> dumper_;  // declared last: closed before `dead_`
  std::uint64_t frames_ = 0;
};

}  // namespace footfall::sim
