#include "tools/sim/sales.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "tools/sim/time_text.h"

namespace footfall::sim {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

}  // namespace

std::vector<Sale> plan_sales(const Scenario& scenario, const Schedule& schedule, const std::string& site,
                             std::uint64_t seed, std::int64_t end_ns) {
  SimRandom rng(seed);
  std::vector<Sale> sales;
  for (const Visit& v : schedule.visits) {
    if (v.role != Role::visitor && v.role != Role::group_member) continue;
    // A party pays once per shop: its first member stands for it.
    if (v.group != kNone && !schedule.groups[v.group].visits.empty() && schedule.groups[v.group].visits.front() != v.id) {
      continue;
    }
    for (const ZoneStay& stay : v.stays) {
      const Zone& zone = scenario.zones[stay.zone];
      if (zone.sale_share <= 0.0) continue;
      // Draw every number before deciding, so one visit's outcome never shifts the next visit's draws.
      const bool buys = rng.chance(zone.sale_share);
      const double amount = std::max(zone.sale_min, rng.lognormal(zone.sale_median, zone.sale_sigma));
      const double at = rng.uniform(0.5, 1.0);  // people pay towards the end of their stay
      if (!buys) continue;
      const auto span = static_cast<double>(stay.leave_ns - stay.enter_ns);
      const std::int64_t t = stay.enter_ns + static_cast<std::int64_t>(span * at);
      const std::int64_t t_ms = t / kNsPerMs * kNsPerMs;
      if (t_ms > end_ns || t_ms < v.arrival_ns) continue;
      sales.push_back({.sale_id = {}, .visit = v.id, .device = v.device, .zone = stay.zone, .time_ns = t_ms,
                       .amount_cents = std::llround(amount * 100.0)});
    }
  }
  std::stable_sort(sales.begin(), sales.end(), [](const Sale& a, const Sale& b) { return a.time_ns < b.time_ns; });
  for (std::size_t i = 0; i < sales.size(); ++i) {
    char number[24];
    std::snprintf(number, sizeof number, "%06zu", i + 1);
    sales[i].sale_id = site + "-" + number;
  }
  return sales;
}

std::string format_utc_ms(std::int64_t ns) {
  const std::int64_t ms = ns >= 0 ? ns / kNsPerMs : (ns - kNsPerMs + 1) / kNsPerMs;
  const std::int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  std::string text = format_utc(seconds * 1000 * kNsPerMs);  // whole seconds: no fraction, ends in 'Z'
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(ms - seconds * 1000));
  text.pop_back();
  return text + fraction;
}

std::string format_amount(std::int64_t cents) {
  char buf[32];
  const std::int64_t whole = cents / 100;
  const std::int64_t rest = cents % 100;
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", cents < 0 ? "-" : "", static_cast<long long>(whole < 0 ? -whole : whole),
                static_cast<long long>(rest < 0 ? -rest : rest));
  return buf;
}

void write_sales_csv(const std::filesystem::path& path, const std::string& site, const std::vector<Sale>& sales) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot create " + path.string());
  out << "sale_id,site,time,amount\n";
  const std::string site_field = csv_field(site);
  for (const Sale& s : sales) {
    out << csv_field(s.sale_id) << ',' << site_field << ',' << format_utc_ms(s.time_ns) << ','
        << format_amount(s.amount_cents) << '\n';
  }
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace footfall::sim
