// The sales CSV parser: header in any order, ISO or epoch-ms times, quotes, rejects counted by reason.
#include <doctest/doctest.h>

#include "aggregator/ingest/iso_time.h"
#include "aggregator/store/sales_csv.h"

using namespace footfall::aggregator;

TEST_CASE("sales CSV: good rows, other sites, rejects") {
  const std::string text =
      "\xEF\xBB\xBFsale_id,site,time,amount\r\n"
      "R-1,mall-7,2024-05-01T10:15:05Z,129.90\r\n"
      "R-2,mall-7,1714558505000,15\n"
      "\n"
      "\"R-3, \"\"gift\"\"\",mall-7,2024-05-01T10:20:00.500Z,-5.5\n"
      "R-4,mall-8,2024-05-01T10:15:05Z,1\n"
      "R-5,mall-7,2024-13-01T10:15:05Z,1\n"
      "R-6,mall-7,2024-05-01T10:15:05Z,12,50\n"
      "R-7,mall-7,2024-05-01T10:15:05Z,abc\n"
      ",mall-7,2024-05-01T10:15:05Z,1\n"
      "R-8,mall-7\n";
  const SalesCsvResult r = parse_sales_csv(text, "acme", "mall-7");
  CHECK(r.fatal.empty());
  REQUIRE(r.sales.size() == 4);
  CHECK(r.sales[0].sale_id == "R-1");
  CHECK(r.sales[0].at == *parse_iso8601_utc("2024-05-01T10:15:05.000Z"));
  CHECK(r.sales[0].amount == doctest::Approx(129.9));
  CHECK(r.sales[0].tenant == "acme");
  CHECK(r.sales[1].at == 1714558505000);
  CHECK(r.sales[2].sale_id == "R-3, \"gift\"");
  CHECK(r.sales[2].amount == doctest::Approx(-5.5));
  CHECK(r.sales[3].sale_id == "R-6");  // extra columns are ignored
  CHECK(r.other_site_rows == 1);
  CHECK(r.rejected.at("bad_time") == 1);
  CHECK(r.rejected.at("bad_amount") == 1);
  CHECK(r.rejected.at("empty_sale_id") == 1);
  CHECK(r.rejected.at("columns") == 1);
  REQUIRE(r.first_errors.size() == 4);
  CHECK(r.first_errors[0] == "line 7: bad_time: '2024-13-01T10:15:05Z'");
}

TEST_CASE("sales CSV: what sales.schema.json forbids is rejected here too") {
  const std::string text = "sale_id,site,time,amount\n"
                           "R-1,mall-7,2024-05-01T10:15:05Z,inf\n"
                           "R-2,mall-7,2024-05-01T10:15:05Z,1e999\n"
                           "R-3,mall-7,2024-05-01T10:15:05Z,nan\n" +
                           std::string(129, 'r') + ",mall-7,2024-05-01T10:15:05Z,1\n" +
                           "\xc3\xa4" + std::string(127, 'r') + ",mall-7,2024-05-01T10:15:05Z,1\n";
  const SalesCsvResult r = parse_sales_csv(text, "acme", "mall-7");
  CHECK(r.rejected.at("bad_amount") == 3);
  CHECK(r.rejected.at("long_sale_id") == 1);
  REQUIRE(r.sales.size() == 1);  // 128 characters in 129 bytes
  CHECK(r.sales[0].sale_id.size() == 129);
}

TEST_CASE("sales CSV: header in another order; missing header") {
  const auto r = parse_sales_csv("amount,time,site,sale_id\n3.5,1000,s,A\n", "t", "s");
  REQUIRE(r.sales.size() == 1);
  CHECK(r.sales[0].sale_id == "A");
  CHECK(r.sales[0].at == 1000);
  CHECK(parse_sales_csv("R-1,mall-7,1000,1\n", "t", "mall-7").fatal.find("missing sale_id") != std::string::npos);
  CHECK_FALSE(parse_sales_csv("", "t", "s").fatal.empty());
}

TEST_CASE("sales CSV: times with an offset, as a till in local time writes them") {
  const SalesCsvResult r = parse_sales_csv(
      "sale_id,site,time,amount\n"
      "W-1,mall-7,2026-11-25T10:15:00+01:00,1\n"
      "W-2,mall-7,2026-11-25T10:15:00.250-05:30,1\n"
      "W-3,mall-7,2026-11-25T10:15:00+0100,1\n"
      "W-4,mall-7,2026-11-25T10:15:00+25:00,1\n",
      "acme", "mall-7");
  REQUIRE(r.sales.size() == 2);
  CHECK(r.sales[0].at == *parse_iso8601_utc("2026-11-25T09:15:00.000Z"));
  CHECK(r.sales[1].at == *parse_iso8601_utc("2026-11-25T15:45:00.250Z"));
  CHECK(r.rejected.at("bad_time") == 2);
  CHECK(parse_iso8601_with_offset("2026-03-29T03:30:00+02:00") == parse_iso8601_utc("2026-03-29T01:30:00Z"));
  CHECK_FALSE(parse_iso8601_with_offset("2026-11-25T10:15:00"));
  CHECK_FALSE(parse_iso8601_utc("2026-11-25T10:15:00+01:00"));  // the visits feed stays UTC
}
