#pragma once
// Framing shared by every message: an 8-byte header, the body, a CRC-32C trailer.
// FrameParser is incremental and does no I/O: feed it whatever bytes arrived, it answers
// good (one whole frame checked), bad (reason; the stream cannot be trusted any more) or need_more.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/wire/bad_reason.h"
#include "common/wire/messages.h"

namespace footfall::wire {

inline constexpr std::array<std::uint8_t, 2> kFrameMagic{0x46, 0x57};  // "FW"
// 2: presence event rows carry cause, ble, interval_frames and interval_rssi_mean.
// 3: presence event rows carry the probe's device linking: device, previous_mac and addresses; the Hello carries
//    the probe's spool identity.
inline constexpr std::uint8_t kWireVersion = 3;
inline constexpr std::uint8_t kHelloSpoolIdVersion = 3;  // first version whose Hello ends with spool_id
inline constexpr std::uint8_t kMinWireVersion = 1;  // oldest version this build still decodes
inline constexpr std::size_t kFrameHeaderBytes = 8;
inline constexpr std::size_t kFrameTrailerBytes = 4;
inline constexpr std::uint32_t kDefaultMaxFrameBody = 1u << 20;  // 1 MiB

enum class ParseStatus : std::uint8_t { good, bad, need_more };

struct ParseResult {
  ParseStatus status = ParseStatus::need_more;
  BadReason reason = BadReason::bad_magic;  // meaningful only when status == bad
  std::size_t consumed = 0;                 // bytes of the input taken; the rest belongs to later frames
};

// Appends header + body + CRC to `out`. The body is given by `fill`, which appends to the same vector,
// so a frame is built in place without a second buffer.
template <typename Fill>
void append_frame(std::vector<std::uint8_t>& out, MessageType type, Fill&& fill);

// Computes the CRC over out[start..] and appends it; patches the body length. Used by append_frame.
void finish_frame(std::vector<std::uint8_t>& out, std::size_t start);

class FrameParser {
 public:
  explicit FrameParser(std::uint32_t max_body_bytes = kDefaultMaxFrameBody) : max_body_(max_body_bytes) {}

  // Consumes bytes up to the end of one frame. After `good`, type()/body() describe that frame until the
  // next parse() call. After `bad`, every call answers bad again until reset().
  ParseResult parse(std::span<const std::uint8_t> in);
  void reset();
  // The next frame must be of this type: any other is refused as unexpected_type from its header's type byte,
  // before its body is buffered. Lifted by the next good frame; reset() leaves it.
  void require_next(MessageType type) { required_ = static_cast<std::uint8_t>(type); }

  // After good, or after a bad answer given once the type byte had arrived (unexpected_type among them).
  [[nodiscard]] MessageType type() const { return static_cast<MessageType>(header_[3]); }
  [[nodiscard]] std::uint8_t version() const { return header_[2]; }
  [[nodiscard]] std::span<const std::uint8_t> body() const {
    return std::span<const std::uint8_t>(frame_).subspan(kFrameHeaderBytes, body_len_);
  }
  // Header, body and trailer exactly as received (e.g. to spool or forward without re-encoding).
  [[nodiscard]] std::span<const std::uint8_t> frame() const { return frame_; }

 private:
  enum class State : std::uint8_t { header, body, done, failed };
  ParseResult fail(BadReason r, std::size_t consumed);

  std::uint32_t max_body_;
  State state_ = State::header;
  BadReason failure_ = BadReason::bad_magic;
  std::array<std::uint8_t, kFrameHeaderBytes> header_{};
  std::size_t header_have_ = 0;
  std::uint32_t body_len_ = 0;
  std::uint8_t required_ = 0;  // type the next frame must have; 0: any
  std::vector<std::uint8_t> frame_;  // reused across frames: no allocation once warmed up
};

template <typename Fill>
void append_frame(std::vector<std::uint8_t>& out, MessageType type, Fill&& fill) {
  const std::size_t start = out.size();
  out.insert(out.end(), {kFrameMagic[0], kFrameMagic[1], kWireVersion, static_cast<std::uint8_t>(type), 0, 0, 0, 0});
  fill(out);
  finish_frame(out, start);
}

}  // namespace footfall::wire
