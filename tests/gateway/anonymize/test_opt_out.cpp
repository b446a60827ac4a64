#include <doctest/doctest.h>

#include <fstream>

#include "gateway/anonymize/opt_out.h"
#include "tests/support/scratch.h"

using footfall::MacAddress;
using footfall::testing::TempDir;
using namespace footfall::gateway;

TEST_CASE("opt-out list: addresses, comments and blank lines") {
  const auto parsed = OptOutList::parse(
      "# shop staff phones\n"
      "3c:22:fb:12:34:56\n"
      "\n"
      "  00-1B-63-AA-BB-CC   # upper case, dashes\r\n"
      "3c:22:fb:12:34:56\n",
      "optout.txt");
  REQUIRE(std::holds_alternative<OptOutList>(parsed));
  const OptOutList& list = std::get<OptOutList>(parsed);
  CHECK(list.size() == 2);
  CHECK(list.contains(*MacAddress::parse("00:1b:63:aa:bb:cc")));
  CHECK_FALSE(list.contains(*MacAddress::parse("00:1b:63:aa:bb:cd")));

  OptOutFilter filter(list);
  CHECK_FALSE(filter.admit(*MacAddress::parse("3c:22:fb:12:34:56")));
  CHECK(filter.admit(*MacAddress::parse("3c:22:fb:12:34:57")));
  CHECK_FALSE(filter.admit(*MacAddress::parse("00:1b:63:aa:bb:cc")));
  CHECK(filter.counters().checked == 3);
  CHECK(filter.counters().dropped == 2);
}

TEST_CASE("opt-out list: a bad line is an error naming file and line") {
  const auto parsed = OptOutList::parse("3c:22:fb:12:34:56\n# fine\n3c:22:fb:12:34\n", "/etc/footfall/optout.txt");
  REQUIRE(std::holds_alternative<std::string>(parsed));
  CHECK(std::get<std::string>(parsed) == "/etc/footfall/optout.txt:3: not a MAC address: '3c:22:fb:12:34'");

  TempDir dir;
  const auto path = dir.path() / "optout.txt";
  std::ofstream(path) << "00:1b:63:aa:bb:cc\nzz:1b:63:aa:bb:cc # typo\n";
  const auto loaded = OptOutList::load(path);
  REQUIRE(std::holds_alternative<std::string>(loaded));
  CHECK(std::get<std::string>(loaded) == path.string() + ":2: not a MAC address: 'zz:1b:63:aa:bb:cc'");
  CHECK(std::get<std::string>(OptOutList::load(dir.path() / "absent.txt")).find("cannot be read") != std::string::npos);
}
