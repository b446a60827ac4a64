// The dashboard in a real browser: dashboard_browser.mjs drives Debian's Chromium with puppeteer-core (pinned
// in tests/package.json, installed by tools/test with npm ci) against the real footfall-aggregator (ingest-file,
// then serve). Here: what it saw, asserted. Skips, saying why, only where Chromium, node or puppeteer-core is absent.
// FOOTFALL_DOCS_IMG=folder keeps the screenshots there (docs/img/ holds the ones docs/operators.md shows).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/scratch.h"

namespace fs = std::filesystem;

namespace {

const fs::path kTests = fs::path(FOOTFALL_SOURCE_DIR) / "tests";

std::string missing_prerequisite() {
  if (access("/usr/bin/chromium", X_OK) != 0) return "/usr/bin/chromium is not installed (Debian package chromium)";
  if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not installed (Debian package nodejs)";
  if (!fs::exists(kTests / "node_modules" / "puppeteer-core" / "package.json"))
    return "tests/node_modules/puppeteer-core is absent (tools/test runs npm ci in tests/ when npm is installed)";
  return {};
}

}  // namespace

TEST_CASE("dashboard in Chromium: sign-in, portfolio, range, comparison, live occupancy, downloads, tenants apart") {
  if (const std::string why = missing_prerequisite(); !why.empty()) {
    MESSAGE("skipped: " << why);
    return;
  }
  footfall::testing::TempDir work("serve-browser");
  const char* docs_img = std::getenv("FOOTFALL_DOCS_IMG");
  const fs::path shots = docs_img != nullptr ? fs::path(docs_img) : work.path() / "shots";
  const std::string command = "cd '" + kTests.string() + "' && FOOTFALL_BIN='" + std::string(FOOTFALL_BIN_DIR) +
                              "/footfall-aggregator' WORK='" + work.path().string() + "' SHOTS='" + shots.string() +
                              "' timeout 200 node aggregator/serve/dashboard_browser.mjs 2>'" +
                              (work.path() / "stderr.txt").string() + "'";
  std::FILE* out = popen(command.c_str(), "r");
  REQUIRE(out != nullptr);
  std::string text;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, out)) > 0;) text.append(buf, n);
  const int status = pclose(out);
  INFO("script stderr: " << footfall::testing::slurp(work.path() / "stderr.txt"));
  REQUIRE(status == 0);
  const auto r = nlohmann::json::parse(text.substr(text.rfind("\n{") == std::string::npos ? 0 : text.rfind("\n{") + 1));
  INFO(r.dump(1));

  CHECK(r["console_errors"].empty());
  CHECK(r["ingested"]["malformed"].empty());
  // Sign-in first, then a session cookie the page's scripts cannot read and other sites cannot send.
  CHECK(r["redirected_to_sign_in"] == true);
  CHECK(r["after_sign_in"] == "/portfolio");
  CHECK(r["cookie"]["httpOnly"] == true);
  CHECK(r["cookie"]["sameSite"] == "Strict");
  // Portfolio: acme's two sites, a total row, sorted both ways by a click.
  CHECK(r["portfolio_sites"] == nlohmann::json::array({"mall-7", "mall-9"}));
  CHECK(r["portfolio_total"].get<std::string>().starts_with("Total (2 sites)"));
  const auto& first = r["sorted"]["first"];
  const auto& second = r["sorted"]["second"];
  REQUIRE(first.size() == 2);
  CHECK(first[0].get<double>() > first[1].get<double>());  // descending on the first click
  CHECK(second[0].get<double>() < second[1].get<double>());
  CHECK(r["portfolio_live_rows"] == 2);
  // The range chosen in the page, its comparison, the day without data shown as missing.
  CHECK(r["range"]["from"].get<std::string>().size() == 10);
  REQUIRE(r["comparison"].size() >= 3);
  const auto& visitors = r["comparison"][0];
  CHECK(visitors[0] == "Visitors");
  CHECK(visitors[1] != "0");
  CHECK(visitors[3].get<std::string>().find('%') != std::string::npos);  // change against the previous period
  CHECK(visitors[6] == "no data");
  CHECK(r["comparison"][2][0] == "Capture rate");
  CHECK(r["comparison"][2][3].get<std::string>().ends_with(" pt"));  // a rate changes in percentage points  // a year ago nothing was stored: missing, not zero
  CHECK(r["comparison_marks"] == 4);
  CHECK(r["missing_days"] == nlohmann::json::array({r["expected_missing"]}));
  CHECK(r["missing_day_cells"][1] == nlohmann::json::array({"\xE2\x80\x93", "\xE2\x80\x93"}));
  CHECK(r["missing_day_cells"][0][1] != "\xE2\x80\x93");
  CHECK(r["report_charts"].get<int>() >= 5);
  // Live: the sample ingested while the page was open reached it.
  CHECK(r["live_before"] != "123");
  CHECK(r["live_after"] == "123");
  CHECK(r["live_zones"] == nlohmann::json::array({"entrance23", "food-court100"}));
  // Downloads.
  CHECK(r["csv"]["status"] == 200);
  CHECK(r["csv"]["header"].get<std::string>().starts_with("date,awareness"));
  CHECK(r["csv"]["rows"] == 9);
  CHECK(r["csv"]["disposition"].get<std::string>().find("attachment") != std::string::npos);
  CHECK(r["pdf"]["status"] == 200);
  CHECK(r["pdf"]["magic"] == "%PDF");
  // Tenants apart, bad input named.
  CHECK(r["other_tenant_site"] == 404);
  CHECK(r["other_tenant_csv"] == 404);
  CHECK(r["bob_sites"] == nlohmann::json::array({"plaza-1"}));
  CHECK(r["bob_mall_7"] == 404);
  CHECK(r["bob_live_mall_7"] == 404);
  CHECK(r["bad_range"][0] == 400);
  CHECK(r["bad_range"][1].get<std::string>().find("from: expected a date") != std::string::npos);
  // Print and phone.
  CHECK(r["print_hidden"] == true);
  CHECK(r["phone"]["scroll_width"].get<int>() <= 400);
  CHECK(r["phone"]["min_font_px"].get<double>() >= 11);
  CHECK(r["phone"]["min_chart_text_px"].get<double>() >= 9);  // charts are not shrunk to fit
  // Failed sign-ins slowed, no session no data, requests bounded.
  CHECK(r["wrong_password"] == 401);
  CHECK(r["again_at_once"] == 429);
  CHECK(r["no_session_csv"] == 401);
  CHECK(r["no_session_page"] == 303);
  CHECK(r["too_large"] == 413);
  CHECK(r["unknown_path"] == 404);
  CHECK(r["over_cap"] == 503);
  CHECK(r["server_exit"] == 0);
  // The ninth is refused and counted; on a loaded machine live streams of the closed browser may still hold
  // slots for a moment, and then some of the eight idle ones are refused (and counted) too: never more than the
  // nine connections opened.
  CHECK(r["server_counters"]["refused_full"] >= 1);
  CHECK(r["server_counters"]["refused_full"] <= 9);
  // HTTPS: the cookie is Secure, plain HTTP gets no answer.
  CHECK(r["tls"]["status"] == 303);
  CHECK(r["tls"]["cookie"].get<std::string>().find("; Secure") != std::string::npos);
  CHECK(r["plain_to_tls"] == "refused");
  CHECK(r["server_counters"]["too_large"] == 1);
  CHECK(r["server_counters"]["sign_in_failed"] == 1);
  CHECK(r["server_counters"]["sign_in_refused_waiting"] == 1);
  // Screenshots show pages, not blanks.
  for (const auto& [name, shot] : r["screenshots"].items()) {
    INFO(name);
    CHECK(shot["colours"].get<int>() > 50);
    CHECK(shot["non_background"].get<double>() > 0.05);
  }
  CHECK(r["screenshots"].size() == 5);
}
