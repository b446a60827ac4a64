// The log interval for what an unauthenticated peer can cause at will: first line, then one per interval with
// the count of those left unlogged.
#include <doctest/doctest.h>

#include "gateway/receive/log_interval.h"

using footfall::gateway::LogInterval;
using namespace std::chrono_literals;

TEST_CASE("log interval: the first occurrence is logged, then one line per interval counting the quiet ones") {
  LogInterval log(10s);
  const LogInterval::Clock::time_point t0{1000s};
  CHECK(log.due(t0) == 0u);
  for (int i = 1; i <= 500; ++i) CHECK_FALSE(log.due(t0 + i * 10ms));  // a flood within the interval: quiet
  CHECK_FALSE(log.due(t0 + 9999ms));
  CHECK(log.due(t0 + 10s) == 501u);  // the next line says how many were not logged
  CHECK_FALSE(log.due(t0 + 15s));
  CHECK(log.due(t0 + 60s) == 1u);
  CHECK(log.due(t0 + 120s) == 0u);  // a rare event is logged every time
}
