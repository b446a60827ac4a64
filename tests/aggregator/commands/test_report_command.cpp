// The report command fails loudly: a missing store, an unknown site; and says when it used default thresholds.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "aggregator/commands/aggregator_commands.h"

using namespace footfall::aggregator;
namespace fs = std::filesystem;

namespace {

// A fresh folder under the build's temporary directory, removed at the end.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("footfall-report-command-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Runs f with standard error captured.
template <typename F>
std::pair<int, std::string> with_stderr(F f) {
  std::ostringstream err;
  std::streambuf* old = std::cerr.rdbuf(err.rdbuf());
  const int rc = f();
  std::cerr.rdbuf(old);
  return {rc, err.str()};
}

// A store holding the visits example (acme / mall-7, 1 May 2024, or moved to `arrival`), made by ingest-file.
fs::path store_with_example(const fs::path& dir, const std::string& arrival = {}) {
  std::ifstream in(FOOTFALL_SOURCE_DIR "/docs/schema/examples/visits.json");
  REQUIRE(in.good());
  auto example = nlohmann::json::parse(in);
  if (!arrival.empty()) {  // a 10-minute visit at `arrival` (YYYY-MM-DDTHH:MM, UTC)
    auto& v = example["visits"][0];
    v["arrival"] = arrival + ":00.000Z";
    v["departure"] = arrival.substr(0, 14) + std::to_string(std::stoi(arrival.substr(14)) + 10) + ":00.000Z";
    v["dwell_s"] = 600;
    v["strongest_zone"] = nlohmann::json::array({{{"from", v["arrival"]}, {"zone", "entrance"}}});
    for (auto& p : v["probes"]) {
      p["first_seen"] = v["arrival"];
      p["last_seen"] = v["departure"];
    }
  }
  const fs::path feed = dir / "feed.tsv";
  std::ofstream(feed) << "footfall/v1/acme/mall-7/visits\t" << example.dump() << "\n";
  const fs::path store = dir / "agg.db";
  std::ostringstream out;
  std::streambuf* old = std::cout.rdbuf(out.rdbuf());
  const int rc = ingest_file_command({.config = {}, .store = store, .tenant = {}}, feed);
  std::cout.rdbuf(old);
  REQUIRE(rc == 0);
  return store;
}

}  // namespace

TEST_CASE("report: a store that does not exist is not created, exit 4") {
  const TempDir dir;
  const fs::path missing = dir.path / "nope.db";
  const auto [rc, err] = with_stderr(
      [&] { return report_command({.config = {}, .store = missing, .tenant = "acme"}, "mall-7", "2024-05-01", "2024-05-01", dir.path / "out"); });
  CHECK(rc == kExitNoStore);
  CHECK(err.find("nope.db does not exist") != std::string::npos);
  CHECK_FALSE(fs::exists(missing));
  CHECK_FALSE(fs::exists(dir.path / "out" / "index.html"));
}

TEST_CASE("report: an unknown site exits 2 naming the sites known") {
  const TempDir dir;
  const fs::path store = store_with_example(dir.path);
  const auto [rc, err] = with_stderr(
      [&] { return report_command({.config = {}, .store = store, .tenant = {}}, "mall-8", "2024-05-01", "2024-05-01", dir.path / "out"); });
  CHECK(rc == 2);
  CHECK(err.find("--site: mall-8 is not a site of tenant acme; known sites: mall-7") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path / "out" / "index.html"));
}

TEST_CASE("report: without a config the defaults are used and said, on stderr and in the page") {
  const TempDir dir;
  const fs::path store = store_with_example(dir.path);
  const auto [rc, err] = with_stderr(
      [&] { return report_command({.config = {}, .store = store, .tenant = {}}, "mall-7", "2024-05-01", "2024-05-01", dir.path / "out"); });
  REQUIRE(rc == 0);
  CHECK(err.find("no settings for acme/mall-7 (no --config): default thresholds") != std::string::npos);
  CHECK(err.find("report: read 1 visits and 0 sales of acme/mall-7") != std::string::npos);  // progress
  CHECK(err.find("report: written to") != std::string::npos);
  std::ifstream json_in(dir.path / "out" / "report.json");
  const auto doc = nlohmann::json::parse(json_in);
  CHECK(doc.at("thresholds_source") == "defaults");
  CHECK(doc.at("summary").at("visitors") == 1);
  std::ifstream page_in(dir.path / "out" / "index.html");
  std::stringstream page;
  page << page_in.rdbuf();
  CHECK(page.str().find("data-thresholds=\"defaults\"") != std::string::npos);
  CHECK(page.str().find("A visitor stays at least") != std::string::npos);
  CHECK(page.str().find("<dt>visitor_min_dwell_s</dt>") == std::string::npos);  // words, not config keys

  // With a config naming the site (Europe/Paris), its settings are used and nothing is said.
  const fs::path config = dir.path / "aggregator.json";
  std::ofstream(config) << R"({"store": {"path": ")" << store.string()
                        << R"("}, "tenants": {"acme": {"sites": {"mall-7": {"time_zone": "Europe/Paris"}}}}})";
  const auto [rc2, err2] = with_stderr(
      [&] { return report_command({.config = config, .store = {}, .tenant = {}}, "mall-7", "2024-05-01", "2024-05-01", dir.path / "out2"); });
  REQUIRE(rc2 == 0);
  CHECK(err2.find("no settings") == std::string::npos);
  std::ifstream json2(dir.path / "out2" / "report.json");
  const auto doc2 = nlohmann::json::parse(json2);
  CHECK(doc2.at("thresholds_source") == "config");
  CHECK(doc2.at("time_zone") == "Europe/Paris");
  CHECK(doc2.at("from_ms") == 1'714'514'400'000);  // 2024-05-01 00:00 CEST = 2024-04-30T22:00Z
}

TEST_CASE("report over the autumn change in Europe/Paris: 73 hourly rows, 02:00 twice, the visit in the second") {
  const TempDir dir;
  const fs::path store = store_with_example(dir.path, "2026-10-25T01:30");  // 02:30 local, winter time
  const fs::path config = dir.path / "aggregator.json";
  std::ofstream(config) << R"({"store": {"path": ")" << store.string()
                        << R"("}, "tenants": {"acme": {"sites": {"mall-7": {"time_zone": "Europe/Paris"}}}}})";
  const auto [rc, err] = with_stderr(
      [&] { return report_command({.config = config, .store = {}, .tenant = {}}, "mall-7", "2026-10-24", "2026-10-26", dir.path / "out"); });
  REQUIRE_MESSAGE(rc == 0, err);
  std::ifstream csv_in(dir.path / "out" / "hours.csv");
  std::vector<std::string> rows;
  for (std::string line; std::getline(csv_in, line);) rows.push_back(line);
  REQUIRE(rows.size() == 1 + 24 + 25 + 24);
  CHECK(rows[0].starts_with("start,utc_offset_min,passers_by,visitors"));
  CHECK(rows[1 + 24 + 2].starts_with("2026-10-25T02:00,120,"));
  CHECK(rows[1 + 24 + 3].starts_with("2026-10-25T02:00,60,"));
  std::ifstream json_in(dir.path / "out" / "report.json");
  const auto doc = nlohmann::json::parse(json_in);
  CHECK(doc.at("days").at(1).at("length_h") == 25.0);
  CHECK(doc.at("days").at(1).at("detected_visits") == 1);
  CHECK(doc.at("hours").at(24 + 3).at("detected") == 1);
  CHECK(doc.at("hours").at(24 + 2).at("detected") == 0);
}
