#pragma once
// Sales exported by a site's point of sale, as CSV, without I/O: text in, sales and counted rejects out.
//   sale_id,site,time,amount              header (required; columns in any order, names exactly these)
//   R-1042,mall-7,2024-05-01T10:15:05Z,129.90
//   R-1043,mall-7,1714558505000,15
// time: ISO-8601 UTC (fraction optional) or milliseconds since the epoch; amount: a decimal number with a
// dot. Fields may be "quoted" ("" inside quotes is a quote). Blank lines are skipped. A row that does
// not fit is rejected and counted by reason; the others are still imported (sale_id makes a re-import
// of the same file a no-op).
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "aggregator/model/site_records.h"

namespace footfall::aggregator {

struct SalesCsvResult {
  std::vector<Sale> sales;                          // rows of the wanted site
  std::int64_t other_site_rows = 0;                 // rows of other sites: skipped
  std::map<std::string, std::int64_t> rejected;     // by reason: bad_time, bad_amount, empty_sale_id, long_sale_id, columns
  std::vector<std::string> first_errors;            // "line 7: bad_time: '2024-13-01'" (at most 20)
  std::string fatal;                                // non-empty: the header is missing or wrong; nothing parsed
};

SalesCsvResult parse_sales_csv(std::string_view text, const std::string& tenant, const std::string& site);

}  // namespace footfall::aggregator
