#include "common/wire/frame.h"

#include <algorithm>

#include "common/byte_writer.h"
#include "common/wire/crc32c.h"

namespace footfall::wire {

namespace {
bool known_type(std::uint8_t t) {
  return t >= static_cast<std::uint8_t>(MessageType::hello) && t <= static_cast<std::uint8_t>(MessageType::heartbeat);
}
std::uint32_t le32_at(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(load_le(b.subspan(at, 4), 4));
}
}  // namespace

void finish_frame(std::vector<std::uint8_t>& out, std::size_t start) {
  const auto body_len = static_cast<std::uint32_t>(out.size() - start - kFrameHeaderBytes);
  store_le(std::span(out).subspan(start + 4, 4), body_len, 4);
  const std::uint32_t crc = crc32c(std::span<const std::uint8_t>(out).subspan(start));
  ByteWriter(out).le32(crc);
}

ParseResult FrameParser::fail(BadReason r, std::size_t consumed) {
  state_ = State::failed;
  failure_ = r;
  return {ParseStatus::bad, r, consumed};
}

void FrameParser::reset() {
  state_ = State::header;
  header_have_ = 0;
  body_len_ = 0;
  frame_.clear();
}

ParseResult FrameParser::parse(std::span<const std::uint8_t> in) {
  if (state_ == State::failed) return {ParseStatus::bad, failure_, 0};
  if (state_ == State::done) reset();

  std::size_t used = 0;
  while (state_ == State::header && used < in.size()) {
    const std::uint8_t byte = in[used++];
    header_[header_have_++] = byte;
    // Each header byte is judged as soon as it arrives, so junk is refused before anything is buffered.
    switch (header_have_) {
      case 1:
      case 2:
        if (byte != kFrameMagic[header_have_ - 1]) return fail(BadReason::bad_magic, used);
        break;
      case 3:
        if (byte < kMinWireVersion || byte > kWireVersion) return fail(BadReason::bad_version, used);
        break;
      case 4:
        if (!known_type(byte)) return fail(BadReason::unknown_type, used);
        if (required_ != 0 && byte != required_) return fail(BadReason::unexpected_type, used);
        break;
      case kFrameHeaderBytes:
        body_len_ = le32_at(header_, 4);
        if (body_len_ > max_body_) return fail(BadReason::frame_too_large, used);
        frame_.assign(header_.begin(), header_.end());
        frame_.reserve(kFrameHeaderBytes + body_len_ + kFrameTrailerBytes);
        state_ = State::body;
        break;
      default:
        break;
    }
  }
  if (state_ == State::header) return {ParseStatus::need_more, BadReason::bad_magic, used};

  const std::size_t want = kFrameHeaderBytes + body_len_ + kFrameTrailerBytes - frame_.size();
  const std::size_t take = std::min(want, in.size() - used);
  frame_.insert(frame_.end(), in.begin() + static_cast<std::ptrdiff_t>(used),
                in.begin() + static_cast<std::ptrdiff_t>(used + take));
  used += take;
  if (take < want) return {ParseStatus::need_more, BadReason::bad_magic, used};

  const std::size_t covered = kFrameHeaderBytes + body_len_;
  const std::uint32_t expected = le32_at(frame_, covered);
  if (crc32c(std::span<const std::uint8_t>(frame_).first(covered)) != expected)
    return fail(BadReason::crc_mismatch, used);
  state_ = State::done;
  required_ = 0;
  return {ParseStatus::good, BadReason::bad_magic, used};
}

}  // namespace footfall::wire
