// The operator report: files written, figures formatted, every text escaped, CSV per RFC 4180, and a
// document with missing or mistyped members rendered as "no data" instead of failing.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aggregator/report/csv_table.h"
#include "aggregator/report/report_text.h"
#include "aggregator/report/report_writer.h"
#include "aggregator/report/svg_chart.h"
#include "tests/aggregator/report/test_report_fixture.h"

#include "tests/support/scratch.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using footfall::testing::slurp;
using footfall::testing::TempDir;

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + what.size())) ++n;
  return n;
}

// RFC 4180 records: CRLF between records, quoted fields may hold commas, quotes (doubled) and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row(1);
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        row.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        row.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.emplace_back();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.push_back(row);
      row.assign(1, "");
      ++i;
    } else {
      if (c == '\n') FAIL("bare LF outside quotes at byte " << i);
      row.back() += c;
    }
  }
  CHECK_MESSAGE(row == std::vector<std::string>(1), "the last record ends with CRLF");
  return rows;
}

// The marks one chart announces and holds: <svg ... data-chart="id" data-marks="N"> ... </svg>.
std::pair<int, std::size_t> chart_marks(const std::string& html, const std::string& id) {
  const auto start = html.find("data-chart=\"" + id + "\"");
  if (start == std::string::npos) return {-1, 0};
  const auto marks_at = html.find("data-marks=\"", start);
  const int announced = std::stoi(html.substr(marks_at + 12));
  const auto end = html.find("</svg>", start);
  return {announced, count_of(html.substr(start, end - start), "class=\"mark")};
}

}  // namespace

TEST_CASE("a week of a mall: index.html with every section, and one CSV per table") {
  const TempDir dir{"report"};
  const json doc = footfall::test::mall_week_document();
  footfall::aggregator::write_report(doc, dir.path() / "out");
  const std::string html = slurp(dir.path() / "out" / "index.html");
  REQUIRE(!html.empty());
  CHECK(html.starts_with("<!DOCTYPE html>"));
  for (const char* id : {"summary", "alerts", "days", "hours", "occupancy", "dwell", "funnel", "zones", "returning",
                         "overlap", "definitions"}) {
    INFO(id);
    CHECK(html.find("id=\"" + std::string(id) + "\"") != std::string::npos);
  }
  // Headline 3A3R cards with the period's figures, formatted.
  for (const char* name : {"Awareness", "Acquisition", "Activation", "Retention", "Revenue", "Refer"}) {
    CHECK(html.find("<div class=\"card-name\">" + std::string(name) + "</div>") != std::string::npos);
  }
  const auto& s = doc["summary"];
  CHECK(html.find(footfall::aggregator::report::format_count(s["awareness"].get<double>())) != std::string::npos);
  CHECK(html.find(">15,230<") != std::string::npos);  // visitors, with a thousands separator
  CHECK(html.find(footfall::aggregator::report::format_money(s["revenue"].get<double>())) != std::string::npos);
  CHECK(html.find("19.0 %") != std::string::npos);  // retain rate 2890 / 15230
  CHECK(html.find("Sat 28 Nov 15:30") != std::string::npos);  // peak occupancy moment, local
  // Charts hold as many marks as they announce: 7 days x 2 series, 168 hours x 2, six dwell buckets x 2.
  CHECK(chart_marks(html, "days") == std::pair<int, std::size_t>{14, 14});
  CHECK(chart_marks(html, "hours") == std::pair<int, std::size_t>{336, 336});
  CHECK(chart_marks(html, "dwell") == std::pair<int, std::size_t>{12, 12});
  CHECK(chart_marks(html, "funnel") == std::pair<int, std::size_t>{3, 3});
  CHECK(chart_marks(html, "occupancy") == std::pair<int, std::size_t>{2, 2});
  CHECK(chart_marks(html, "new-vs-returning") == std::pair<int, std::size_t>{14, 14});
  CHECK(chart_marks(html, "frequency") == std::pair<int, std::size_t>{4, 4});
  // Zone flow heat table: one row and one column per zone; overlap matrix with the three sites.
  CHECK(html.find("data-chart=\"zone-flow\"") != std::string::npos);
  CHECK(html.find("title=\"atrium \xE2\x86\x92 fashion\">4,210<") != std::string::npos);
  CHECK(html.find("data-chart=\"overlap\"") != std::string::npos);
  CHECK(html.find("Harbour Outlet") != std::string::npos);
  // Alerts highlighted, with the drop as a signed percentage.
  CHECK(html.find("class=\"has-alerts\"") != std::string::npos);
  CHECK(count_of(html, "<tr class=\"alert\">") == 2);
  CHECK(html.find("-46.2 %") != std::string::npos);
  // Nothing external: no URL scheme, no external stylesheet or script source.
  CHECK(html.find("http:") == std::string::npos);
  CHECK(html.find("https:") == std::string::npos);
  CHECK(html.find("//") == std::string::npos);
  CHECK(html.find(" src=") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("@media print") != std::string::npos);

  for (const char* name : {"summary.csv", "days.csv", "hours.csv", "occupancy.csv", "dwell.csv", "funnel.csv",
                           "zone_flow.csv", "zone_entry.csv", "zone_exit.csv", "new_vs_returning.csv", "retention.csv",
                           "frequency.csv", "alerts.csv", "overlap.csv"}) {
    INFO(name);
    CHECK(fs::exists(dir.path() / "out" / name));
  }
  const auto days = parse_csv(slurp(dir.path() / "out" / "days.csv"));
  REQUIRE(days.size() == 8);
  CHECK(days[0][0] == "date");
  CHECK(days[0][1] == "awareness");
  CHECK(days[1][0] == "2026-11-23");
  CHECK(days[1].size() == days[0].size());
  const auto visitors_col = static_cast<std::size_t>(
      std::find(days[0].begin(), days[0].end(), "visitors") - days[0].begin());
  REQUIRE(visitors_col < days[0].size());
  CHECK(days[3][visitors_col] == std::to_string(doc["days"][2]["visitors"].get<int>()));
  CHECK(std::find(days[0].begin(), days[0].end(), "residents") != days[0].end());  // a column even when absent
  CHECK(parse_csv(slurp(dir.path() / "out" / "hours.csv")).size() == 1 + 7 * 24);
  CHECK(parse_csv(slurp(dir.path() / "out" / "occupancy.csv")).size() == 1 + 7 * 48);
  const auto flow = parse_csv(slurp(dir.path() / "out" / "zone_flow.csv"));
  CHECK(flow[0] == std::vector<std::string>{"from", "to", "count"});
  CHECK(flow[1] == std::vector<std::string>{"north-entrance", "atrium", "6120"});
  const auto alerts = parse_csv(slurp(dir.path() / "out" / "alerts.csv"));
  REQUIRE(alerts.size() == 3);
  CHECK(alerts[0] == std::vector<std::string>{"date", "indicator", "value", "baseline", "change", "threshold"});
  CHECK(alerts[2][1] == "revenue");
  const auto overlap = parse_csv(slurp(dir.path() / "out" / "overlap.csv"));
  CHECK(overlap.size() == 1 + 9);
  const auto summary = parse_csv(slurp(dir.path() / "out" / "summary.csv"));
  CHECK(summary[0] == std::vector<std::string>{"figure", "value"});
  CHECK(summary[1] == std::vector<std::string>{"awareness", std::to_string(s["awareness"].get<int>())});
}

TEST_CASE("a hostile site name is escaped everywhere, in the page and in the CSV") {
  const TempDir dir{"report"};
  const std::string hostile = "<script>alert(1)</script>";
  json doc = footfall::test::mall_week_document(hostile);
  doc["zone_flow"]["transitions"][0]["from"] = "\"><img onerror=x>";
  doc["alerts"][0]["indicator"] = "a,b \"quoted\"\nnext line";
  footfall::aggregator::write_report(doc, dir.path());
  const std::string html = slurp(dir.path() / "index.html");
  CHECK(html.find(hostile) == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(count_of(html, "<script") == 1);  // the page's own layout check only
  CHECK(html.find("&quot;&gt;&lt;img onerror=x&gt;") != std::string::npos);
  // In CSV, quotes, commas and line breaks survive a round trip.
  const auto alerts = parse_csv(slurp(dir.path() / "alerts.csv"));
  REQUIRE(alerts.size() == 3);
  CHECK(alerts[1][1] == "a,b \"quoted\"\nnext line");
  const auto overlap = parse_csv(slurp(dir.path() / "overlap.csv"));
  CHECK(overlap[1][0] == hostile);
}

TEST_CASE("missing, empty and mistyped members render as no data") {
  const TempDir dir{"report"};
  SUBCASE("an empty object") {
    footfall::aggregator::write_report(json::object(), dir.path());
    const std::string html = slurp(dir.path() / "index.html");
    CHECK(count_of(html, "no data") >= 8);
    CHECK(parse_csv(slurp(dir.path() / "days.csv")).size() == 1);
    CHECK(parse_csv(slurp(dir.path() / "alerts.csv")).size() == 1);
  }
  SUBCASE("not an object at all") {
    footfall::aggregator::write_report(json::array({1, 2}), dir.path());
    CHECK(slurp(dir.path() / "index.html").find("no data") != std::string::npos);
  }
  SUBCASE("members of the wrong type, nulls, and extra members") {
    json doc = footfall::test::mall_week_document();
    doc["days"] = "yesterday";
    doc["hours"][3] = 42;
    doc["hours"][4]["visitors"] = nullptr;
    doc["summary"]["revenue"] = nullptr;
    doc["summary"]["capture_rate"] = "high";
    doc["summary"]["peak_hour"] = nullptr;
    doc["occupancy"] = json::array();
    doc["zone_flow"] = nullptr;
    doc["overlap"] = nullptr;
    doc["funnel"][1].erase("value");
    doc["hours"][5]["weather"] = "rain";  // an extra member becomes an extra CSV column
    doc["new_member"] = {{"x", 1}};
    footfall::aggregator::write_report(doc, dir.path());
    const std::string html = slurp(dir.path() / "index.html");
    CHECK(html.find("id=\"overlap\"") == std::string::npos);  // no overlap: no section
    CHECK(html.find("<div class=\"card-value\">\xE2\x80\x93</div>") != std::string::npos);  // revenue unknown
    CHECK(count_of(html, "no data") >= 3);                                                    // days, occupancy, zones
    const auto hours = parse_csv(slurp(dir.path() / "hours.csv"));
    REQUIRE(hours.size() == 1 + 7 * 24);
    CHECK(hours[0].back() == "weather");
    CHECK(hours[4] == std::vector<std::string>(hours[0].size(), ""));  // the row that was a number
    CHECK(hours[6].back() == "rain");
    CHECK(hours[0][3] == "visitors");
    CHECK(hours[5][3] == "");  // visitors: null
  }
}

TEST_CASE("number formats") {
  using namespace footfall::aggregator::report;
  CHECK(format_count(0) == "0");
  CHECK(format_count(999) == "999");
  CHECK(format_count(1000) == "1,000");
  CHECK(format_count(1234567.4) == "1,234,567");
  CHECK(format_count(-4321) == "-4,321");
  CHECK(format_money(1234.5) == "1,234.50");
  CHECK(format_money(-0.001) == "0.00");
  CHECK(format_ratio(0.2345) == "23.4 %");
  CHECK(format_change(-0.352) == "-35.2 %");
  CHECK(format_change(0.12) == "+12.0 %");
  CHECK(html_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(nice_step(0, 5) == 1.0);
  CHECK(nice_step(97, 5) == 20.0);
  CHECK(nice_step(1200, 5) == 500.0);
}

TEST_CASE("a long period keeps its axis labels apart: at most 14 dates, hours every 12 h or less often") {
  const TempDir dir{"report"};
  json doc = footfall::test::mall_week_document();
  json days = json::array();
  json hours = json::array();
  for (int d = 0; d < 63; ++d) {  // nine weeks from Monday 5 October 2026
    char date[16];
    std::snprintf(date, sizeof date, "2026-%02d-%02d", d < 27 ? 10 : (d < 57 ? 11 : 12),
                  d < 27 ? 5 + d : (d < 57 ? d - 26 : d - 56));
    json day = doc["days"][static_cast<std::size_t>(d % 7)];
    day["date"] = date;
    days.push_back(day);
    for (int h = 0; h < 24; ++h) {
      char start[32];
      std::snprintf(start, sizeof start, "%sT%02d:00", date, h);
      hours.push_back({{"start", start}, {"visitors", h}, {"passers_by", 2 * h}, {"arrivals", h}, {"occupancy_max", h}});
    }
  }
  doc["days"] = days;
  doc["hours"] = hours;
  footfall::aggregator::write_report(doc, dir.path());
  const std::string html = slurp(dir.path() / "index.html");
  const auto chart = [&](const std::string& id) {
    const auto start = html.find("data-chart=\"" + id + "\"");
    return html.substr(start, html.find("</svg>", start) - start);
  };
  const std::string days_svg = chart("days");
  const std::size_t x_ticks = count_of(days_svg, "text-anchor=\"middle\">");
  CHECK(x_ticks >= 7);
  CHECK(x_ticks <= 14);
  CHECK(days_svg.find(">Mon 5 Oct<") != std::string::npos);
  CHECK(chart_marks(html, "days") == std::pair<int, std::size_t>{126, 126});
  const std::string hours_svg = chart("hours");
  CHECK(count_of(hours_svg, "text-anchor=\"middle\">") == 0);  // 63 days: only the dates label the axis
  CHECK(count_of(hours_svg, "class=\"group-label\"") == 13);  // every fifth of 63 dates
}

TEST_CASE("the peak occupancy card and the sampled chart: the page says whether they agree and why not") {
  const TempDir dir{"report"};
  json doc = footfall::test::mall_week_document();
  footfall::aggregator::write_report(doc, dir.path() / "same");
  const std::string same = slurp(dir.path() / "same" / "index.html");
  CHECK(same.find("data-occupancy-note=\"same\"") != std::string::npos);  // 724 on both
  doc["summary"]["peak_occupancy"] = 801;  // a short peak between two half-hour samples
  footfall::aggregator::write_report(doc, dir.path() / "sampled");
  const std::string sampled = slurp(dir.path() / "sampled" / "index.html");
  CHECK(sampled.find("data-occupancy-note=\"sampled\"") != std::string::npos);
  CHECK(sampled.find("its highest point is 724 devices, while the peak occupancy above (801 devices at Sat 28 Nov "
                     "15:30) is exact") != std::string::npos);
}

TEST_CASE("thresholds are shown in words, and a report on defaults says so") {
  const TempDir dir{"report"};
  json doc = footfall::test::mall_week_document();
  doc["time_zone"] = "Europe/Paris";
  doc["thresholds"]["time_zone"] = "Europe/Paris";
  doc["thresholds"]["resident_min_hours"] = 4;
  doc["thresholds"]["future_key"] = 7;
  footfall::aggregator::write_report(doc, dir.path() / "config");
  const std::string html = slurp(dir.path() / "config" / "index.html");
  CHECK(html.find("<dt>A visitor stays at least</dt><dd>5 min</dd>") != std::string::npos);
  CHECK(html.find("<dt>A visitor is heard at least this loud</dt><dd>-75 dBm (mean of the frames) of a probe)") ==
        std::string::npos);
  CHECK(html.find("<dt>A visitor is heard at least this loud</dt><dd>-75 dBm (mean of the frames of a probe)</dd>") !=
        std::string::npos);
  CHECK(html.find("<dt>Local time</dt><dd>Europe/Paris (with summer time)</dd>") != std::string::npos);
  CHECK(html.find("<dt>An engaged visit lasts</dt><dd>20 min, or goes through 3 zones</dd>") != std::string::npos);
  CHECK(html.find("<dt>visitor_min_dwell_s</dt>") == std::string::npos);
  CHECK(html.find("<dt>future_key</dt><dd>7</dd>") != std::string::npos);  // a key the page does not know: as it is
  CHECK(html.find("data-thresholds=\"defaults\"") == std::string::npos);
  CHECK(html.find("local time Europe/Paris") != std::string::npos);
  doc["thresholds_source"] = "defaults";
  footfall::aggregator::write_report(doc, dir.path() / "defaults");
  const std::string defaults = slurp(dir.path() / "defaults" / "index.html");
  CHECK(defaults.find("<h3>Thresholds: the defaults</h3>") != std::string::npos);
  CHECK(count_of(defaults, "data-thresholds=\"defaults\"") == 2);  // in the header and above the table
}
