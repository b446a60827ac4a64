#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "tests/support/scratch.h"
#include "common/byte_writer.h"
#include "common/segment_log/segment_log.h"
#include "common/wire/crc32c.h"

using namespace footfall::segment_log;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using footfall::testing::slurp;
using footfall::testing::TempDir;

namespace {

Bytes fixed(std::uint64_t seq, std::size_t n = 100) { return Bytes(n, static_cast<std::uint8_t>(seq)); }

std::unique_ptr<Log> open_log(const fs::path& dir, Limits limits = {}) {
  auto r = Log::open(dir, limits, {FsyncMode::never, 0, 0});
  REQUIRE_MESSAGE(r.log, r.error.message());
  return std::move(r.log);
}

}  // namespace

TEST_CASE("a full log refuses the newest record and drops nothing by itself") {
  TempDir dir("segment-log");
  constexpr std::uint64_t record = kRecordHeaderBytes + 100;
  Limits limits;
  limits.segment_bytes = kSegmentHeaderBytes + 2 * record;
  limits.max_total_bytes = 3 * limits.segment_bytes;
  limits.max_record_bytes = 100;
  auto log = open_log(dir.path(), limits);
  for (std::uint64_t s = 1; s <= 6; ++s) REQUIRE_FALSE(log->append(s, fixed(s), 0));
  const Error e = log->append(7, fixed(7), 0);
  CHECK(e.code == Errc::full);
  CHECK(log->depth().unacked_records == 6);
  CHECK(log->last_seq() == 6);  // the refused seq may be tried again

  // The owner makes room its own way: the oldest segment goes with its two unacked records.
  const Dropped dropped = log->drop_oldest_segment();
  CHECK(dropped.records == 2);
  CHECK(dropped.bytes == 200);
  CHECK(log->depth().unacked_records == 4);
  REQUIRE_FALSE(log->append(7, fixed(7), 0));
  Bytes payload;
  const ReadResult first = log->read_next_unacked(0, payload);
  REQUIRE(first.seq);
  CHECK(*first.seq == 3);
}

TEST_CASE("a record's tag comes back as the newest, and survives its ack and a reopen") {
  TempDir dir("segment-log");
  {
    auto log = open_log(dir.path());
    CHECK_FALSE(log->newest());
    REQUIRE_FALSE(log->append(1, fixed(1), 0, Tag{7, 100}));
    REQUIRE_FALSE(log->append(2, fixed(2), 0, Tag{7, 250}));
    REQUIRE(log->newest());
    CHECK(log->newest()->seq == 2);
    CHECK(log->newest()->tag == Tag{7, 250});
    log->ack_through(2);
    CHECK(log->depth().unacked_records == 0);
    REQUIRE_FALSE(log->sync());
  }
  auto log = open_log(dir.path());
  REQUIRE(log->newest());
  CHECK(log->newest()->seq == 2);
  CHECK(log->newest()->tag == Tag{7, 250});
  CHECK(log->last_seq() == 2);
}

TEST_CASE("the bytes on disk are the spool's format 2: segment header, then magic, length, seq, tag, crc, payload") {
  TempDir dir("segment-log");
  {
    auto log = open_log(dir.path());
    REQUIRE_FALSE(log->append(5, Bytes{0xAA, 0xBB}, 0, Tag{0x1122, 0x3344}));
  }
  const std::string file = slurp(dir.path() / "seg-00000000000000000005.spool");
  Bytes expected{'F', 'F', 'S', 'P', 'O', 'O', 'L', 2};
  footfall::ByteWriter w(expected);
  w.le32(0x32525346);  // "FSR2"
  w.le32(2);
  w.le64(5);
  w.le64(0x1122);
  w.le64(0x3344);
  Bytes covered(expected.begin() + kSegmentHeaderBytes + 4, expected.end());
  covered.push_back(0xAA);
  covered.push_back(0xBB);
  w.le32(footfall::wire::crc32c(covered));
  w.u8(0xAA);
  w.u8(0xBB);
  CHECK(Bytes(file.begin(), file.end()) == expected);
}
