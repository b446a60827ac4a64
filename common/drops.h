#pragma once
// One typed drop for every stage: where data was dropped (stage), why (reason), and whether by policy
// (intentional: an opt-out, a refused probe, a full spool's policy) or lost to an error (a bad frame, a record
// that no longer decodes). Counted here; "stage.reason" -> count (the drops_by_reason object of the health
// payloads) is made here only.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace footfall::drops {

struct Drop {
  std::string stage;   // "receive.bad_frames", "opt_out", "probe.entrance"
  std::string reason;  // "bad_magic", "events", "capture_drops"
  bool intentional = false;
};

class DropCounts {
 public:
  // Counts n drops of one kind; n == 0 counts nothing (an empty DropCounts means nothing was dropped).
  void add(const Drop& drop, std::uint64_t n = 1);
  // Every drop of `other` as well.
  void add(const DropCounts& other);

  [[nodiscard]] bool empty() const { return counts_.empty(); }
  [[nodiscard]] std::uint64_t total() const;
  [[nodiscard]] std::uint64_t errors() const;  // not intentional
  [[nodiscard]] std::uint64_t count(std::string_view stage, std::string_view reason) const;
  // "stage.reason" -> count, for the health payloads and the log.
  [[nodiscard]] std::map<std::string, std::uint64_t> by_reason() const;

 private:
  struct Tally {
    std::uint64_t n = 0;
    bool intentional = false;
  };
  std::map<std::pair<std::string, std::string>, Tally, std::less<>> counts_;  // (stage, reason)
};

}  // namespace footfall::drops
