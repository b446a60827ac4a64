#include <doctest/doctest.h>

#include <string>

#include "gateway/publish/micro_batcher.h"

using namespace footfall::gateway::publish;

TEST_CASE("a batch seals interval_ms after its first item, not before") {
  MicroBatcher b({5000, 500, 1u << 20});
  CHECK_FALSE(b.due(0));
  CHECK_FALSE(b.seal(0));  // nothing open
  REQUIRE(b.add("{}", 1000));
  REQUIRE(b.add("{}", 3000));
  CHECK_FALSE(b.due(5999));
  CHECK(b.due(6000));
  auto s = b.seal(6000);
  REQUIRE(s);
  CHECK(s->items.size() == 2);
  CHECK(s->opened_at == 1000);
  CHECK(s->sealed_at == 6000);
  CHECK_FALSE(b.is_open());
  CHECK_FALSE(b.due(100000));  // an empty, closed batcher is never due
}

TEST_CASE("a batch is due and refuses items at max_events") {
  MicroBatcher b({5000, 3, 1u << 20});
  CHECK(b.add("1", 0));
  CHECK(b.add("2", 0));
  CHECK_FALSE(b.due(0));
  CHECK(b.add("3", 0));
  CHECK(b.full());
  CHECK(b.due(0));
  CHECK_FALSE(b.add("4", 0));
  CHECK(b.seal(0)->items == std::vector<std::string>{"1", "2", "3"});
  CHECK(b.add("4", 1));
}

TEST_CASE("max_bytes closes a batch early; an oversized item still travels alone") {
  MicroBatcher b({5000, 500, 10});
  CHECK(b.add("123456", 0));
  CHECK_FALSE(b.add("12345", 0));  // 11 bytes would pass the limit
  CHECK(b.add("1234", 0));         // exactly 10
  CHECK(b.due(0));
  (void)b.seal(0);
  CHECK(b.add(std::string(50, 'x'), 0));
  CHECK(b.due(0));
  CHECK(b.seal(0)->items.size() == 1);
}

TEST_CASE("open() starts the interval for a snapshot-only batch") {
  MicroBatcher b({100, 500, 1u << 20});
  b.open(50);
  b.open(120);  // already open: the first moment counts
  CHECK_FALSE(b.due(149));
  CHECK(b.due(150));
  auto s = b.seal(150);
  REQUIRE(s);
  CHECK(s->items.empty());
  CHECK(s->opened_at == 50);
}
