#include <doctest/doctest.h>

#include "gateway/merge/frame_dedup.h"

using footfall::MacAddress;
using footfall::gateway::FrameDedup;

namespace {
constexpr std::int64_t ms = 1'000'000;
const MacAddress phone = *MacAddress::parse("da:a1:19:00:00:01");
const MacAddress other = *MacAddress::parse("da:a1:19:00:00:02");
}  // namespace

TEST_CASE("dedup: same (sa, seq) from a second probe inside the window is a duplicate, outside it is not") {
  FrameDedup dedup(1024, 1000 * ms);
  CHECK_FALSE(dedup.duplicate(phone, 100, 10'000 * ms, 0));
  CHECK(dedup.duplicate(phone, 100, 10'400 * ms, 1));       // 0.4 s later at probe 1
  CHECK(dedup.duplicate(phone, 100, 9'700 * ms, 2));        // probe 2's clock behind: still within 1 s
  CHECK_FALSE(dedup.duplicate(phone, 100, 10'200 * ms, 0)); // the same probe again: not a site duplicate
  CHECK_FALSE(dedup.duplicate(phone, 101, 10'010 * ms, 1)); // next frame
  CHECK_FALSE(dedup.duplicate(other, 100, 10'010 * ms, 1)); // another transmitter
  // 5 s later the 12-bit sequence number has wrapped: a new frame, remembered afresh.
  CHECK_FALSE(dedup.duplicate(phone, 100, 15'000 * ms, 1));
  CHECK(dedup.duplicate(phone, 100, 15'900 * ms, 0));
  CHECK_FALSE(dedup.duplicate(phone, 100, 17'000 * ms, 2));  // 1.1 s after the last remembered one
  CHECK(dedup.counters().checked == 9);
  CHECK(dedup.counters().duplicates == 3);
  CHECK(dedup.counters().evicted_live == 0);
}

TEST_CASE("dedup: a full ring overwrites the oldest frame and counts it when it was still in the window") {
  FrameDedup dedup(4, 1000 * ms);
  REQUIRE(dedup.capacity() == 4);
  for (std::uint16_t seq = 0; seq < 4; ++seq) CHECK_FALSE(dedup.duplicate(phone, seq, 1000 * ms + seq, 0));
  CHECK_FALSE(dedup.duplicate(phone, 4, 1000 * ms + 4, 0));  // overwrites seq 0, still live
  CHECK(dedup.counters().evicted_live == 1);
  CHECK_FALSE(dedup.duplicate(phone, 0, 1000 * ms + 5, 1));  // forgotten: not found as duplicate
  CHECK(dedup.duplicate(phone, 3, 1000 * ms + 6, 1));        // still held
  // Long after, overwriting old entries is not counted.
  for (std::uint16_t seq = 10; seq < 14; ++seq) CHECK_FALSE(dedup.duplicate(other, seq, 9000 * ms, 0));
  CHECK(dedup.counters().evicted_live == 2);  // only the live seq 1, overwritten when seq 0 came back
}

TEST_CASE("dedup: index stays consistent under churn (every held key found, every evicted key gone)") {
  FrameDedup dedup(64, 1'000'000 * ms);
  for (std::uint32_t i = 0; i < 5000; ++i)
    CHECK_FALSE(dedup.duplicate(phone, static_cast<std::uint16_t>(i % 4096), std::int64_t{i}, 0));
  // Sequence numbers 4936..4999 (mod 4096: 840..903) are the 64 held ones.
  for (std::uint32_t i = 4936; i < 5000; ++i)
    CHECK(dedup.duplicate(phone, static_cast<std::uint16_t>(i % 4096), std::int64_t{i}, 1));
  CHECK_FALSE(dedup.duplicate(phone, static_cast<std::uint16_t>(4935 % 4096), 4935, 1));
}
