// The hello check: ids, tokens and versions a probe's hello must carry.
#include <doctest/doctest.h>

#include "gateway/receive/hello_check.h"

using namespace footfall;
using namespace footfall::gateway;

TEST_CASE("hello check") {
  const std::vector<ProbeAccount> probes{{"entrance", "s3cret", "e"}};
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}).accepted());
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}).account == &probes[0]);
  CHECK(check_hello(probes, {"entrance", "s3cre", "1", 0}).refusal == wire::RefuseReason::bad_token);
  CHECK(check_hello(probes, {"entrance", "s3cret!", "1", 0}).refusal == wire::RefuseReason::bad_token);
  CHECK(check_hello(probes, {"entrance", "", "1", 0}).refusal == wire::RefuseReason::bad_token);
  CHECK(check_hello(probes, {"exit", "s3cret", "1", 0}).refusal == wire::RefuseReason::unknown_probe);
  // A client certificate bound to probes: its name must be the Hello's probe id.
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}, "entrance").accepted());
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}, "lobby").refusal == wire::RefuseReason::certificate_mismatch);
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}, "").refusal == wire::RefuseReason::certificate_mismatch);
  CHECK(check_hello(probes, {"entrance", "s3cret", "1", 0}, "entrance ").refusal ==
        wire::RefuseReason::certificate_mismatch);
  CHECK(check_hello(probes, {"entrance", "bad", "1", 0}, "lobby").refusal == wire::RefuseReason::bad_token);
  CHECK(check_hello(probes, {"exit", "s3cret", "1", 0}, "lobby").refusal == wire::RefuseReason::unknown_probe);
}
