#include "probe/commands/frames_command.h"

#include <chrono>
#include <memory>
#include <optional>

#include "probe/commands/frame_json.h"
#include "probe/parse/packet.h"

namespace footfall::probe::commands {
namespace {

using capture::PacketView;
using capture::PcapSource;
using capture::ReadStatus;
using parse::ParsedPacket;

// Large enough that a file run issues one write per few thousand lines.
constexpr std::size_t kOutputBufferBytes = 1 << 20;

class LineOutput {
 public:
  LineOutput(std::FILE* out, bool flush_each_line)
      // Not zeroed: pages are touched only as lines are written, so --format none never pays for them.
      : out_(out), flush_each_line_(flush_each_line), buffer_(std::make_unique_for_overwrite<char[]>(kOutputBufferBytes)) {}
  LineOutput(const LineOutput&) = delete;
  LineOutput& operator=(const LineOutput&) = delete;
  ~LineOutput() { flush(); }

  // Where the next line goes; always room for one whole line.
  std::span<char> space() {
    if (kOutputBufferBytes - used_ < kMaxFrameJsonLine) flush();
    return {buffer_.get() + used_, kOutputBufferBytes - used_};
  }
  void commit(std::size_t n) {
    used_ += n;
    if (flush_each_line_) flush();
  }
  void flush() {
    if (used_ > 0 && std::fwrite(buffer_.get(), 1, used_, out_) != used_) failed_ = true;
    used_ = 0;
    if (flush_each_line_ && std::fflush(out_) != 0) failed_ = true;
  }
  [[nodiscard]] bool failed() const { return failed_ || std::ferror(out_) != 0; }

 private:
  std::FILE* out_;
  bool flush_each_line_;
  std::unique_ptr<char[]> buffer_;
  std::size_t used_ = 0;
  bool failed_ = false;
};

void tally(FramesSummary& summary, const ParsedPacket& packet) {
  switch (packet.what) {
    case ParsedPacket::What::dot11:
      switch (packet.dot11.kind) {
        case parse::MgmtKind::probe_req: ++summary.probe_req; break;
        case parse::MgmtKind::probe_resp: ++summary.probe_resp; break;
        case parse::MgmtKind::beacon: ++summary.beacon; break;
      }
      break;
    case ParsedPacket::What::ble: ++summary.ble_adv; break;
    case ParsedPacket::What::dropped: summary.drops.count(packet.reason); break;
  }
}

std::optional<PcapSource> open_source(const FramesOptions& options, std::FILE* err, int& exit_status) {
  try {
    if (!options.live.interface.empty()) return PcapSource::open_live(options.live);
    return PcapSource::open_file(options.read_path);
  } catch (const capture::CaptureError& e) {
    std::fprintf(err, "footfall-probe: %s\n", e.what());
    exit_status = kExitUsage;
    return std::nullopt;
  }
}

}  // namespace

void print_frames_summary(const FramesSummary& s, std::FILE* err) {
  std::uint64_t ignored = 0;
  std::uint64_t malformed = 0;
  for (std::size_t i = 0; i < parse::kDropReasonCount; ++i) {
    (parse::is_malformed(static_cast<parse::DropReason>(i)) ? malformed : ignored) += s.drops.by_reason[i];
  }
  std::fprintf(err,
               "summary: packets_read=%llu frames=%llu probe_req=%llu probe_resp=%llu beacon=%llu ble_adv=%llu "
               "ignored=%llu malformed=%llu truncated_file=%llu\n",
               static_cast<unsigned long long>(s.packets_read), static_cast<unsigned long long>(s.frames()),
               static_cast<unsigned long long>(s.probe_req), static_cast<unsigned long long>(s.probe_resp),
               static_cast<unsigned long long>(s.beacon), static_cast<unsigned long long>(s.ble_adv),
               static_cast<unsigned long long>(ignored), static_cast<unsigned long long>(malformed),
               static_cast<unsigned long long>(s.capture.truncated_file));
  // Intentional drops apart from errors, each reason on its own so a regression shows where it is.
  for (const bool want_malformed : {false, true}) {
    if ((want_malformed ? malformed : ignored) == 0) continue;
    std::fprintf(err, "summary: %s", want_malformed ? "malformed" : "ignored");
    for (std::size_t i = 0; i < parse::kDropReasonCount; ++i) {
      const auto reason = static_cast<parse::DropReason>(i);
      if (parse::is_malformed(reason) != want_malformed || s.drops.by_reason[i] == 0) continue;
      const std::string_view name = parse::to_string(reason);
      std::fprintf(err, " %.*s=%llu", static_cast<int>(name.size()), name.data(),
                   static_cast<unsigned long long>(s.drops.by_reason[i]));
    }
    std::fputc('\n', err);
  }
  if (s.capture.have_pcap_stats) {
    std::fprintf(err, "summary: pcap_received=%llu pcap_dropped=%llu pcap_if_dropped=%llu\n",
                 static_cast<unsigned long long>(s.capture.pcap_received),
                 static_cast<unsigned long long>(s.capture.pcap_dropped),
                 static_cast<unsigned long long>(s.capture.pcap_if_dropped));
  }
}

int run_frames(const FramesOptions& options, std::FILE* out, std::FILE* err) {
  int exit_status = kExitOk;
  std::optional<PcapSource> source = open_source(options, err, exit_status);
  if (!source) return exit_status;

  const bool live = source->live();
  if (live) {
    if (!source->warnings().empty()) {
      std::fprintf(err, "footfall-probe: warning on '%s': %s\n", source->name().c_str(), source->warnings().c_str());
    }
    // A consumer (or a test) waits for this line before it expects frames.
    std::fprintf(err, "footfall-probe: listening on %s, link type %s, snaplen %d, filter '%s'\n",
                 source->name().c_str(), source->link_type_name().c_str(), source->snaplen(), source->filter().c_str());
    std::fflush(err);
  }

  const capture::StopOnSignals stop_on_signals(*source);
  const bool print = options.format == FramesOptions::Format::json;
  LineOutput output(out, live);
  FramesSummary summary;
  const int link_type = source->link_type();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                                std::chrono::duration<double>(options.duration_s));
  const bool has_deadline = live && options.duration_s > 0;

  PacketView packet;
  ParsedPacket parsed;  // reused: parsing fills it in place
  for (;;) {
    if (options.count != 0 && summary.packets_read >= options.count) break;
    if (has_deadline && std::chrono::steady_clock::now() >= deadline) break;
    const ReadStatus status = source->next(packet);
    if (status == ReadStatus::timeout) continue;
    if (status == ReadStatus::end || status == ReadStatus::stopped) break;
    if (status == ReadStatus::error) {
      std::fprintf(err, "footfall-probe: error reading %s '%s': %s\n", live ? "interface" : "capture",
                   source->name().c_str(), source->error_message().c_str());
      exit_status = kExitFailure;
      break;
    }
    ++summary.packets_read;
    parse::parse_packet_into(parsed, link_type, packet.bytes, packet.wire_length, options.ble);
    tally(summary, parsed);
    if (print && parsed.what != ParsedPacket::What::dropped) {
      output.commit(write_frame_json(output.space(), summary.packets_read, packet.ts_ns, parsed));
    }
  }
  output.flush();
  if (output.failed()) {
    std::fprintf(err, "footfall-probe: cannot write output\n");
    exit_status = kExitFailure;
  }
  summary.capture = source->stats();
  print_frames_summary(summary, err);
  return exit_status;
}

}  // namespace footfall::probe::commands
