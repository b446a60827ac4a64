#pragma once
// The capture the link tests replay, with its reference events, and the checks every fault scenario shares
// (used by tests/system/link/ on loopback and tests/system/netns/ across network namespaces).
#include <doctest/doctest.h>

#include <algorithm>

#include "tests/system/link/link_programs.h"

namespace footfall::link_testing {

// A footfall-sim capture (the file of one of its probes), the capture time of each packet, and what
// `footfall-probe presence` computes from it with the presence settings of probe_config(). Made once per process.
class SimCapture {
 public:
  // The mall, 20 simulated minutes, seed 7: the atrium probe (~30k frames, ~580 one-second batches, ~3000 events).
  static const SimCapture& mall() {
    static const SimCapture capture({"--scenario", "mall", "--seed", "7", "--duration", "20m"}, "probe-2.pcap");
    return capture;
  }
  // The busy mall on a sale day, 200k frames of its busiest probe (~35 MB; ~30k visits with the short silence).
  static const SimCapture& busy_mall() {
    // One address per phone: the probe runs one device per address here (link_programs.h), and a restart must
    // find devices still present, which phones that change their address every burst seldom are.
    static const SimCapture capture({"--scenario", "busy-mall", "--seed", "7", "--frames", "200000",
                                     "--randomizing-share", "0"},
                                    "probe-2.pcap");
    return capture;
  }
  [[nodiscard]] fs::path pcap() const { return dir_.path() / "capture.pcap"; }
  [[nodiscard]] const std::vector<std::int64_t>& times() const { return times_; }
  [[nodiscard]] std::uint64_t packets() const { return times_.size(); }
  [[nodiscard]] const std::vector<ReferenceEvent>& reference() const { return reference_; }
  [[nodiscard]] const EventBag& reference_bag() const { return reference_bag_; }

 private:
  SimCapture(std::vector<std::string> args, const std::string& file) {
    args.insert(args.begin(), kSim);
    args.insert(args.end(), {"--out", (dir_.path() / "sim").string()});
    Child sim(args, dir_.path() / "sim.out", dir_.path() / "sim.err");
    REQUIRE(sim.wait(60s) == 0);
    fs::rename(dir_.path() / "sim" / file, pcap());
    fs::remove_all(dir_.path() / "sim");
    times_ = packet_times(pcap());
    REQUIRE(times_.size() > 20'000);
    REQUIRE(std::is_sorted(times_.begin(), times_.end()));
    reference_ = reference_events(dir_.path() / "reference", probe_config(pcap(), dir_.path() / "unused", 1));
    reference_bag_ = bag_of(reference_);
    REQUIRE(reference_.size() > 1000);
    // Every event of the reference is distinct, so "held twice" is never "held as often as the reference has it".
    REQUIRE(std::adjacent_find(reference_bag_.begin(), reference_bag_.end()) == reference_bag_.end());
  }
  TempDir dir_;
  std::vector<std::int64_t> times_;
  std::vector<ReferenceEvent> reference_;
  EventBag reference_bag_;
};

// Checks that need no fault to hold: each seq stored once, seqs 1..N with nothing missing, no clock correction.
inline void check_batches_once_and_contiguous(const JournalContents& held, std::uint64_t last_seq) {
  CHECK(held.probes == std::set<std::string>{"entrance"});
  CHECK(held.all_replay);
  CHECK(held.no_correction);  // probe_clock_ns 0: event times are capture times
  std::uint64_t expect = 1;
  for (const auto& [seq, records] : held.records_by_seq) {
    INFO("probe seq " << seq);
    CHECK(records.size() == 1);  // (probe, seq) stored once
    CHECK(seq == expect++);
  }
  CHECK(held.records_by_seq.size() == last_seq);
}

// The gateway holds exactly the fault-free run's events: none lost, none extra, none twice.
inline void check_held_is_reference(const JournalContents& held) {
  const EventBag& reference = SimCapture::mall().reference_bag();
  const EventBag lost = minus(reference, held.events);
  const EventBag extra = minus(held.events, reference);
  CHECK_MESSAGE(lost.empty(), lost.size() << " reference events not held:" << sample(lost));
  CHECK_MESSAGE(extra.empty(), extra.size() << " held events not in the reference (or held twice):" << sample(extra));
  CHECK(held.events.size() == reference.size());
}

}  // namespace footfall::link_testing
