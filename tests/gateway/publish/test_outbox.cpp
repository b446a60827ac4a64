#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "gateway/publish/outbox.h"
#include "tests/support/mosquitto_broker.h"

using namespace footfall::gateway::publish;
using footfall::segment_log::FsyncMode;
using footfall::segment_log::FsyncPolicy;

TEST_CASE("outbox keeps topic and payload, hands them out in order and forgets only acked ones across a reopen") {
  footfall::test::TempDir tmp;
  const auto dir = tmp.path() / "outbox";
  std::uint64_t epoch = 0;
  {
    auto o = Outbox::open(dir, {}, {FsyncMode::always, 1, 0}, 1714557600123);
    REQUIRE_MESSAGE(o.outbox, o.error);
    epoch = o.outbox->epoch();
    CHECK(epoch == 1714557600);
    CHECK(o.outbox->next_seq() == 1);
    CHECK_FALSE(o.outbox->append(1, "footfall/v1/t/s/visits", R"({"n":1})", 0));
    CHECK_FALSE(o.outbox->append(2, "footfall/v1/t/s/presence", R"({"n":2})", 0));
    CHECK_FALSE(o.outbox->append(3, "footfall/v1/t/s/visits", R"({"n":3})", 0));
    CHECK(o.outbox->next_seq() == 4);

    OutboxItem item;
    OutboxError err;
    REQUIRE(o.outbox->read_next(0, item, err));
    CHECK(item.seq == 1);
    CHECK(item.topic == "footfall/v1/t/s/visits");
    CHECK(item.payload == R"({"n":1})");
    REQUIRE(o.outbox->read_next(1, item, err));
    CHECK(item.topic == "footfall/v1/t/s/presence");
    CHECK(o.outbox->ack(2));
    CHECK_FALSE(o.outbox->ack(2));
    CHECK(o.outbox->depth().unacked_records == 2);
  }
  auto o = Outbox::open(dir, {}, {FsyncMode::always, 1, 0}, 1800000000000);
  REQUIRE_MESSAGE(o.outbox, o.error);
  CHECK(o.outbox->epoch() == epoch);  // the stamp of the first open, not of this one
  CHECK(o.outbox->next_seq() == 4);
  OutboxItem item;
  OutboxError err;
  REQUIRE(o.outbox->read_next(0, item, err));
  CHECK(item.seq == 1);
  // An ack out of order lives in memory only (the log persists a cumulative watermark): batch 2 is sent
  // again after a restart, a duplicate the consumer drops by batch_id.
  REQUIRE(o.outbox->read_next(1, item, err));
  CHECK(item.seq == 2);
  CHECK(o.outbox->ack(1));
  CHECK(o.outbox->ack(2));
  REQUIRE(o.outbox->read_next(0, item, err));
  CHECK(item.seq == 3);
  CHECK(item.payload == R"({"n":3})");
  CHECK_FALSE(o.outbox->read_next(3, item, err));
  CHECK_FALSE(err);
}

TEST_CASE("a full outbox refuses the newest batch and keeps every stored one") {
  footfall::test::TempDir tmp;
  OutboxLimits limits;
  limits.max_total_bytes = 1024;
  limits.segment_bytes = 256;
  limits.max_record_bytes = 512;
  auto o = Outbox::open(tmp.path(), limits, {FsyncMode::never, 1, 0}, 1000);
  REQUIRE(o.outbox);
  const std::string payload(100, 'p');
  std::uint64_t seq = 1;
  OutboxError e;
  while (!(e = o.outbox->append(seq, "t/x", payload, 0))) ++seq;
  CHECK(e.code == OutboxErrc::full);
  const std::uint64_t stored = seq - 1;
  CHECK(stored >= 5);
  CHECK(o.outbox->next_seq() == seq);  // the refused seq is free for the retry
  CHECK(o.outbox->depth().unacked_records == stored);
  // Nothing was dropped for room: the outbox's depth has no such counter, full is only ever refused.
  CHECK(o.outbox->depth().disk_bytes <= limits.max_total_bytes);

  OutboxItem item;
  std::uint64_t after = 0, seen = 0;
  while (o.outbox->read_next(after, item, e)) {
    CHECK(item.seq == after + 1);
    after = item.seq;
    ++seen;
  }
  CHECK(seen == stored);
  // Acking the oldest segment makes room again.
  for (std::uint64_t s = 1; s <= stored; ++s) o.outbox->ack(s);
  CHECK_FALSE(o.outbox->append(seq, "t/x", payload, 0));
}

TEST_CASE("an unreadable epoch stamp is an error, not a silent reset") {
  footfall::test::TempDir tmp;
  std::ofstream(tmp.path() / "epoch") << "garbage";
  auto o = Outbox::open(tmp.path(), {}, {}, 1000);
  CHECK_FALSE(o.outbox);
  CHECK(o.error.find("epoch") != std::string::npos);
}
