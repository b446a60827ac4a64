// `footfall-probe presence --read` on a synthetic crowd of same-model phones (tools/sim/crowd.h): the number of
// distinct `device` values against the phones the crowd generator made. Method and figures: docs/counting.md,
// "Crowds of one model". Probe defaults; the seeds here are not the ones the method was developed on (1-3).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <string>

#include "probe/commands/presence_command.h"
#include "tests/support/scratch.h"
#include "tools/sim/crowd.h"
#include "tools/sim/pcap_writer.h"

namespace {
using footfall::probe::commands::PresenceOptions;
using footfall::probe::commands::run_presence;

struct Count {
  std::size_t devices = 0;
  std::size_t addresses = 0;
  std::uint64_t phones = 0;
};

Count count_crowd(std::uint32_t phones_at_once, std::uint64_t seed, bool link) {
  footfall::testing::TempDir dir("crowd");
  const std::string path = dir.file("crowd.pcap");
  footfall::sim::CrowdOptions o;
  o.devices = phones_at_once;
  o.fingerprints = 20;
  o.seconds = 3600;
  o.seed = seed;
  footfall::sim::PcapWriter writer(path);
  const footfall::sim::CrowdTruth truth =
      footfall::sim::generate_crowd(o, [&](const footfall::sim::CrowdFrame& f) { writer.write(f.ts_ns, f.record); });
  writer.flush();
  PresenceOptions options;
  options.read_path = path;
  options.update_s = 0;
  options.no_link = !link;
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  REQUIRE(out != nullptr);
  REQUIRE(err != nullptr);
  CHECK(run_presence(options, out, err) == 0);
  const std::string text = footfall::testing::slurp(out);
  std::fclose(err);
  std::set<std::string> devices;
  std::set<std::string> macs;
  for (std::size_t at = text.find("\"device\":\""); at != std::string::npos; at = text.find("\"device\":\"", at + 1))
    devices.insert(text.substr(at + 10, 16));
  for (std::size_t at = text.find("\"mac\":\""); at != std::string::npos; at = text.find("\"mac\":\"", at + 1))
    macs.insert(text.substr(at + 7, 17));
  return {devices.size(), macs.size(), truth.all_phones};
}
}  // namespace

TEST_CASE("a crowd of same-model phones: distinct devices within 15 % of the phones, never more than addresses") {
  for (const auto& [at_once, seed] : {std::pair{50u, 11u}, std::pair{50u, 12u}, std::pair{150u, 11u}}) {
    const Count linked = count_crowd(at_once, seed, true);
    const Count addresses = count_crowd(at_once, seed, false);  // one device per address
    const double error = (static_cast<double>(linked.devices) - static_cast<double>(linked.phones)) /
                         static_cast<double>(linked.phones);
    MESSAGE(at_once << " phones at once, seed " << seed << ": " << linked.phones << " phones, "
                    << addresses.devices << " addresses, " << linked.devices << " devices ("
                    << std::lround(100 * error) << " %)");
    CHECK(std::abs(error) <= 0.15);
    CHECK(linked.devices <= addresses.devices);
  }
}
