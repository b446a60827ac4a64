// A probe's clock offset: the minimum over a window, the tolerance, replays.
#include <doctest/doctest.h>

#include "gateway/probe_clock/clock_offset.h"

using namespace footfall;
using namespace footfall::gateway;

TEST_CASE("clock offset: minimum over the window, tolerance, replay") {
  ClockOffset clock(3, 2'000'000'000);
  CHECK_FALSE(clock.offset_ns());
  CHECK(clock.correction_ns() == 0);
  clock.add_sample(0, 1'000);  // replay: ignored
  CHECK(clock.samples() == 0);
  const std::int64_t h3 = 3LL * 3600 * 1'000'000'000;
  clock.add_sample(1'000'000'000'000, 1'000'000'000'000 + h3 + 40'000'000);  // 40 ms of delay
  clock.add_sample(2'000'000'000'000, 2'000'000'000'000 + h3 + 5'000'000);
  clock.add_sample(3'000'000'000'000, 3'000'000'000'000 + h3 + 90'000'000);
  CHECK(*clock.offset_ns() == h3 + 5'000'000);
  CHECK(clock.correction_ns() == h3 + 5'000'000);
  // The 5 ms sample leaves the window of 3 after three more.
  for (int i = 0; i < 3; ++i) clock.add_sample(4'000'000'000'000, 4'000'000'000'000 + h3 + 20'000'000);
  CHECK(*clock.offset_ns() == h3 + 20'000'000);
  ClockOffset synced(4, 2'000'000'000);
  synced.add_sample(1'000'000'000'000, 1'000'000'000'000 - 1'500'000'000);
  CHECK(*synced.offset_ns() == -1'500'000'000);
  CHECK(synced.correction_ns() == 0);  // within tolerance
  synced.reset();
  CHECK(synced.samples() == 0);
}
