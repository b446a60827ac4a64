#pragma once
// Devices whose owners asked not to be counted. The gateway drops their presence events and sightings
// before anything else (merge, journal consumers, publishing), and counts the drops.
//
// File format: one address per line ("aa:bb:cc:dd:ee:ff" or with '-'), any case; '#' starts a comment
// (whole line or after the address); blank lines are ignored. Any other content is an error naming the
// file and line. Only a fixed (globally administered) address can be opted out usefully: a phone that
// randomises its address is not recognisable from one visit to the next anyway.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/mac_address.h"

namespace footfall::gateway {

class OptOutList {
 public:
  OptOutList() = default;

  // A list, or one line naming the file (label) and line: "optout.txt:7: not a MAC address: 'zz'".
  static std::variant<OptOutList, std::string> parse(std::string_view text, std::string_view label);
  static std::variant<OptOutList, std::string> load(const std::filesystem::path& path);

  [[nodiscard]] bool contains(const MacAddress& mac) const;
  [[nodiscard]] std::size_t size() const { return sorted_.size(); }

 private:
  std::vector<std::uint64_t> sorted_;  // unique addresses, ascending: binary search, 8 bytes each
};

struct OptOutCounters {
  std::uint64_t checked = 0;
  std::uint64_t dropped = 0;
};

class OptOutFilter {
 public:
  explicit OptOutFilter(OptOutList list) : list_(std::move(list)) {}

  // False (and counted) when the device opted out: the caller drops the record.
  bool admit(const MacAddress& mac) {
    ++counters_.checked;
    if (!list_.contains(mac)) return true;
    ++counters_.dropped;
    return false;
  }
  // Swaps in a reloaded list; the counters carry on.
  void replace(OptOutList list) { list_ = std::move(list); }

  [[nodiscard]] const OptOutList& list() const { return list_; }
  [[nodiscard]] const OptOutCounters& counters() const { return counters_; }

 private:
  OptOutList list_;
  OptOutCounters counters_;
};

}  // namespace footfall::gateway
