#include <doctest/doctest.h>

#include "common/drops.h"

using footfall::drops::DropCounts;

TEST_CASE("drops: counted by stage and reason, zero counts left out, intentional apart from errors") {
  DropCounts d;
  CHECK(d.empty());
  d.add({"opt_out", "events", true}, 2);
  d.add({"receive.bad_frames", "bad_magic", false});
  d.add({"receive.bad_frames", "bad_magic", false}, 2);
  d.add({"privacy", "no_key", false}, 0);
  CHECK_FALSE(d.empty());
  CHECK(d.total() == 5);
  CHECK(d.errors() == 3);
  CHECK(d.count("receive.bad_frames", "bad_magic") == 3);
  CHECK(d.count("privacy", "no_key") == 0);
  CHECK(d.by_reason() == std::map<std::string, std::uint64_t>{{"opt_out.events", 2}, {"receive.bad_frames.bad_magic", 3}});

  DropCounts more;
  more.add({"opt_out", "events", true}, 1);
  more.add({"journal", "undecodable", false}, 4);
  d.add(more);
  CHECK(d.by_reason() ==
        std::map<std::string, std::uint64_t>{{"journal.undecodable", 4}, {"opt_out.events", 3}, {"receive.bad_frames.bad_magic", 3}});
  CHECK(d.errors() == 7);
}
