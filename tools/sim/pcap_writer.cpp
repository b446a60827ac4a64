#include "tools/sim/pcap_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace footfall::sim {

PcapWriter::PcapWriter(const std::string& path) : path_(path) {
  constexpr int snaplen = 65535;
  dead_.reset(pcap_open_dead_with_tstamp_precision(DLT_IEEE802_11_RADIO, snaplen, PCAP_TSTAMP_PRECISION_NANO));
  if (!dead_) throw std::runtime_error("cannot set up a pcap writer for " + path);

  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  // Frames are small and many: a large stdio buffer keeps system calls rare.
  std::setvbuf(file, nullptr, _IOFBF, 1 << 20);
  dumper_.reset(pcap_dump_fopen(dead_.get(), file));
  if (!dumper_) {
    std::fclose(file);
    throw std::runtime_error("cannot write " + path + ": " + pcap_geterr(dead_.get()));
  }
}

void PcapWriter::write(std::int64_t ts_ns, std::span<const std::uint8_t> record) {
  pcap_pkthdr header{};
  header.ts.tv_sec = static_cast<time_t>(ts_ns / 1'000'000'000);
  header.ts.tv_usec = static_cast<suseconds_t>(ts_ns % 1'000'000'000);  // nanoseconds with NANO precision
  header.caplen = static_cast<bpf_u_int32>(record.size());
  header.len = header.caplen;
  pcap_dump(reinterpret_cast<u_char*>(dumper_.get()), &header, record.data());
  ++frames_;
}

void PcapWriter::flush() {
  if (pcap_dump_flush(dumper_.get()) != 0) throw std::runtime_error("cannot write " + path_);
}

}  // namespace footfall::sim
