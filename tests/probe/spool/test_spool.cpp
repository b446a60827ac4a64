#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/file_text.h"
#include "probe/spool/spool.h"
#include "tests/support/scratch.h"

using namespace footfall::probe::spool;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

using footfall::testing::TempDir;

// Deterministic content per seq, of varying length, so a mix-up between records shows.
Bytes payload_for(std::uint64_t seq, std::size_t base = 50) {
  Bytes b(base + seq % 37);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seq * 31 + i);
  return b;
}

std::unique_ptr<Spool> open_ok(const fs::path& dir, SpoolLimits limits = {}, FsyncPolicy fsync = {FsyncMode::never, 1, 0}) {
  OpenResult r = Spool::open(dir, limits, fsync);
  REQUIRE_MESSAGE(r.spool, r.error.message());
  return std::move(r.spool);
}

std::vector<std::uint64_t> unacked_seqs(Spool& spool, bool check_payloads = true) {
  std::vector<std::uint64_t> seqs;
  Bytes payload;
  std::uint64_t after = 0;
  for (;;) {
    const ReadResult r = spool.read_next_unacked(after, payload);
    REQUIRE_MESSAGE(!r.error, r.error.message());
    if (!r.seq) break;
    if (check_payloads) CHECK(payload == payload_for(*r.seq));
    seqs.push_back(*r.seq);
    after = *r.seq;
  }
  return seqs;
}

std::vector<fs::path> segment_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().starts_with("seg-")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

void append_range(Spool& spool, std::uint64_t first, std::uint64_t last, std::size_t base = 50) {
  for (std::uint64_t s = first; s <= last; ++s) {
    const SpoolError e = spool.append(s, payload_for(s, base), 0);
    REQUIRE_MESSAGE(!e, e.message());
  }
}

}  // namespace

TEST_CASE("append, ack and reopen") {
  TempDir dir;
  {
    auto spool = open_ok(dir.path());
    append_range(*spool, 1, 10);
    CHECK(spool->depth().unacked_records == 10);
    CHECK(spool->last_seq() == 10);
    CHECK(spool->ack(3));
    CHECK_FALSE(spool->ack(3));   // already acked
    CHECK_FALSE(spool->ack(99));  // never spooled
    CHECK(spool->acked_watermark() == 0);
    spool->ack_through(5);
    CHECK(spool->acked_watermark() == 5);
    CHECK(spool->ack(8));
    CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{6, 7, 9, 10});
    CHECK(spool->depth().unacked_records == 4);
    const auto e = spool->append(10, payload_for(10), 0);
    CHECK(e.code == SpoolErrc::seq_not_increasing);
  }
  auto spool = open_ok(dir.path());
  // The cumulative watermark survives; the selective ack of 8 does not (a resend is harmless).
  CHECK(spool->acked_watermark() == 5);
  CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{6, 7, 8, 9, 10});
  CHECK(spool->last_seq() == 10);
  CHECK(spool->depth().torn_records == 0);
  append_range(*spool, 11, 11);
  spool->ack_through(11);
  CHECK(spool->depth().unacked_records == 0);
  CHECK(segment_files(dir.path()).empty());
  CHECK(spool->depth().disk_bytes == 0);
}

TEST_CASE("a segment file is deleted once all its records are acked") {
  TempDir dir;
  SpoolLimits limits;
  limits.segment_bytes = 300;
  limits.max_total_bytes = 100000;
  limits.max_record_bytes = 200;
  auto spool = open_ok(dir.path(), limits);
  append_range(*spool, 1, 6, 100);  // 100..136-byte payloads: two records per segment
  REQUIRE(segment_files(dir.path()).size() == 3);
  CHECK(spool->ack(2));
  CHECK(segment_files(dir.path()).size() == 3);
  CHECK(spool->ack(1));
  CHECK(segment_files(dir.path()).size() == 2);
  CHECK(spool->ack(6));
  CHECK(spool->ack(5));
  CHECK(segment_files(dir.path()).size() == 1);
  CHECK(unacked_seqs(*spool, false) == std::vector<std::uint64_t>{3, 4});
}

TEST_CASE("a torn last record is cut off on open; everything before it is kept") {
  TempDir dir;
  {
    auto spool = open_ok(dir.path());
    append_range(*spool, 1, 5);
  }
  const auto files = segment_files(dir.path());
  REQUIRE(files.size() == 1);
  const auto full = fs::file_size(files[0]);
  const std::uint64_t last_record = kRecordHeaderBytes + payload_for(5).size();
  fs::resize_file(files[0], full - 7);  // crash in the middle of writing record 5

  auto spool = open_ok(dir.path());
  CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(spool->depth().torn_records == 1);
  CHECK(spool->depth().torn_bytes == last_record - 7);
  CHECK(fs::file_size(files[0]) == full - last_record);
  CHECK(spool->last_seq() == 4);
  append_range(*spool, 5, 6);  // the lost seq can be written again
  CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});

  SUBCASE("a header cut short is torn too") {
    spool.reset();
    const auto size = fs::file_size(files[0]);
    fs::resize_file(files[0], size - payload_for(6).size() - 10);
    auto again = open_ok(dir.path());
    CHECK(unacked_seqs(*again) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
    CHECK(again->depth().torn_records == 1);
  }
}

TEST_CASE("CRC corruption: in the middle it is skipped, at the end it is cut") {
  TempDir dir;
  {
    auto spool = open_ok(dir.path());
    append_range(*spool, 1, 5);
  }
  const auto file = segment_files(dir.path()).at(0);
  auto flip = [&](std::uint64_t offset) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  };
  std::uint64_t offset_of_3 = kSegmentHeaderBytes;
  for (std::uint64_t s = 1; s < 3; ++s) offset_of_3 += kRecordHeaderBytes + payload_for(s).size();

  SUBCASE("middle record") {
    flip(offset_of_3 + kRecordHeaderBytes + 10);  // a payload byte of record 3
    auto spool = open_ok(dir.path());
    CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{1, 2, 4, 5});
    CHECK(spool->depth().corrupt_records == 1);
    CHECK(spool->depth().corrupt_bytes == kRecordHeaderBytes + payload_for(3).size());
    CHECK(spool->depth().torn_records == 0);
  }
  SUBCASE("length field of a middle record") {
    flip(offset_of_3 + 5);
    auto spool = open_ok(dir.path());
    CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{1, 2, 4, 5});
    CHECK(spool->depth().corrupt_records == 1);
  }
  SUBCASE("last record") {
    flip(fs::file_size(file) - 3);
    auto spool = open_ok(dir.path());
    CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{1, 2, 3, 4});
    CHECK(spool->depth().torn_records == 1);
    CHECK(spool->depth().corrupt_records == 0);
  }
  SUBCASE("rot after open is caught when the record is read") {
    auto spool = open_ok(dir.path());
    flip(offset_of_3 + kRecordHeaderBytes + 1);
    CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{1, 2, 4, 5});
    CHECK(spool->depth().corrupt_records == 1);
    CHECK(spool->depth().unacked_records == 4);
  }
}

TEST_CASE("a full spool drops the oldest segment and counts it, or refuses by policy") {
  TempDir dir;
  SpoolLimits limits;
  constexpr std::uint64_t record = kRecordHeaderBytes + 100;
  constexpr std::uint64_t segment = kSegmentHeaderBytes + 2 * record;
  limits.segment_bytes = segment;
  limits.max_total_bytes = 4 * segment + 50;
  limits.max_record_bytes = 100;
  auto fixed = [](std::uint64_t seq) { return Bytes(100, static_cast<std::uint8_t>(seq)); };
  // Each record is 136 bytes: two per segment (8 + 272), four segments fit, not five.

  SUBCASE("drop_oldest") {
    auto spool = open_ok(dir.path(), limits);
    for (std::uint64_t s = 1; s <= 8; ++s) REQUIRE(!spool->append(s, fixed(s), 0));
    CHECK(spool->depth().full_drop_records == 0);
    CHECK(spool->depth().disk_bytes == 4 * segment);
    REQUIRE(!spool->append(9, fixed(9), 0));  // needs a fifth segment: segment {1, 2} goes
    REQUIRE(!spool->append(10, fixed(10), 0));
    CHECK(spool->depth().full_drop_records == 2);
    CHECK(spool->depth().full_drop_bytes == 200);
    CHECK(spool->depth().disk_bytes <= limits.max_total_bytes);
    CHECK(spool->depth().unacked_records == 8);
    Bytes payload;
    const ReadResult r = spool->read_next_unacked(0, payload);
    REQUIRE(r.seq);
    CHECK(*r.seq == 3);
    CHECK(payload == fixed(3));
    // Acked records in a dropped segment are not counted as lost.
    CHECK(spool->ack(3));
    REQUIRE(!spool->append(11, fixed(11), 0));
    REQUIRE(!spool->append(12, fixed(12), 0));
    CHECK(spool->depth().full_drop_records == 3);
    CHECK(spool->depth().full_drop_bytes == 300);
  }
  SUBCASE("reject_newest") {
    limits.full_policy = FullPolicy::reject_newest;
    auto spool = open_ok(dir.path(), limits);
    for (std::uint64_t s = 1; s <= 8; ++s) REQUIRE(!spool->append(s, fixed(s), 0));
    CHECK(spool->append(9, fixed(9), 0).code == SpoolErrc::spool_full);
    CHECK(spool->depth().full_rejects == 1);
    CHECK(spool->depth().unacked_records == 8);
    spool->ack_through(2);
    CHECK(!spool->append(9, fixed(9), 0));
  }
  SUBCASE("a record above the limit is refused") {
    auto spool = open_ok(dir.path(), limits);
    CHECK(spool->append(1, Bytes(101, 0), 0).code == SpoolErrc::record_too_large);
  }
}

TEST_CASE("open and append report clear errors") {
  TempDir dir;
  SpoolLimits bad;
  bad.segment_bytes = 10;
  OpenResult r = Spool::open(dir.path(), bad, {});
  CHECK(!r.spool);
  CHECK(r.error.code == SpoolErrc::invalid_limits);

  const fs::path file = dir.path() / "plain-file";
  std::ofstream(file) << "x";
  r = Spool::open(file / "spool", {}, {});
  CHECK(r.error.code == SpoolErrc::cannot_create_dir);
  CHECK(r.error.message().find("cannot_create_dir") != std::string::npos);
  CHECK(r.error.message().find("plain-file") != std::string::npos);

  // A device that is always full stands in for a full flash.
  auto spool = open_ok(dir.path() / "spool");
  fs::create_symlink("/dev/full", dir.path() / "spool" / "seg-00000000000000000001.spool");
  const SpoolError e = spool->append(1, payload_for(1), 0);
  CHECK(e.code == SpoolErrc::disk_full);
  CHECK(spool->depth().unacked_records == 0);
  CHECK(!spool->append(1, payload_for(1), 0));  // once space is back, the same seq goes in
  CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{1});
}

TEST_CASE("fsync policy: always, group commit by count and by time, never") {
  TempDir dir;
  SUBCASE("always") {
    auto spool = open_ok(dir.path(), {}, {FsyncMode::always, 0, 0});
    append_range(*spool, 1, 3);
    CHECK(spool->depth().syncs == 3);
  }
  SUBCASE("group by count") {
    auto spool = open_ok(dir.path(), {}, {FsyncMode::group, 4, 1'000'000'000'000});
    append_range(*spool, 1, 9);
    CHECK(spool->depth().syncs == 2);
  }
  SUBCASE("group by time, on the caller's clock") {
    auto spool = open_ok(dir.path(), {}, {FsyncMode::group, 1000, 1000});
    REQUIRE(!spool->append(1, payload_for(1), 10));
    CHECK(spool->depth().syncs == 0);
    REQUIRE(!spool->sync_if_due(1009));
    CHECK(spool->depth().syncs == 0);
    REQUIRE(!spool->sync_if_due(1010));
    CHECK(spool->depth().syncs == 1);
    REQUIRE(!spool->sync_if_due(5000));  // nothing new to sync
    CHECK(spool->depth().syncs == 1);
    REQUIRE(!spool->append(2, payload_for(2), 2500));
    REQUIRE(!spool->append(3, payload_for(3), 3499));
    CHECK(spool->depth().syncs == 1);
    REQUIRE(!spool->append(4, payload_for(4), 3500));  // record 2 has waited the whole window
    CHECK(spool->depth().syncs == 2);
  }
  SUBCASE("never") {
    auto spool = open_ok(dir.path(), {}, {FsyncMode::never, 1, 0});
    append_range(*spool, 1, 5);
    CHECK(spool->depth().syncs == 0);
  }
}

TEST_CASE("kill -9 while appending leaves a valid prefix") {
  TempDir dir;
  SpoolLimits limits;
  limits.segment_bytes = 4096;  // many segment rolls during the run
  limits.max_total_bytes = 64ull << 20;
  int progress[2];
  REQUIRE(::pipe(progress) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(progress[0]);
    OpenResult r = Spool::open(dir.path(), limits, {FsyncMode::never, 1, 0});
    if (!r.spool) ::_exit(2);
    for (std::uint64_t s = 1; s < 2'000'000; ++s) {  // bounded in case the parent is gone
      if (r.spool->append(s, payload_for(s), 0)) ::_exit(3);
      if (s % 200 == 0 && ::write(progress[1], "x", 1) != 1) ::_exit(4);
    }
    ::_exit(0);
  }
  ::close(progress[1]);
  // Blocking reads, not sleeps: wait until the child has written at least 1000 records.
  char buf[5];
  std::size_t got = 0;
  while (got < sizeof buf) {
    const ssize_t n = ::read(progress[0], buf + got, sizeof buf - got);
    REQUIRE(n > 0);
    got += static_cast<std::size_t>(n);
  }
  REQUIRE(::kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  ::close(progress[0]);
  CHECK(WIFSIGNALED(status));

  auto spool = open_ok(dir.path(), limits);
  const auto seqs = unacked_seqs(*spool);  // also checks every payload
  REQUIRE(seqs.size() >= 1000);
  for (std::size_t i = 0; i < seqs.size(); ++i) REQUIRE(seqs[i] == i + 1);
  CHECK(spool->depth().corrupt_records == 0);
  CHECK(spool->last_seq() == seqs.back());
  MESSAGE("child killed after " << seqs.size() << " records; torn tails cut: " << spool->depth().torn_records);
  CHECK(!spool->append(seqs.back() + 1, payload_for(seqs.back() + 1), 0));
}

TEST_CASE("each record keeps its source position; the newest survives the record's ack and a reopen") {
  TempDir dir;
  const std::uint64_t source = 0xABCDEF;
  {
    auto spool = open_ok(dir.path());
    CHECK(!spool->newest_record());
    for (std::uint64_t s = 1; s <= 5; ++s) REQUIRE(!spool->append(s, payload_for(s), 0, {source, s * 100}));
    REQUIRE(spool->newest_record());
    CHECK(spool->newest_record()->seq == 5);
    CHECK(spool->newest_record()->position == SourcePosition{source, 500});
  }
  {
    // kill -9 or power loss after the records reached the disk: the records carry their positions.
    auto spool = open_ok(dir.path());
    REQUIRE(spool->newest_record());
    CHECK(spool->newest_record()->seq == 5);
    CHECK(spool->newest_record()->position == SourcePosition{source, 500});
    // Everything acked: the segment file goes, the watermark file remembers the newest acked record.
    spool->ack_through(5);
    CHECK(segment_files(dir.path()).empty());
  }
  {
    auto spool = open_ok(dir.path());
    REQUIRE(spool->newest_record());
    CHECK(spool->newest_record()->seq == 5);
    CHECK(spool->newest_record()->position == SourcePosition{source, 500});
    CHECK(spool->last_seq() == 5);
    // A selective ack above an unacked record is remembered too.
    REQUIRE(!spool->append(6, payload_for(6), 0, {source, 600}));
    REQUIRE(!spool->append(7, payload_for(7), 0, {source, 700}));
    CHECK(spool->ack(7));
  }
  {
    auto spool = open_ok(dir.path());
    REQUIRE(spool->newest_record());
    CHECK(spool->newest_record()->seq == 7);
    CHECK(spool->newest_record()->position == SourcePosition{source, 700});
    // The selective ack itself is not kept (7 is sent again, harmless): only its position is.
    CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{6, 7});
  }
}

TEST_CASE("format 1 segments and watermark files are still read; new records go to a format 2 segment") {
  TempDir dir;
  // A format 1 segment with records 3 and 4 (20-byte headers, CRC-32C of length, seq and payload), and a
  // format 1 watermark file saying 2.
  const auto le = [](Bytes& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  };
  const auto crc = [](const Bytes& b, std::size_t from, std::size_t to) {
    // Bitwise CRC-32C: independent of the implementation under test.
    std::uint32_t c = 0xFFFFFFFF;
    for (std::size_t i = from; i < to; ++i) {
      c ^= b[i];
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
  };
  Bytes seg{'F', 'F', 'S', 'P', 'O', 'O', 'L', 1};
  for (std::uint64_t s = 3; s <= 4; ++s) {
    const Bytes p = payload_for(s);
    Bytes rec;
    le(rec, kRecordMagicV1, 4);
    le(rec, p.size(), 4);
    le(rec, s, 8);
    Bytes covered(rec.begin() + 4, rec.end());
    covered.insert(covered.end(), p.begin(), p.end());
    le(rec, crc(covered, 0, covered.size()), 4);
    rec.insert(rec.end(), p.begin(), p.end());
    seg.insert(seg.end(), rec.begin(), rec.end());
  }
  std::ofstream(dir.path() / "seg-00000000000000000003.spool", std::ios::binary)
      .write(reinterpret_cast<const char*>(seg.data()), static_cast<std::streamsize>(seg.size()));
  Bytes mark;
  le(mark, 2, 8);
  le(mark, crc(mark, 0, 8), 4);
  le(mark, 0, 4);
  mark.insert(mark.end(), mark.begin(), mark.end());  // both slots
  std::ofstream(dir.path() / "acked", std::ios::binary)
      .write(reinterpret_cast<const char*>(mark.data()), static_cast<std::streamsize>(mark.size()));

  auto spool = open_ok(dir.path());
  CHECK(spool->acked_watermark() == 2);
  CHECK(spool->depth().torn_records == 0);
  CHECK(spool->depth().corrupt_records == 0);
  CHECK(unacked_seqs(*spool) == std::vector<std::uint64_t>{3, 4});
  REQUIRE(spool->newest_record());
  CHECK(spool->newest_record()->position == SourcePosition{});  // format 1 records carry no position
  REQUIRE(!spool->append(5, payload_for(5), 0, {9, 9}));
  CHECK(segment_files(dir.path()).size() == 2);
  spool->ack_through(4);
  spool.reset();
  auto again = open_ok(dir.path());
  CHECK(again->acked_watermark() == 4);
  CHECK(unacked_seqs(*again) == std::vector<std::uint64_t>{5});
  CHECK(again->newest_record()->position == SourcePosition{9, 9});
}

TEST_CASE("spool identity: made random with a new spool and kept; a spool of before identities keeps 0") {
  TempDir dir;
  std::uint64_t first = 0;
  {
    auto spool = open_ok(dir.path() / "new");
    first = spool->identity();
    CHECK(first != 0);
    REQUIRE_FALSE(spool->append(1, payload_for(1), 0));
  }
  const fs::path file = dir.path() / "new" / std::string(kIdentityFile);
  CHECK(parse_identity(footfall::read_file(file).text) == first);
  CHECK(open_ok(dir.path() / "new")->identity() == first);  // kept across a restart

  // A wiped folder is a new spool: another identity, so the gateway starts a new sequence space for it.
  fs::remove_all(dir.path() / "new");
  const std::uint64_t second = open_ok(dir.path() / "new")->identity();
  CHECK(second != 0);
  CHECK(second != first);

  // A spool with records but no identity file was made before identities: 0, the probe's one space of before.
  {
    auto spool = open_ok(dir.path() / "old");
    REQUIRE_FALSE(spool->append(1, payload_for(1), 0));
  }
  fs::remove(dir.path() / "old" / std::string(kIdentityFile));
  CHECK(open_ok(dir.path() / "old")->identity() == 0);
  CHECK(open_ok(dir.path() / "old")->identity() == 0);  // and it is written down: decided once

  // An unreadable identity file on a spool with records: a new identity, said why.
  {
    std::ofstream(dir.path() / "old" / std::string(kIdentityFile)) << "not an identity\n";
  }
  auto rotted = open_ok(dir.path() / "old");
  CHECK(rotted->identity() != 0);
  CHECK_FALSE(rotted->identity_note().empty());
  const std::uint64_t before = rotted->identity();
  REQUIRE_FALSE(rotted->renew_identity());
  CHECK(rotted->identity() != before);
  CHECK(parse_identity(footfall::read_file(dir.path() / "old" / std::string(kIdentityFile)).text) == rotted->identity());
}

TEST_CASE("spool identity text: exactly 16 lowercase hex digits and a newline") {
  CHECK(format_identity(0x00ab00cd00ef0012ull) == "00ab00cd00ef0012");
  CHECK(parse_identity("00ab00cd00ef0012\n") == 0x00ab00cd00ef0012ull);
  CHECK(parse_identity("ffffffffffffffff\n") == 0xffffffffffffffffull);
  CHECK_FALSE(parse_identity("00ab00cd00ef0012"));
  CHECK_FALSE(parse_identity("00AB00CD00EF0012\n"));
  CHECK_FALSE(parse_identity("0ab00cd00ef0012\n"));
  CHECK_FALSE(parse_identity("00ab00cd00ef00123\n"));
  CHECK_FALSE(parse_identity(""));
}
