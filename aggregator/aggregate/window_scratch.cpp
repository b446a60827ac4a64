#include "aggregator/aggregate/window_scratch.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace footfall::aggregator {

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
    : table_(t),
      sales_(s),
      occupancy_(t),
      stamps_(static_cast<std::size_t>(t.devices)) {}

// Where the window's visitor visits entered, left and moved: counted on zone ids, named at the end.
class WindowScratch::ZoneTally {
 public:
  explicit ZoneTally(std::size_t zones)
      : zones_(zones), dense_(zones <= 512), transitions_(dense_ ? zones * zones : 0, 0), entry_(zones, 0),
        exit_(zones, 0) {}

  void count(const VisitRow& r, const std::vector<std::int32_t>& paths) {
    if (r.entry_zone >= 0) ++entry_[static_cast<std::size_t>(r.entry_zone)];
    if (r.exit_zone >= 0) ++exit_[static_cast<std::size_t>(r.exit_zone)];
    for (std::uint32_t k = 1; k < r.path_len; ++k) {
      const auto z0 = static_cast<std::size_t>(paths[r.path_begin + k - 1]);
      const auto z1 = static_cast<std::size_t>(paths[r.path_begin + k]);
      if (dense_) {
        ++transitions_[z0 * zones_ + z1];
      } else {
        ++sparse_transitions_[z0 * zones_ + z1];
      }
    }
  }

  ZoneFlow flow(const std::vector<std::string>& names) const {
    ZoneFlow out;
    std::vector<std::pair<std::int64_t, std::size_t>> moves;
    for (std::size_t k = 0; k < transitions_.size(); ++k) {
      if (transitions_[k] > 0) moves.emplace_back(-transitions_[k], k);
    }
    for (const auto& [k, n] : sparse_transitions_) moves.emplace_back(-n, k);
    std::sort(moves.begin(), moves.end());
    for (const auto& [neg, k] : moves) out.transitions.push_back({names[k / zones_], names[k % zones_], -neg});
    out.entry = ranked(entry_, names);
    out.exit = ranked(exit_, names);
    return out;
  }

 private:
  static std::vector<ZoneCount> ranked(const std::vector<std::int64_t>& counts, const std::vector<std::string>& names) {
    std::vector<std::pair<std::int64_t, std::size_t>> order;
    for (std::size_t z = 0; z < counts.size(); ++z) {
      if (counts[z] > 0) order.emplace_back(-counts[z], z);
    }
    std::sort(order.begin(), order.end());
    std::vector<ZoneCount> out;
    for (const auto& [neg, z] : order) out.push_back({names[z], -neg});
    return out;
  }

  std::size_t zones_;
  // Dense transition counts for ordinary sites; a sparse map when there are too many zones for a square table.
  bool dense_;
  std::vector<std::int64_t> transitions_;
  std::unordered_map<std::size_t, std::int64_t> sparse_transitions_;
  std::vector<std::int64_t> entry_;
  std::vector<std::int64_t> exit_;
};

WindowFigures WindowScratch::figures(TimeMs from, TimeMs to, WindowDetail detail) {
  const std::int32_t gen = ++generation_;
  WindowFigures f;
  f.from = from;
  f.to = to;
  bounced_devices_.clear();
  visitor_devices_.clear();
  dwells_.clear();
  std::optional<ZoneTally> zones;
  if (detail == WindowDetail::full) zones.emplace(table_.zone_names.size());
  const auto [b, e] = table_.slice(from, to);
  for (std::size_t i = b; i < e; ++i) count_visit(table_.rows[i], gen, f, zones ? &*zones : nullptr);
  f.new_visitors = f.visitors - f.returning_visitors;
  for (const auto dev : bounced_devices_) {
    if (stamps_[static_cast<std::size_t>(dev)].visitor != gen) ++f.bounces;
  }
  settle_dwell(f);
  f.residents = residents_present(from, to, gen);
  const auto [occupancy, occupancy_at] = occupancy_.peak(from, to);
  f.peak_occupancy = occupancy;
  f.peak_occupancy_at = occupancy_at;
  const auto [transactions, revenue] = sales_.in(from, to);
  f.transactions = transactions;
  f.revenue = revenue;
  if (zones) {
    std::map<std::int64_t, std::int64_t> frequency;
    for (const auto dev : visitor_devices_) ++frequency[stamps_[static_cast<std::size_t>(dev)].visits];
    f.frequency.assign(frequency.begin(), frequency.end());
    f.zone_flow = zones->flow(table_.zone_names);
  }
  return f;
}

void WindowScratch::count_visit(const VisitRow& r, std::int32_t gen, WindowFigures& f, ZoneTally* zones) {
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
  if (!r.is(visitor)) return;
  ++f.visitor_visits;
  ++f.arrivals_by_hour[static_cast<std::size_t>(table_.clock.hour_of_day(r.arrival))];
  ++f.dwell_visitors[static_cast<std::size_t>(dwell_bucket(r.dwell_ms()))];
  dwells_.push_back(static_cast<double>(r.dwell_ms()) / 60'000.0);
  if (st.visitor != gen) {
    st.visitor = gen;
    ++f.visitors;
    if (zones != nullptr) {
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
  if (zones != nullptr) {
    ++st.visits;
    zones->count(r, table_.paths);
  }
}

// Distinct devices with a resident visit present in [from, to): arrival before `to`, departure at or after `from`.
std::int64_t WindowScratch::residents_present(TimeMs from, TimeMs to, std::int32_t gen) {
  std::int64_t n = 0;
  const auto [b, e] = table_.resident_slice(from - table_.longest_resident_ms, to);
  for (std::size_t i = b; i < e; ++i) {
    const VisitRow& r = table_.resident_rows[i];
    DeviceStamps& st = stamps_[static_cast<std::size_t>(r.device)];
    if (r.departure < from || st.resident == gen) continue;
    st.resident = gen;
    ++n;
  }
  return n;
}

void WindowScratch::settle_dwell(WindowFigures& f) {
  if (dwells_.empty()) return;
  double dwell_sum = 0;
  for (const double d : dwells_) dwell_sum += d;  // in arrival order, before nth_element reorders
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

}  // namespace footfall::aggregator
