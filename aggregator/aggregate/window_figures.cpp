#include "aggregator/aggregate/window_figures.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace footfall::aggregator {
namespace {

std::optional<double> ratio(double num, double den) {
  if (den == 0) return std::nullopt;
  return num / den;
}

nlohmann::json or_null(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

SalesLedger::SalesLedger(const std::vector<Sale>& sales) {
  std::vector<std::pair<TimeMs, double>> s;
  s.reserve(sales.size());
  for (const auto& x : sales) s.emplace_back(x.at, x.amount);
  std::sort(s.begin(), s.end());
  at_.reserve(s.size());
  cumulative_.reserve(s.size() + 1);
  cumulative_.push_back(0);
  for (const auto& [at, amount] : s) {
    at_.push_back(at);
    cumulative_.push_back(cumulative_.back() + amount);
  }
}

std::pair<std::int64_t, double> SalesLedger::in(TimeMs from, TimeMs to) const {
  const auto b = static_cast<std::size_t>(std::lower_bound(at_.begin(), at_.end(), from) - at_.begin());
  const auto e = static_cast<std::size_t>(std::lower_bound(at_.begin(), at_.end(), to) - at_.begin());
  if (e <= b) return {0, 0.0};
  return {static_cast<std::int64_t>(e - b), cumulative_[e] - cumulative_[b]};
}

std::size_t OccupancyCurve::arrived_by(TimeMs t, std::size_t from) const {
  return static_cast<std::size_t>(
      std::partition_point(rows_.begin() + static_cast<std::ptrdiff_t>(from), rows_.end(),
                           [t](const VisitRow& r) { return r.arrival <= t; }) -
      rows_.begin());
}

std::int64_t OccupancyCurve::at(TimeMs t) const {
  const auto arrived = arrived_by(t, 0);
  const auto left = std::lower_bound(departures_.begin(), departures_.end(), t) - departures_.begin();
  return static_cast<std::int64_t>(arrived) - static_cast<std::int64_t>(left);
}

std::pair<std::int64_t, TimeMs> OccupancyCurve::peak(TimeMs from, TimeMs to) const {
  std::int64_t count = at(from);
  std::pair<std::int64_t, TimeMs> best{count, from};
  auto d = std::lower_bound(departures_.begin(), departures_.end(), from);
  // The count only rises at an arrival: evaluate just after each one, departures before it taken off.
  for (std::size_t a = arrived_by(from, 0); a < rows_.size() && rows_[a].arrival < to; ++a) {
    const TimeMs t = rows_[a].arrival;
    while (d != departures_.end() && *d < t) {
      --count;
      ++d;
    }
    ++count;
    if (count > best.first) best = {count, t};
  }
  return best;
}

std::vector<std::int64_t> OccupancyCurve::samples(TimeMs from, TimeMs to, TimeMs step) const {
  std::vector<std::int64_t> out;
  if (to <= from || step <= 0) return out;
  out.reserve(static_cast<std::size_t>((to - from + step - 1) / step));
  std::size_t a = 0;
  auto d = departures_.begin();
  for (TimeMs t = from; t < to; t += step) {
    a = arrived_by(t, a);
    d = std::lower_bound(d, departures_.end(), t);
    out.push_back(static_cast<std::int64_t>(a) - static_cast<std::int64_t>(d - departures_.begin()));
  }
  return out;
}

int dwell_bucket(TimeMs dwell_ms) {
  int b = 0;
  for (int i = 1; i < 6; ++i) {
    if (static_cast<double>(dwell_ms) >= dwell_bucket_lower_min[static_cast<std::size_t>(i)] * 60'000.0) b = i;
  }
  return b;
}

WindowScratch::WindowScratch(const VisitTable& t, const SalesLedger& s)
    : table(t),
      sales(s),
      occupancy_(t),
      stamps_(static_cast<std::size_t>(t.devices)) {}

WindowFigures WindowScratch::figures(TimeMs from, TimeMs to, WindowDetail detail) {
  const std::int32_t gen = ++generation_;
  WindowFigures f;
  f.from = from;
  f.to = to;
  const auto [b, e] = table.slice(from, to);
  bounced_devices_.clear();
  visitor_devices_.clear();
  dwells_.clear();
  double dwell_sum = 0;
  const bool full = detail == WindowDetail::full;
  const std::size_t zones = table.zone_names.size();
  // Dense transition counts for ordinary sites; a sparse map when there are too many zones for a square table.
  const bool dense = zones <= 512;
  std::vector<std::int64_t> transitions(full && dense ? zones * zones : 0, 0);
  std::unordered_map<std::size_t, std::int64_t> sparse_transitions;
  std::vector<std::int64_t> entry(full ? zones : 0, 0);
  std::vector<std::int64_t> exit(full ? zones : 0, 0);

  for (std::size_t i = b; i < e; ++i) {
    const VisitRow& r = table.rows[i];
    DeviceStamps& st = stamps_[static_cast<std::size_t>(r.device)];
    ++f.detected_visits;
    if (st.aware != gen) {
      st.aware = gen;
      ++f.awareness;
    }
    if (r.is(bounce)) {
      ++f.dwell_bounces[static_cast<std::size_t>(dwell_bucket(r.dwell_ms()))];
      if (st.bounce != gen) {
        st.bounce = gen;
        bounced_devices_.push_back(r.device);
      }
    }
    if (!r.is(visitor)) continue;
    ++f.visitor_visits;
    ++f.arrivals_by_hour[static_cast<std::size_t>(table.clock.hour_of_day(r.arrival))];
    ++f.dwell_visitors[static_cast<std::size_t>(dwell_bucket(r.dwell_ms()))];
    const double dwell_min = static_cast<double>(r.dwell_ms()) / 60'000.0;
    dwell_sum += dwell_min;
    dwells_.push_back(dwell_min);
    if (st.visitor != gen) {
      st.visitor = gen;
      ++f.visitors;
      if (full) {
        st.visits = 0;
        visitor_devices_.push_back(r.device);
      }
    }
    // Returning in the window: on some day of it, back within the returning window of an earlier visit.
    if (r.is(returning) && st.returning != gen) {
      st.returning = gen;
      ++f.returning_visitors;
    }
    if (r.is(engaged) && st.engaged != gen) {
      st.engaged = gen;
      ++f.activation;
    }
    if (r.is(referred) && st.referred != gen) {
      st.referred = gen;
      ++f.refer_estimate;
    }
    if (full) {
      ++st.visits;
      if (r.entry_zone >= 0) ++entry[static_cast<std::size_t>(r.entry_zone)];
      if (r.exit_zone >= 0) ++exit[static_cast<std::size_t>(r.exit_zone)];
      for (std::uint32_t k = 1; k < r.path_len; ++k) {
        const auto z0 = static_cast<std::size_t>(table.paths[r.path_begin + k - 1]);
        const auto z1 = static_cast<std::size_t>(table.paths[r.path_begin + k]);
        if (dense) {
          ++transitions[z0 * zones + z1];
        } else {
          ++sparse_transitions[z0 * zones + z1];
        }
      }
    }
  }
  f.new_visitors = f.visitors - f.returning_visitors;
  for (const auto dev : bounced_devices_) {
    if (stamps_[static_cast<std::size_t>(dev)].visitor != gen) ++f.bounces;
  }
  if (!dwells_.empty()) {
    f.dwell_mean_min = dwell_sum / static_cast<double>(dwells_.size());
    const std::size_t mid = dwells_.size() / 2;
    std::nth_element(dwells_.begin(), dwells_.begin() + static_cast<std::ptrdiff_t>(mid), dwells_.end());
    double median = dwells_[mid];
    if (dwells_.size() % 2 == 0) {
      median = (median + *std::max_element(dwells_.begin(), dwells_.begin() + static_cast<std::ptrdiff_t>(mid))) / 2;
    }
    f.dwell_median_min = median;
    const auto peak = std::max_element(f.arrivals_by_hour.begin(), f.arrivals_by_hour.end());
    f.peak_hour = static_cast<int>(peak - f.arrivals_by_hour.begin());
  }
  const auto [occupancy, occupancy_at] = occupancy_.peak(from, to);
  f.peak_occupancy = occupancy;
  f.peak_occupancy_at = occupancy_at;
  const auto [transactions, revenue] = sales.in(from, to);
  f.transactions = transactions;
  f.revenue = revenue;

  if (full) {
    std::map<std::int64_t, std::int64_t> frequency;
    for (const auto dev : visitor_devices_) ++frequency[stamps_[static_cast<std::size_t>(dev)].visits];
    f.frequency.assign(frequency.begin(), frequency.end());
    auto counted = [&](const std::vector<std::int64_t>& counts) {
      std::vector<std::pair<std::int64_t, std::size_t>> order;
      for (std::size_t z = 0; z < counts.size(); ++z) {
        if (counts[z] > 0) order.emplace_back(-counts[z], z);
      }
      std::sort(order.begin(), order.end());
      nlohmann::json out = nlohmann::json::array();
      for (const auto& [neg, z] : order) out.push_back({{"zone", table.zone_names[z]}, {"count", -neg}});
      return out;
    };
    std::vector<std::pair<std::int64_t, std::size_t>> moves;
    for (std::size_t k = 0; k < transitions.size(); ++k) {
      if (transitions[k] > 0) moves.emplace_back(-transitions[k], k);
    }
    for (const auto& [k, n] : sparse_transitions) moves.emplace_back(-n, k);
    std::sort(moves.begin(), moves.end());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [neg, k] : moves) {
      list.push_back({{"from", table.zone_names[k / zones]}, {"to", table.zone_names[k % zones]}, {"count", -neg}});
    }
    f.zone_flow = {{"transitions", std::move(list)}, {"entry", counted(entry)}, {"exit", counted(exit)}};
  }
  return f;
}

nlohmann::json figures_json(const WindowFigures& f, const LocalClock& clock) {
  const auto visitors = static_cast<double>(f.visitors);
  nlohmann::json j = {
      {"awareness", f.awareness},
      {"acquisition", f.visitors},
      {"activation", f.activation},
      {"capture_rate", or_null(ratio(visitors, static_cast<double>(f.awareness)))},
      {"activation_rate", or_null(ratio(static_cast<double>(f.activation), visitors))},
      {"retain_rate", or_null(ratio(static_cast<double>(f.returning_visitors), visitors))},
      {"transactions", f.transactions},
      {"revenue", f.revenue},
      {"conversion", or_null(ratio(static_cast<double>(f.transactions), visitors))},
      {"revenue_per_visitor", or_null(ratio(f.revenue, visitors))},
      {"refer_estimate", f.refer_estimate},
      {"passers_by", f.awareness - f.visitors},
      {"visitors", f.visitors},
      {"visitor_visits", f.visitor_visits},
      {"detected_visits", f.detected_visits},
      {"bounces", f.bounces},
      {"bounce_rate", or_null(ratio(static_cast<double>(f.bounces), static_cast<double>(f.visitors + f.bounces)))},
      {"new_visitors", f.new_visitors},
      {"returning_visitors", f.returning_visitors},
      {"dwell_mean_min", or_null(f.dwell_mean_min)},
      {"dwell_median_min", or_null(f.dwell_median_min)},
      {"peak_hour", f.peak_hour ? nlohmann::json(*f.peak_hour) : nlohmann::json(nullptr)},
      {"peak_occupancy", f.peak_occupancy},
      {"peak_occupancy_at", f.peak_occupancy > 0 ? nlohmann::json(clock.local_minute(f.peak_occupancy_at))
                                                 : nlohmann::json(nullptr)},
  };
  return j;
}

}  // namespace footfall::aggregator
