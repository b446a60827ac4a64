#include "common/wire/codec.h"

#include <limits>

#include "common/byte_cursor.h"
#include "common/byte_writer.h"
#include "common/wire/varint.h"

namespace footfall::wire {

namespace {

void put_string(ByteWriter& out, const std::string& s, std::size_t length_bytes) {
  out.le(s.size(), length_bytes);
  out.bytes(s);
}

bool read_string(ByteCursor& in, std::string& s, std::size_t length_bytes, std::size_t max, BadReason& bad) {
  const std::size_t n = length_bytes == 1 ? in.u8() : in.le16();
  if (!in.ok()) {
    bad = BadReason::truncated_body;
    return false;
  }
  if (n > max) {
    bad = BadReason::string_too_long;
    return false;
  }
  const auto bytes = in.bytes(n);
  if (!in.ok()) {
    bad = BadReason::truncated_body;
    return false;
  }
  s.assign(bytes.begin(), bytes.end());
  return true;
}

// Ranges must be ascending, disjoint, not adjacent to each other or to the cumulative point
// (adjacent ones would have been merged), so one set of acked seqs has exactly one encoding.
bool valid_ranges(const Ack& ack) {
  if (ack.ranges.size() > kMaxAckRanges) return false;
  std::uint64_t prev_last = ack.cumulative;
  for (const SeqRange& r : ack.ranges) {
    if (prev_last >= std::numeric_limits<std::uint64_t>::max() - 1) return false;
    if (r.first < prev_last + 2 || r.last < r.first) return false;
    prev_last = r.last;
  }
  return true;
}

template <typename T>
T& hold(Message& out) {
  if (!std::holds_alternative<T>(out)) out.emplace<T>();
  return std::get<T>(out);
}

}  // namespace

Encoder::Encoder(EncoderOptions options) : options_(options), zstd_(options.zstd_level) {}

std::optional<BadReason> Encoder::encode_batch(const Batch& batch, std::vector<std::uint8_t>& out) {
  body_writer_.write(batch.body, raw_);
  std::optional<BadReason> failure;
  append_frame(out, MessageType::batch, [&](std::vector<std::uint8_t>& o) {
    ByteWriter w(o);
    w.le64(batch.seq);
    w.u8(kBatchCodecZstd);
    failure = zstd_.compress(raw_, o, body_writer_.sections());
  });
  return failure;
}

std::optional<BadReason> Encoder::encode(const Message& message, std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  std::optional<BadReason> failure;
  if (const auto* hello = std::get_if<Hello>(&message)) {
    if (hello->probe_id.size() > kMaxProbeIdBytes || hello->token.size() > kMaxTokenBytes ||
        hello->software_version.size() > kMaxSoftwareVersionBytes)
      return BadReason::string_too_long;
    append_frame(out, MessageType::hello, [&](std::vector<std::uint8_t>& o) {
      ByteWriter w(o);
      put_string(w, hello->probe_id, 1);
      put_string(w, hello->token, 2);
      put_string(w, hello->software_version, 1);
      w.le64(static_cast<std::uint64_t>(hello->probe_clock_ns));
      w.le64(hello->spool_id);
    });
  } else if (const auto* reply = std::get_if<HelloReply>(&message)) {
    append_frame(out, MessageType::hello_reply, [&](std::vector<std::uint8_t>& o) {
      ByteWriter w(o);
      w.u8(static_cast<std::uint8_t>(reply->status));
      w.u8(static_cast<std::uint8_t>(reply->reason));
      w.le64(static_cast<std::uint64_t>(reply->gateway_clock_ns));
      w.le64(reply->acked_through);
    });
  } else if (const auto* batch = std::get_if<Batch>(&message)) {
    failure = encode_batch(*batch, out);
  } else if (const auto* ack = std::get_if<Ack>(&message)) {
    if (!valid_ranges(*ack)) return BadReason::bad_ack_ranges;
    append_frame(out, MessageType::ack, [&](std::vector<std::uint8_t>& o) {
      ByteWriter w(o);
      w.le64(ack->cumulative);
      w.u8(static_cast<std::uint8_t>(ack->ranges.size()));
      for (const SeqRange& r : ack->ranges) {
        w.le64(r.first);
        w.le64(r.last);
      }
    });
  } else if (const auto* hb = std::get_if<Heartbeat>(&message)) {
    append_frame(out, MessageType::heartbeat, [&](std::vector<std::uint8_t>& o) {
      ByteWriter w(o);
      for (std::uint64_t v : {hb->capture_received, hb->capture_dropped, hb->capture_if_dropped, hb->parse_drops})
        w.le64(v);
      w.le32(hb->cpu_permille);
      for (std::uint64_t v : {hb->rss_bytes, hb->spool_records, hb->spool_bytes, hb->spool_full_drop_records,
                              hb->spool_full_drop_bytes, static_cast<std::uint64_t>(hb->probe_clock_ns),
                              hb->uptime_ns})
        w.le64(v);
    });
  }
  if (!failure && out.size() - start - kFrameHeaderBytes - kFrameTrailerBytes > options_.max_frame_body)
    failure = BadReason::frame_too_large;
  if (failure) out.resize(start);
  return failure;
}

struct Decoder::BatchDecoding {
  virtual ~BatchDecoding() = default;
  virtual std::optional<BadReason> decode(std::span<const std::uint8_t> compressed, std::uint8_t version,
                                          BatchBody& out) = 0;
};

struct Decoder::ZstdBatchDecoding final : Decoder::BatchDecoding {
  explicit ZstdBatchDecoding(std::size_t max_decompressed) : zstd(max_decompressed) {}
  std::optional<BadReason> decode(std::span<const std::uint8_t> compressed, std::uint8_t version,
                                  BatchBody& out) override {
    if (auto failure = zstd.decompress(compressed, raw)) return failure;
    return body_reader.read(raw, out, version);
  }
  ZstdDecompressor zstd;
  BatchBodyReader body_reader;
  std::vector<std::uint8_t> raw;
};

Decoder::Decoder(DecoderLimits limits, std::nullptr_t) : frames_(limits.max_frame_body) {}

// The batch decoding is made here and only here: a program that never calls this constructor links none of it.
Decoder::Decoder(DecoderLimits limits) : Decoder(limits, nullptr) {
  batches_ = std::make_unique<ZstdBatchDecoding>(limits.max_decompressed);
}

Decoder Decoder::for_probe(DecoderLimits limits) { return Decoder(limits, nullptr); }

Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

void Decoder::reset() {
  frames_.reset();
  failed_.reset();
}

ParseResult Decoder::parse(std::span<const std::uint8_t> in, Message& out) {
  if (failed_) return {ParseStatus::bad, *failed_, 0};
  ParseResult r = frames_.parse(in);
  if (r.status != ParseStatus::good) return r;
  if (auto bad = decode_body(frames_.type(), frames_.body(), out)) {
    failed_ = *bad;
    return {ParseStatus::bad, *bad, r.consumed};
  }
  return r;
}

std::optional<BadReason> Decoder::decode_body(MessageType type, std::span<const std::uint8_t> body, Message& out) {
  ByteCursor in(body);
  BadReason bad = BadReason::truncated_body;
  switch (type) {
    case MessageType::hello: {
      Hello& h = hold<Hello>(out);
      if (!read_string(in, h.probe_id, 1, kMaxProbeIdBytes, bad) || !read_string(in, h.token, 2, kMaxTokenBytes, bad) ||
          !read_string(in, h.software_version, 1, kMaxSoftwareVersionBytes, bad))
        return bad;
      h.probe_clock_ns = static_cast<std::int64_t>(in.le64());
      h.spool_id = frames_.version() >= kHelloSpoolIdVersion ? in.le64() : 0;
      if (!in.ok()) return BadReason::truncated_body;
      break;
    }
    case MessageType::hello_reply: {
      HelloReply& h = hold<HelloReply>(out);
      const std::uint8_t status = in.u8();
      const std::uint8_t reason = in.u8();
      h.gateway_clock_ns = static_cast<std::int64_t>(in.le64());
      h.acked_through = in.le64();
      if (!in.ok()) return BadReason::truncated_body;
      // Accepted carries no reason and refused always names one.
      if (status > 1 || reason > kMaxRefuseReason || (status == 0) != (reason == 0)) return BadReason::bad_value;
      h.status = static_cast<HelloStatus>(status);
      h.reason = static_cast<RefuseReason>(reason);
      break;
    }
    case MessageType::batch: {
      if (!batches_) return BadReason::unknown_type;  // a probe's decoder: gateways send no batches
      Batch& b = hold<Batch>(out);
      b.seq = in.le64();
      const std::uint8_t codec = in.u8();
      if (!in.ok()) return BadReason::truncated_body;
      if (codec != kBatchCodecZstd) return BadReason::unknown_codec;
      if (auto failure = batches_->decode(in.rest(), frames_.version(), b.body)) return failure;
      return std::nullopt;  // the compressed frame ran to the end of the body by construction
    }
    case MessageType::ack: {
      Ack& a = hold<Ack>(out);
      a.cumulative = in.le64();
      const std::uint8_t n = in.u8();
      if (!in.ok()) return BadReason::truncated_body;
      if (n > kMaxAckRanges) return BadReason::bad_ack_ranges;
      a.ranges.resize(n);
      for (SeqRange& r : a.ranges) {
        r.first = in.le64();
        r.last = in.le64();
      }
      if (!in.ok()) return BadReason::truncated_body;
      if (!valid_ranges(a)) return BadReason::bad_ack_ranges;
      break;
    }
    case MessageType::heartbeat: {
      Heartbeat& h = hold<Heartbeat>(out);
      for (std::uint64_t* v : {&h.capture_received, &h.capture_dropped, &h.capture_if_dropped, &h.parse_drops})
        *v = in.le64();
      h.cpu_permille = in.le32();
      for (std::uint64_t* v : {&h.rss_bytes, &h.spool_records, &h.spool_bytes, &h.spool_full_drop_records,
                               &h.spool_full_drop_bytes})
        *v = in.le64();
      h.probe_clock_ns = static_cast<std::int64_t>(in.le64());
      h.uptime_ns = in.le64();
      if (!in.ok()) return BadReason::truncated_body;
      break;
    }
  }
  if (in.remaining() != 0) return BadReason::trailing_bytes;
  return std::nullopt;
}

}  // namespace footfall::wire
