#include <doctest/doctest.h>

#include "common/mac_address.h"

using footfall::MacAddress;

TEST_CASE("mac address formats lowercase with colons and parses back") {
  const auto m = MacAddress::parse("DA:A1:19:0B:2C:FF");
  REQUIRE(m.has_value());
  CHECK(m->to_string() == "da:a1:19:0b:2c:ff");
  CHECK(m->locally_administered());
  CHECK_FALSE(m->group());
  CHECK(MacAddress::parse("da-a1-19-0b-2c-ff") == m);
}

TEST_CASE("mac address rejects malformed text") {
  CHECK_FALSE(MacAddress::parse("").has_value());
  CHECK_FALSE(MacAddress::parse("da:a1:19:0b:2c").has_value());
  CHECK_FALSE(MacAddress::parse("da:a1:19:0b:2c:fg").has_value());
  CHECK_FALSE(MacAddress::parse("da.a1.19.0b.2c.ff").has_value());
}

TEST_CASE("universally administered address is not randomized") {
  const auto m = MacAddress::parse("00:1b:63:aa:bb:cc");
  REQUIRE(m.has_value());
  CHECK_FALSE(m->locally_administered());
  CHECK(m->as_u64() == 0x001b63aabbccULL);
}
