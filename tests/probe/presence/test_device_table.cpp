#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <vector>

#include "probe/presence/device_table.h"

using footfall::probe::presence::DeviceTable;
using footfall::probe::presence::no_record;

namespace {
// Deterministic pseudo-random keys (64-bit LCG, top 48 bits).
struct KeyStream {
  std::uint64_t state;
  std::uint64_t next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 16;
  }
};

std::vector<std::uint64_t> heard_order(const DeviceTable& t) {
  std::vector<std::uint64_t> keys;
  for (auto pos = t.least_recent(); pos != no_record; pos = t.newer(pos)) keys.push_back(t.at(pos).key);
  return keys;
}
}  // namespace

TEST_CASE("device table finds what it holds and nothing else") {
  DeviceTable t(16);
  const auto a = t.insert(0x0011'2233'4455);
  const auto b = t.insert(0xdaa1'190b'2cff);
  CHECK(t.find(0x0011'2233'4455) == a);
  CHECK(t.find(0xdaa1'190b'2cff) == b);
  CHECK(t.find(0x0011'2233'4456) == no_record);
  CHECK(t.size() == 2);
  t.erase(a);
  CHECK(t.find(0x0011'2233'4455) == no_record);
  CHECK(t.find(0xdaa1'190b'2cff) == b);
  CHECK(t.size() == 1);
}

TEST_CASE("device table keeps records in the order they were last touched") {
  DeviceTable t(8);
  const auto a = t.insert(1);
  t.insert(2);
  const auto c = t.insert(3);
  t.touch(a);
  CHECK(heard_order(t) == std::vector<std::uint64_t>{2, 3, 1});
  t.erase(c);
  CHECK(heard_order(t) == std::vector<std::uint64_t>{2, 1});
  t.insert(4);  // reuses the freed record
  CHECK(heard_order(t) == std::vector<std::uint64_t>{2, 1, 4});
  CHECK(t.memory_bytes() == 3 * sizeof(footfall::probe::presence::DeviceRecord) + t.index_slots() * 4);
}

TEST_CASE("device table stays consistent under heavy churn and index growth") {
  // Many inserts and erases in a growing index exercise backward-shift deletion across long clusters.
  DeviceTable t(20'000);
  std::map<std::uint64_t, std::uint32_t> reference;
  KeyStream keys{42};
  std::vector<std::uint64_t> live;
  for (int round = 0; round < 60'000; ++round) {
    const bool remove = !live.empty() && (keys.next() % 3 == 0 || live.size() == 20'000);
    if (remove) {
      const std::size_t i = keys.next() % live.size();
      const std::uint64_t key = live[i];
      t.erase(reference.at(key));
      reference.erase(key);
      live[i] = live.back();
      live.pop_back();
    } else {
      // Sequential keys in one vendor block plus random ones: both clustered and spread inputs.
      const std::uint64_t key = round % 2 ? 0x001b'6300'0000ULL + static_cast<std::uint64_t>(round) : keys.next();
      if (reference.count(key)) continue;
      reference[key] = t.insert(key);
      live.push_back(key);
    }
  }
  REQUIRE(t.size() == reference.size());
  std::size_t misplaced = 0;
  for (const auto& [key, pos] : reference) misplaced += t.find(key) != pos;
  CHECK(misplaced == 0);
  std::size_t phantoms = 0;
  for (int probe = 0; probe < 1000; ++probe) {
    const std::uint64_t absent = keys.next() | (std::uint64_t{1} << 48);  // outside the 48-bit keys used
    phantoms += t.find(absent) != no_record;
  }
  CHECK(phantoms == 0);
  CHECK(heard_order(t).size() == reference.size());
  CHECK(t.index_slots() >= 2 * t.size());
}

TEST_CASE("device table rejects a capacity it cannot index") {
  CHECK_THROWS_AS(DeviceTable{0}, std::invalid_argument);
  CHECK_THROWS_AS(DeviceTable{DeviceTable::max_capacity + 1}, std::invalid_argument);
}
