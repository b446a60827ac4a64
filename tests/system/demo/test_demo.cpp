// tools/demo end to end, as a newcomer runs it (non-interactive): footfall-sim -> virtual monitor interfaces
// (or capture files) -> three footfall-probe -> footfall-gateway -> mosquitto -> footfall-aggregator -> report.
// The report's figures are checked against the simulator's truth: exactly where the definition is exact,
// within a stated tolerance where radio makes it fuzzy.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/scratch.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using footfall::testing::slurp;

struct DemoRun {
  int status = -1;
  fs::path out;
  std::string log;
};

DemoRun run_demo(const std::string& name, const std::string& args) {
  DemoRun run;
  run.out = fs::path(FOOTFALL_TEST_TMP) / name;
  fs::remove_all(run.out);
  fs::create_directories(run.out);
  const fs::path log = run.out.parent_path() / (name + ".log");
  const std::string command = "FOOTFALL_BIN_DIR='" + std::string(FOOTFALL_BIN_DIR) + "' timeout -k 10 900 '" +
                              std::string(FOOTFALL_SOURCE_DIR) + "/tools/demo' --no-build --non-interactive --out '" +
                              run.out.string() + "' " + args + " >'" + log.string() + "' 2>&1";
  const int rc = std::system(command.c_str());
  run.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  run.log = slurp(log);
  return run;
}

// Command lines of the running processes that contain `text`.
std::vector<std::string> processes_mentioning(const std::string& text) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = slurp(entry.path() / "cmdline");
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(text) != std::string::npos) found.push_back(pid + ": " + cmdline);
  }
  return found;
}

// What the simulator says happened, per local (UTC) day, in the terms of docs/metrics.md.
struct TruthDay {
  std::set<std::int64_t> heard_devices;     // awareness: heard by some probe above the probes' signal floor, staff not
  std::set<std::int64_t> visitors;          // came in and stayed 5 min or more (staff are not visitors)
  std::set<std::int64_t> returning;         // of those, returning visitors
  std::set<std::int64_t> returning_recognisable;  // of those, devices that kept one address over all their visits
  std::set<std::int64_t> staff;             // the aggregator's residents: present the whole working day
  std::int64_t transactions = 0;
  double revenue = 0.0;
};

constexpr int kSignalFloorDbm = -90;          // footfall-probe's default presence.signal_floor_dbm
constexpr double kVisitorMinDwellS = 300.0;  // the aggregator's default visitor_min_dwell_s

std::map<std::string, TruthDay> truth_days(const json& truth) {
  std::map<std::string, TruthDay> days;
  const auto date_of = [](std::int64_t ns) {
    const std::time_t s = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return std::string(buf);
  };
  std::set<std::int64_t> single_address;
  for (const auto& d : truth.at("devices"))
    if (d.at("macs").size() == 1) single_address.insert(d.at("id").get<std::int64_t>());
  for (const auto& v : truth.at("visits")) {
    bool heard = false;
    for (const auto& p : v.at("probes")) heard = heard || p.at("rssi_max").get<int>() >= kSignalFloorDbm;
    if (!heard) continue;
    TruthDay& day = days[date_of(v.at("arrival_ns").get<std::int64_t>())];
    const std::int64_t device = v.at("device");
    const std::string counts_as = v.at("counts_as");
    if (counts_as == "staff") {
      day.staff.insert(device);
      continue;
    }
    day.heard_devices.insert(device);
    if (counts_as == "visitor" && v.at("dwell_s").get<double>() >= kVisitorMinDwellS) {
      day.visitors.insert(device);
      if (v.at("returning").get<bool>()) {
        day.returning.insert(device);
        if (single_address.count(device) != 0) day.returning_recognisable.insert(device);
      }
    }
  }
  for (const auto& sale : truth.at("sales")) {
    TruthDay& day = days[sale.at("time").get<std::string>().substr(0, 10)];
    ++day.transactions;
    day.revenue += sale.at("amount").get<double>();
  }
  return days;
}

// |measured - truth| within max(absolute, relative * truth).
bool near(double measured, double truth, double absolute, double relative) {
  return std::abs(measured - truth) <= std::max(absolute, relative * std::abs(truth));
}

void check_report_against_truth(const DemoRun& run, std::size_t expected_days, bool check_returning) {
  const fs::path report = run.out / "report";
  REQUIRE_MESSAGE(fs::exists(report / "index.html"), run.log);
  CHECK(fs::file_size(report / "index.html") > 10'000);
  CHECK(fs::exists(report / "days.csv"));
  CHECK(run.log.find("Awareness") != std::string::npos);  // the 3A3R table on the terminal
  CHECK(run.log.find("report: ") != std::string::npos);
  const json doc = json::parse(slurp(report / "report.json"));
  const json truth = json::parse(slurp(run.out / "site" / "truth.json"));
  const auto expected = truth_days(truth);
  REQUIRE(doc.at("days").size() == expected_days);
  for (const auto& day : doc.at("days")) {
    const std::string date = day.at("date");
    INFO("day " << date);
    REQUIRE(expected.count(date) == 1);
    const TruthDay& t = expected.at(date);
    MESSAGE("day " << date << ": awareness " << day.at("awareness") << " (truth " << t.heard_devices.size()
                   << "), visitors " << day.at("visitors") << " (truth " << t.visitors.size() << "), residents "
                   << day.value("residents", -1) << " (truth staff " << t.staff.size() << "), returning "
                   << day.at("returning_visitors") << " (truth " << t.returning.size() << ", of them with an address "
                   << "kept between visits " << t.returning_recognisable.size() << "), transactions "
                   << day.at("transactions") << " (truth " << t.transactions << ")");
    // Devices, not addresses: the phones change their random addresses, the probes and the gateway link them
    // (docs/counting.md). A phone silent longer than the link window splits, phones of one fingerprint heard
    // one after another may merge: 15 % (or 3 devices) for awareness. Visitors: the aim is 10 %; measured
    // +3 % to +17 % over the four simulated days of these two runs (docs/counting.md, "Simulated sites"), so
    // the check is 20 % (or 2 people) until same-fingerprint merges are resolved. The aggregator also decides a
    // visitor from signal (the demo site's -70 dBm mean for 5 min, docs/metrics.md), the simulator by where the
    // person walked.
    CHECK(near(day.at("awareness").get<double>(), static_cast<double>(t.heard_devices.size()), 3, 0.15));
    CHECK(near(day.at("visitors").get<double>(), static_cast<double>(t.visitors.size()), 2, 0.20));
    // Staff are present all day: the aggregator's residents, never visitors. A staff phone that rotates its
    // address can split into two devices that each stay long enough to be residents.
    CHECK(day.at("residents").get<double>() >= static_cast<double>(t.staff.size()) - 1);
    CHECK(day.at("residents").get<double>() <= 2.0 * static_cast<double>(t.staff.size()) + 1);
    // Exact: the sales are imported as they were made.
    CHECK(day.at("transactions").get<std::int64_t>() == t.transactions);
    CHECK(day.at("revenue").get<double>() == doctest::Approx(t.revenue).epsilon(1e-9));
    if (check_returning) {
      // A returning phone is recognised only if it comes back with an address it used before (a fixed or
      // associated one); links never cross visits (docs/privacy.md).
      CHECK(near(day.at("returning_visitors").get<double>(), static_cast<double>(t.returning_recognisable.size()), 1,
                 0.10));
      CHECK(day.at("returning_visitors").get<double>() <= static_cast<double>(t.returning.size()) + 1);
    }
  }
}

}  // namespace

TEST_CASE("tools/demo: a live simulated day through every program, figures as the truth says") {
  const DemoRun run = run_demo("demo-live", "--day 2026-11-02");
  INFO(run.log);
  REQUIRE(run.status == 0);
  if (run.log.find("replay capture files instead") != std::string::npos) {
    MESSAGE("virtual monitor interfaces are not permitted here: the demo ran on capture file replay");
  }
  check_report_against_truth(run, 1, false);
  // Everything started is stopped: no process of this run (programs, mosquitto, injectors) is left.
  CHECK(processes_mentioning(run.out.string() + "/").empty());
}

TEST_CASE("three days replayed: returning visitors, sales and the flow figures match the truth") {
  // 2026-11-10..12 lie in one 30-day key epoch (epochs count from 1970-01-01; one starts on 2026-11-03), so a
  // returning device keeps its pseudonym. Run into the live case's folder: a second run there works.
  const DemoRun run = run_demo("demo-live", "--replay --speed 1000 --days 3 --day 2026-11-10");
  INFO(run.log);
  REQUIRE(run.status == 0);
  check_report_against_truth(run, 3, true);
}
