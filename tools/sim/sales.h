#pragma once
// Sales at the site: some visitors who reach a zone where things are bought (the negotiation corner of a
// sales office, the shops of a mall) pay for something while there. Drawn from their own random stream,
// after the run, so the captures of a seed are the same with or without them.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tools/sim/schedule.h"
#include "tools/sim/site_model.h"

namespace footfall::sim {

struct Sale {
  std::string sale_id;          // "<site>-<6-digit number>", in time order
  std::uint32_t visit = 0;      // the visit of the paying party's first member
  std::uint32_t device = 0;
  std::uint32_t zone = 0;
  std::int64_t time_ns = 0;     // whole milliseconds: the point of sale's clock
  std::int64_t amount_cents = 0;
};

// One draw per party and zone stay where the zone sells (zone.sale_share); sales after `end_ns` are not made.
std::vector<Sale> plan_sales(const Scenario& scenario, const Schedule& schedule, const std::string& site,
                             std::uint64_t seed, std::int64_t end_ns);

// "2026-11-25T10:15:00.123Z": UTC with milliseconds (the fraction below a millisecond is dropped).
std::string format_utc_ms(std::int64_t ns);

// "12.30" from 1230.
std::string format_amount(std::int64_t cents);

// sales.csv: sale_id,site,time,amount (header row, RFC 4180 quoting where a field needs it, LF line ends), in time order.
void write_sales_csv(const std::filesystem::path& path, const std::string& site, const std::vector<Sale>& sales);

inline constexpr const char* kSalesFileName = "sales.csv";

}  // namespace footfall::sim
