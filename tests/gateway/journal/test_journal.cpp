// The journal without sockets: the dedup index of held sequence numbers, journal records (golden bytes,
// hostile input) and the journal itself (reopen, torn tail, full, consume, its directory lock).
#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "gateway/journal/held_seqs.h"
#include "gateway/journal/journal.h"
#include "gateway/journal/journal_record.h"
#include "tests/support/gateway_harness.h"

using namespace footfall;
using namespace footfall::gateway;
using footfall::gateway::testing::TempDir;

TEST_CASE("held seqs: cumulative point, ranges, merging and acks") {
  HeldSeqs h;
  CHECK(h.insert(2));
  CHECK(h.insert(5));
  CHECK(h.cumulative() == 0);
  CHECK(h.to_ack() == wire::Ack{0, {{2, 2}, {5, 5}}});
  CHECK(h.insert(1));
  CHECK(h.cumulative() == 2);
  CHECK(h.insert(4));
  CHECK(h.to_ack() == wire::Ack{2, {{4, 5}}});
  CHECK_FALSE(h.insert(4));
  CHECK(h.contains(5));
  CHECK_FALSE(h.contains(3));
  CHECK(h.insert(3));
  CHECK(h.cumulative() == 5);
  CHECK(h.ranges().empty());
  // More gaps than an Ack carries: the newest ranges are kept.
  HeldSeqs many;
  for (std::uint64_t s = 2; s <= 200; s += 2) many.insert(s);
  const auto ack = many.to_ack();
  CHECK(ack.ranges.size() == wire::kMaxAckRanges);
  CHECK(ack.ranges.back() == wire::SeqRange{200, 200});
  CHECK(ack.covers(200));
  HeldSeqs restored;
  CHECK_FALSE(restored.restore(3, {{4, 6}}));  // adjacent to the cumulative point
  CHECK(restored.restore(3, {{5, 6}}));
  CHECK(restored.contains(6));
  CHECK_FALSE(restored.contains(4));
}

TEST_CASE("journal record: golden bytes and hostile input; version 1 records read as spool 0") {
  JournalRecordMeta meta;
  meta.probe_id = "ab";
  meta.spool_id = 0x1122334455667788ull;
  meta.probe_seq = 0x0102;
  meta.received_ns = 5;
  meta.clock_offset_ns = -1;
  meta.correction_ns = 0;
  meta.offset_known = true;
  const std::vector<std::uint8_t> frame{0xaa, 0xbb};
  std::vector<std::uint8_t> out;
  encode_journal_record(meta, frame, out);
  const std::vector<std::uint8_t> golden{
      0x02, 0x02, 'a', 'b',                                           // version, id
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,                 // spool
      0x02, 0x01, 0, 0, 0, 0, 0, 0,                                   // probe seq
      0x05, 0, 0, 0, 0, 0, 0, 0,                                      // received
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                 // offset -1
      0, 0, 0, 0, 0, 0, 0, 0,                                         // correction
      0x01,                                                           // flags: offset known
      0x02, 0, 0, 0, 0xaa, 0xbb};                                     // frame
  CHECK(out == golden);
  const auto view = decode_journal_record(out);
  REQUIRE(view);
  CHECK(view->meta.probe_id == "ab");
  CHECK(view->meta.spool_id == 0x1122334455667788ull);
  CHECK(view->meta.probe_seq == 0x0102);
  CHECK(view->meta.clock_offset_ns == -1);
  CHECK(view->meta.offset_known);
  CHECK_FALSE(view->meta.replay);
  CHECK(std::vector<std::uint8_t>(view->frame.begin(), view->frame.end()) == frame);
  for (std::size_t cut = 0; cut < out.size(); ++cut)
    CHECK_FALSE(decode_journal_record(std::span<const std::uint8_t>(out).first(cut)));
  auto longer = out;
  longer.push_back(0);
  CHECK_FALSE(decode_journal_record(longer));
  auto bad_flags = out;
  bad_flags[44] = 0x80;
  CHECK_FALSE(decode_journal_record(bad_flags));
  auto unknown_version = out;
  unknown_version[0] = 3;
  CHECK_FALSE(decode_journal_record(unknown_version));

  // A record written before spool identities: no spool field, read as spool 0.
  std::vector<std::uint8_t> v1 = golden;
  v1[0] = 0x01;
  v1.erase(v1.begin() + 4, v1.begin() + 12);
  const auto old = decode_journal_record(v1);
  REQUIRE(old);
  CHECK(old->meta.spool_id == 0);
  CHECK(old->meta.probe_seq == 0x0102);
  CHECK(std::vector<std::uint8_t>(old->frame.begin(), old->frame.end()) == frame);
}

TEST_CASE("journal: stores, dedups, survives reopen and a torn tail, and locks its directory") {
  TempDir dir;
  JournalOptions options;
  options.dir = dir.path();
  options.max_bytes = 8u << 20;
  const std::vector<std::uint8_t> frame(300, 0x5a);
  auto meta = [](std::string id, std::uint64_t seq) {
    JournalRecordMeta m;
    m.probe_id = std::move(id);
    m.probe_seq = seq;
    return m;
  };
  {
    auto j = Journal::open(options);
    REQUIRE(j.journal);
    CHECK_FALSE(Journal::open(options).journal);  // second opener refused
    CHECK(j.journal->store(meta("a", 1), frame) == StoreOutcome::stored);
    CHECK(j.journal->store(meta("a", 3), frame) == StoreOutcome::stored);
    CHECK(j.journal->store(meta("b", 1), frame) == StoreOutcome::stored);
    CHECK(j.journal->store(meta("a", 1), frame) == StoreOutcome::duplicate);
    CHECK(j.journal->durable_through("a", 0) == 0);  // not before a commit
    CHECK(j.journal->needs_commit());
    REQUIRE_FALSE(j.journal->commit());
    CHECK(j.journal->durable_through("a", 0) == 1);
    CHECK(j.journal->ack_for("a", 0) == wire::Ack{1, {{3, 3}}});
  }
  // A crash mid-append leaves half a record: cut off on open, the rest kept.
  std::filesystem::path segment;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path()))
    if (f.path().extension() == ".spool") segment = f.path();
  REQUIRE_FALSE(segment.empty());
  {
    std::ofstream out(segment, std::ios::binary | std::ios::app);
    const char torn[] = "FSR1\x40\x01\x00\x00half";
    out.write(torn, sizeof torn - 1);
  }
  auto j = Journal::open(options);
  REQUIRE(j.journal);
  CHECK(j.journal->stats().torn_records == 1);
  CHECK(j.journal->durable_through("a", 0) == 1);
  CHECK(j.journal->holds("a", 0, 3));
  CHECK(j.journal->holds("b", 0, 1));
  CHECK_FALSE(j.journal->holds("b", 0, 2));
  JournalEntry e;
  std::vector<std::pair<std::string, std::uint64_t>> seen;
  std::uint64_t after = 0;
  while (const auto s = j.journal->read_next(after, e)) {
    seen.emplace_back(e.meta.probe_id, e.meta.probe_seq);
    after = *s;
  }
  CHECK(seen == std::vector<std::pair<std::string, std::uint64_t>>{{"a", 1}, {"a", 3}, {"b", 1}});
  CHECK(j.journal->store(meta("a", 2), frame) == StoreOutcome::stored);
  REQUIRE_FALSE(j.journal->commit());
  CHECK(j.journal->durable_through("a", 0) == 3);
  CHECK(j.journal->stats().last_journal_seq == 4);
}

TEST_CASE("journal: each spool of a probe has a sequence space of its own, kept through a trim and a reopen") {
  TempDir dir;
  JournalOptions options;
  options.dir = dir.path();
  options.max_bytes = 8u << 20;
  const std::vector<std::uint8_t> frame(300, 0x5a);
  constexpr std::uint64_t kOld = 0x00000000000000aaull;
  constexpr std::uint64_t kNew = 0xfedcba9876543210ull;
  auto meta = [](std::uint64_t spool, std::uint64_t seq) {
    JournalRecordMeta m;
    m.probe_id = "a";
    m.spool_id = spool;
    m.probe_seq = seq;
    return m;
  };
  {
    auto j = Journal::open(options);
    REQUIRE(j.journal);
    CHECK(j.journal->begin_spool("a", kOld));
    CHECK_FALSE(j.journal->begin_spool("a", kOld));  // known: a reconnect of the same spool
    for (std::uint64_t seq = 1; seq <= 5; ++seq) CHECK(j.journal->store(meta(kOld, seq), frame) == StoreOutcome::stored);
    REQUIRE_FALSE(j.journal->commit());
    CHECK(j.journal->durable_through("a", kOld) == 5);

    // A replaced card: the new spool numbers from 1 again, and nothing of it is taken for the old one's.
    CHECK(j.journal->begin_spool("a", kNew));
    CHECK(j.journal->spools_of("a") == 2);
    CHECK(j.journal->latest_spool("a") == kNew);
    CHECK(j.journal->durable_through("a", kNew) == 0);
    CHECK(j.journal->store(meta(kNew, 1), frame) == StoreOutcome::stored);
    CHECK(j.journal->store(meta(kNew, 2), frame) == StoreOutcome::stored);
    CHECK(j.journal->store(meta(kOld, 2), frame) == StoreOutcome::duplicate);
    REQUIRE_FALSE(j.journal->commit());
    CHECK(j.journal->durable_through("a", kNew) == 2);
    CHECK(j.journal->durable_through("a", kOld) == 5);
    CHECK(j.journal->ack_for("a", kNew) == wire::Ack{2, {}});
    CHECK(j.journal->stats().spools_new == 2);
    // The old spool's first three are published and trimmed: the snapshot must remember them per spool.
    REQUIRE_FALSE(j.journal->consume_through(3));
  }
  const auto snapshot = nlohmann::json::parse(std::ifstream(dir.path() / "held.json"));
  CHECK(snapshot.at("format") == 2);
  CHECK(snapshot.at("probes").at("a").size() == 2);
  {
    auto j = Journal::open(options);
    REQUIRE(j.journal);
    CHECK(j.journal->durable_through("a", kOld) == 5);
    CHECK(j.journal->durable_through("a", kNew) == 2);
    CHECK(j.journal->holds("a", kOld, 1));  // trimmed, remembered by the snapshot
    CHECK_FALSE(j.journal->holds("a", kNew, 3));
    CHECK(j.journal->latest_spool("a") == kNew);
    CHECK_FALSE(j.journal->begin_spool("a", kNew));
    JournalEntry e;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
    std::uint64_t after = 0;
    while (const auto s = j.journal->read_next(after, e)) {
      seen.emplace_back(e.meta.spool_id, e.meta.probe_seq);
      after = *s;
    }
    // Both spools' batches are there to publish: the old spool's 4 and 5, the new one's 1 and 2.
    CHECK(seen == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{kOld, 4}, {kOld, 5}, {kNew, 1}, {kNew, 2}});
  }
}

TEST_CASE("journal: a dedup snapshot of before spool identities reads as spool 0; spaces beyond the bound go") {
  TempDir dir;
  {
    std::ofstream out(dir.path() / "held.json");
    out << R"({"next_journal_seq": 40, "probes": {"a": {"cumulative": 30, "ranges": [[33, 35]]}}})";
  }
  JournalOptions options;
  options.dir = dir.path();
  auto j = Journal::open(options);
  REQUIRE(j.journal);
  CHECK(j.journal->durable_through("a", 0) == 30);
  CHECK(j.journal->holds("a", 0, 34));
  CHECK_FALSE(j.journal->holds("a", 0, 31));
  CHECK(j.journal->durable_through("a", 7) == 0);

  // Spools 1..kMaxSpoolsPerProbe beside spool 0: the least recently used (spool 0) is forgotten, then spool 1.
  for (std::uint64_t spool = 1; spool <= kMaxSpoolsPerProbe; ++spool) CHECK(j.journal->begin_spool("a", spool));
  CHECK(j.journal->spools_of("a") == kMaxSpoolsPerProbe);
  CHECK(j.journal->stats().spools_forgotten == 1);
  CHECK(j.journal->durable_through("a", 0) == 0);
  CHECK_FALSE(j.journal->begin_spool("a", 1));  // used again: now the most recent
  CHECK(j.journal->begin_spool("a", 100));
  CHECK(j.journal->stats().spools_forgotten == 2);
  CHECK_FALSE(j.journal->begin_spool("a", 1));
  CHECK(j.journal->begin_spool("a", 2));  // spool 2 was the one forgotten for 100
}
