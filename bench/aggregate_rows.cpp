// A site-year of visits for bench/aggregate_report.sh: generates them, writes the same rows as CSV for
// SQLite, times report_document over them and writes the figures SQLite is asked for, to compare.
//   aggregate_rows VISITS OUT_DIR [TIME_ZONE]
//   aggregate_rows recompute VISITS [REPEAT]   the publisher's recompute of one site, timed (see recompute())
// With TIME_ZONE (Europe/Paris) the site keeps summer time: the report's days then differ from the SQL
// peer's fixed UTC+1 from the end of March, so this is for timing the tz database against the fixed offset.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "aggregator/aggregate/report_document.h"

using namespace footfall::aggregator;

namespace {

constexpr TimeMs minute = 60'000;
constexpr TimeMs day = 86'400'000;
constexpr int offset_min = 60;                            // the site is at UTC+1
constexpr TimeMs year_from = 1'704'067'200'000 - 3'600'000;  // 2024-01-01 00:00 local
constexpr int days_in_year = 366;

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

std::string pseudonym(std::uint64_t id) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(splitmix(id)),
                static_cast<unsigned long long>(splitmix(id ^ 0xABCDEFULL)));
  return buf;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::vector<Visit> generate(std::size_t count) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  // Arrival times first (local hours 8..22, busier in the afternoon), then the visits in arrival order.
  std::vector<TimeMs> arrivals(count);
  for (auto& a : arrivals) {
    const auto d = static_cast<TimeMs>(rng() % days_in_year);
    const double h = 8 + 14 * std::pow(u(rng), 0.7);
    a = year_from + d * day + static_cast<TimeMs>(h * 3'600'000.0);
  }
  std::sort(arrivals.begin(), arrivals.end());
  const std::vector<std::string> zone_names = {"entrance", "food", "fashion", "shoes"};
  std::vector<Visit> visits(count);
  for (std::size_t i = 0; i < count; ++i) {
    Visit& v = visits[i];
    v.tenant = "acme";
    v.site = "mall-7";
    const std::uint64_t device = u(rng) < 0.4 ? rng() % 30'000 : 30'000 + rng() % 1'500'000;
    v.device = pseudonym(device);
    v.key_epoch = 0;  // a tenant with a year-long key: returning visitors exist
    v.visit_id = pseudonym(device * 1'000'003 + i);
    v.arrival = arrivals[i];
    const double kind = u(rng);
    auto add_probe = [&](const std::string& zone, TimeMs first, TimeMs last, double rssi) {
      ProbeSignal p;
      p.probe = "p-" + zone;
      p.zone = zone;
      p.first_seen = first;
      p.last_seen = last;
      p.frames = 1 + static_cast<std::int64_t>((last - first) / 20'000);
      p.rssi_mean = std::round(rssi * 4) / 4;
      p.rssi_max = static_cast<int>(rssi) + 6;
      v.probes.push_back(p);
    };
    if (kind < 0.55) {  // passer-by: heard faintly for a moment
      v.departure = v.arrival + 20'000 + static_cast<TimeMs>(u(rng) * 220'000);
      add_probe("entrance", v.arrival, v.departure, -90 + u(rng) * 24);
      v.zones = {"entrance"};
    } else if (kind < 0.65) {  // bounce: came in, left quickly
      v.departure = v.arrival + minute + static_cast<TimeMs>(u(rng) * 9 * minute);
      add_probe("entrance", v.arrival, v.departure, -75);
      add_probe("food", v.arrival + 5'000, v.arrival + 10'000 + static_cast<TimeMs>(u(rng) * 280'000), -55);
      v.zones = {"entrance", "food"};
    } else {  // visitor
      const double minutes = 4 + std::min(300.0, -std::log(1 - u(rng)) * 35);
      v.departure = v.arrival + static_cast<TimeMs>(minutes * minute);
      const TimeMs span = v.departure - v.arrival;
      const std::size_t zones = 1 + rng() % 3;
      TimeMs at = v.arrival;
      for (std::size_t z = 0; z < zones; ++z) {
        const TimeMs end = z + 1 == zones ? v.departure : at + span / static_cast<TimeMs>(zones);
        add_probe(zone_names[z], at, end, -70 + u(rng) * 25);
        v.zones.push_back(zone_names[z]);
        v.strongest_zone.push_back({at, zone_names[z]});
        at = end - static_cast<TimeMs>(u(rng) * 60'000);
      }
    }
    v.dwell_s = static_cast<double>(v.departure - v.arrival) / 1000.0;
    v.entry_zone = v.zones.front();
    v.exit_zone = v.zones.back();
  }
  return visits;
}

void write_csv(const std::vector<Visit>& visits, const std::string& dir) {
  std::FILE* fv = std::fopen((dir + "/visits.csv").c_str(), "w");
  std::FILE* fp = std::fopen((dir + "/probes.csv").c_str(), "w");
  if (fv == nullptr || fp == nullptr) {
    std::perror("aggregate_rows: cannot write CSV");
    std::exit(1);
  }
  for (std::size_t i = 0; i < visits.size(); ++i) {
    const Visit& v = visits[i];
    std::fprintf(fv, "%zu,%lld,%s,%lld,%lld\n", i, static_cast<long long>(v.key_epoch), v.device.c_str(),
                 static_cast<long long>(v.arrival), static_cast<long long>(v.departure));
    for (const auto& p : v.probes) {
      std::fprintf(fp, "%zu,%lld,%lld,%.2f\n", i, static_cast<long long>(p.first_seen),
                   static_cast<long long>(p.last_seen), p.rssi_mean);
    }
  }
  std::fclose(fv);
  std::fclose(fp);
}

}  // namespace

// The publisher's recompute of one site: its current hour, day, week and month and the day before's alerts, at
// 2024-12-16 15:00 local, from the visits of the month less the lookback. Once with one visit table per job
// (each period_figures and daily_alerts call builds its own), once with one SiteFigures for all, as the
// publisher does; best of `repeat`, CPU seconds.
int recompute(std::size_t count, int repeat) {
  const std::vector<Visit> year = generate(count);
  SiteThresholds thr;
  thr.utc_offset_min = offset_min;
  const TimeMs now = year_from + 350 * day + 15 * 3'600'000;
  const std::array<Period, 4> periods{Period::hour, Period::day, Period::week, Period::month};
  const TimeMs from = period_start_containing(Period::month, now, thr) - lookback_ms(thr);
  const TimeMs to = period_end(Period::month, period_start_containing(Period::month, now, thr), thr);
  std::vector<Visit> visits;
  for (const Visit& v : year)
    if (v.arrival >= from && v.arrival < to) visits.push_back(v);
  const TimeMs yesterday = period_start_containing(Period::day, now, thr) - day;
  const auto best = [&](auto&& run) {
    double best_cpu = 1e9;
    std::size_t sink = 0;
    for (int r = 0; r < repeat; ++r) {
      const double cpu0 = cpu_seconds();
      sink += run();
      best_cpu = std::min(best_cpu, cpu_seconds() - cpu0);
    }
    return std::pair{best_cpu, sink};
  };
  const auto [per_job, a] = best([&] {
    std::size_t n = 0;
    for (const Period p : periods) n += period_figures(visits, {}, thr, p, period_start_containing(p, now, thr)).size();
    return n + daily_alerts(visits, {}, thr, yesterday).size();
  });
  const auto [shared, b] = best([&] {
    SiteFigures site(visits, {}, thr);
    std::size_t n = 0;
    for (const Period p : periods) n += site.period(p, period_start_containing(p, now, thr)).size();
    return n + site.alerts(yesterday).size();
  });
  std::printf("recompute of one site: %zu visits in the window (%.0f a day over the year), four periods and one "
              "alert day\n  one table per job: %.3f CPU s\n  one table for all (the publisher): %.3f CPU s (%.1fx)\n",
              visits.size(), static_cast<double>(count) / days_in_year, per_job, shared,
              shared > 0 ? per_job / shared : 0.0);
  return a == b ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "recompute")
    return recompute(static_cast<std::size_t>(std::stoull(argv[2])), argc > 3 ? std::stoi(argv[3]) : 3);
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: aggregate_rows VISITS OUT_DIR [TIME_ZONE]\n       aggregate_rows recompute VISITS [REPEAT]\n");
    return 2;
  }
  const auto count = static_cast<std::size_t>(std::stoull(argv[1]));
  const std::string dir = argv[2];
  const std::vector<Visit> visits = generate(count);
  write_csv(visits, dir);
  std::vector<Sale> sales;
  for (int d = 0; d < days_in_year; ++d) {
    for (int k = 0; k < 200; ++k) {
      sales.push_back({"acme", "mall-7", std::to_string(d) + "-" + std::to_string(k),
                       year_from + d * day + 10 * 3'600'000 + k * minute, 10.0 + k % 50});
    }
  }

  SiteThresholds thr;
  thr.utc_offset_min = offset_min;
  if (argc == 4) thr = SiteThresholds::from_json({{"time_zone", argv[3]}});
  thr.resident_min_hours = 0;  // the SQL peer has no resident rule: off on both sides so the outputs compare
  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  const nlohmann::json doc =
      to_json(report_document(visits, sales, thr, year_from, year_from + days_in_year * day, "acme", "mall-7"));
  const double cpu = cpu_seconds() - cpu0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();

  std::ofstream(dir + "/report.json") << doc.dump();
  std::ofstream out(dir + "/ours.tsv");
  for (const auto& d : doc.at("days")) {
    out << "day\t" << d.at("date").get<std::string>() << '\t' << d.at("awareness") << '\t' << d.at("visitors") << '\t'
        << d.at("passers_by") << '\t' << d.at("new_visitors") << '\t' << d.at("returning_visitors") << '\n';
  }
  for (const auto& b : doc.at("dwell_histogram")) {
    if (b.at("visitors") != 0) out << "bucket\t" << b.at("bucket").get<std::string>() << '\t' << b.at("visitors") << '\n';
  }
  out << "peak_hour\t" << doc.at("summary").at("peak_hour") << '\n';
  const auto& s = doc.at("summary");
  std::printf("visits %zu, devices aware %lld, visitors %lld, visitor visits %lld, returning %lld\n", visits.size(),
              s.at("awareness").get<long long>(), s.at("visitors").get<long long>(),
              s.at("visitor_visits").get<long long>(), s.at("returning_visitors").get<long long>());
  std::printf("report_document: wall %.3f s, cpu %.3f s (days %zu, hours %zu, alerts %zu)\n", wall, cpu,
              doc.at("days").size(), doc.at("hours").size(), doc.at("alerts").size());
  return 0;
}
