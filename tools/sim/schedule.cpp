#include "tools/sim/schedule.h"

#include <algorithm>
#include <cmath>

namespace footfall::sim {
namespace {

Point lerp(Point a, Point b, double f) { return {a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f}; }

double distance(Point a, Point b) { return std::hypot(a.x - b.x, a.y - b.y); }

double fraction(std::int64_t t, std::int64_t from, std::int64_t to) {
  if (to <= from) return 1.0;
  return std::clamp(static_cast<double>(t - from) / static_cast<double>(to - from), 0.0, 1.0);
}

constexpr double kNsPerSecond = 1e9;

}  // namespace

Point Visit::position_at(std::int64_t t_ns) {
  if (outdoor) return lerp(walk_from, walk_to, fraction(t_ns, arrival_ns, departure_ns));
  if (stays.empty()) return walk_from;
  while (stay_cursor + 1 < stays.size() && stays[stay_cursor].leave_ns < t_ns) ++stay_cursor;
  const ZoneStay& stay = stays[stay_cursor];
  if (t_ns >= stay.enter_ns || stay_cursor == 0) return stay.spot;
  const ZoneStay& previous = stays[stay_cursor - 1];  // walking from the previous zone to this one
  return lerp(previous.spot, stay.spot, fraction(t_ns, previous.leave_ns, stay.enter_ns));
}

DayPlanner::DayPlanner(const Scenario& scenario, PlannerOptions options, std::uint64_t seed)
    : scenario_(scenario), options_(options), rng_(seed) {
  for (std::uint32_t z = 0; z < scenario_.zones.size(); ++z) {
    if (scenario_.zones[z].entrance) entrances_.push_back(z);
  }
  if (entrances_.empty()) entrances_.push_back(0);
}

std::int64_t DayPlanner::scaled_ns(double real_seconds) const {
  return std::llround(real_seconds / options_.time_scale * kNsPerSecond);
}

Point DayPlanner::spot_in(const Zone& zone) {
  const double angle = rng_.uniform(0.0, 6.283185307179586);
  const double r = zone.radius_m * std::sqrt(rng_.uniform());  // uniform over the disc
  return {zone.centre.x + r * std::cos(angle), zone.centre.y + r * std::sin(angle)};
}

namespace {

MacAddress address_with(std::uint32_t oui, std::uint64_t serial) {
  MacAddress m;
  m.octets = {static_cast<std::uint8_t>(oui >> 16), static_cast<std::uint8_t>(oui >> 8),
              static_cast<std::uint8_t>(oui),       static_cast<std::uint8_t>(serial >> 16),
              static_cast<std::uint8_t>(serial >> 8), static_cast<std::uint8_t>(serial)};
  return m;
}

}  // namespace

std::uint32_t DayPlanner::new_device(Schedule& schedule, Role role, bool staff) {
  const auto& b = scenario_.behaviour;
  const auto& mix = staff ? b.staff_model_mix : b.visitor_model_mix;
  Device d;
  d.id = static_cast<std::uint32_t>(schedule.devices.size());
  d.model = static_cast<std::uint16_t>(mix.empty() ? rng_.index(scenario_.models.size()) : rng_.weighted(mix));
  const DeviceModel& model = scenario_.models[d.model];
  if (!model.ie_tail_variants.empty()) {
    std::vector<double> shares;
    for (std::size_t k = 0; k < model.ie_tail_variants.size(); ++k) shares.push_back(1.0 / static_cast<double>(k + 1));
    d.variant = static_cast<std::uint8_t>(rng_.weighted(shares));
  }
  d.role = role;
  // Associated devices keep one address, the private one of their network where the model randomizes. The
  // override is the share of devices with random addresses; without it the model says.
  d.associated = role != Role::passer_by && rng_.chance(staff ? b.staff_associated_share : b.associated_share);
  const double random_share = options_.randomizing_share.value_or(model.randomizing_share);
  const bool random = rng_.chance(random_share);
  d.addressing = !random ? Addressing::fixed : d.associated ? Addressing::stable : Addressing::rotating;
  d.rotation = model.rotation;
  if (options_.mac_change_per_burst) {
    d.rotation = AddressRotation::chance_per_burst;
    d.mac_change_per_burst = *options_.mac_change_per_burst;
  }
  const std::uint32_t oui = model.universal_ouis[rng_.index(model.universal_ouis.size())];
  d.universal_mac = address_with(oui, rng_.bits());
  const std::uint64_t bits = rng_.bits();
  for (std::size_t i = 0; i < 6; ++i) d.stable_mac.octets[i] = static_cast<std::uint8_t>(bits >> (8 * i));
  d.stable_mac.octets[0] = static_cast<std::uint8_t>((d.stable_mac.octets[0] & 0xfc) | 0x02);  // local, unicast
  d.tx_offset_db = rng_.normal(0.0, 2.0);
  const auto remembered = rng_.uniform_int(0, 3);
  for (std::int64_t i = 0; i < remembered && !scenario_.remembered_ssids.empty(); ++i) {
    d.remembered[static_cast<std::size_t>(i)] =
        static_cast<std::int16_t>(rng_.index(scenario_.remembered_ssids.size()));
  }
  d.next_seq = static_cast<std::uint16_t>(rng_.uniform_int(0, 4095));
  schedule.devices.push_back(std::move(d));
  return schedule.devices.back().id;
}

Visit& DayPlanner::new_visit(Schedule& schedule, std::uint32_t device, std::int64_t arrival_ns,
                             const DayWindow& window) {
  Visit v;
  v.device = device;
  v.role = schedule.devices[device].role;
  v.group = schedule.devices[device].group;
  v.day = window.day;
  v.arrival_ns = arrival_ns;
  v.heard.resize(scenario_.probes.size());
  schedule.visits.push_back(std::move(v));
  return schedule.visits.back();
}

std::vector<std::uint32_t> DayPlanner::pick_route() {
  const auto& b = scenario_.behaviour;
  std::vector<std::uint32_t> route{entrances_[rng_.index(entrances_.size())]};
  std::vector<std::uint32_t> inside;
  std::vector<double> weights;
  for (std::uint32_t z = 0; z < scenario_.zones.size(); ++z) {
    if (scenario_.zones[z].entrance) continue;
    inside.push_back(z);
    weights.push_back(scenario_.zones[z].attraction);
  }
  if (b.ordered_route) {  // attraction is the chance to go there, in the site's order
    for (std::size_t i = 0; i < inside.size(); ++i) {
      if (rng_.chance(weights[i])) route.push_back(inside[i]);
    }
    if (route.size() == 1 && !inside.empty()) {
      route.push_back(inside[static_cast<std::size_t>(std::max_element(weights.begin(), weights.end()) -
                                                      weights.begin())]);
    }
  } else {  // attraction weighs the choice of zones, drawn without replacement in visiting order
    auto count = static_cast<std::size_t>(rng_.uniform_int(b.min_zones, b.max_zones));
    count = std::min(count, inside.size());
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t pick = rng_.weighted(weights);
      route.push_back(inside[pick]);
      weights[pick] = 0.0;
    }
  }
  route.push_back(entrances_[rng_.index(entrances_.size())]);
  return route;
}

void DayPlanner::plan_route(Visit& visit, const std::vector<std::uint32_t>& route) {
  const auto& b = scenario_.behaviour;
  std::int64_t t = visit.arrival_ns;
  for (std::size_t i = 0; i < route.size(); ++i) {
    const Zone& zone = scenario_.zones[route[i]];
    ZoneStay stay{.zone = route[i], .enter_ns = t, .leave_ns = t, .spot = spot_in(zone)};
    if (i > 0) {  // walk from the previous spot
      const double walk_s = distance(visit.stays.back().spot, stay.spot) / b.walk_speed_mps;
      stay.enter_ns = visit.stays.back().leave_ns + scaled_ns(walk_s);
    }
    const double median = (i + 1 == route.size() && zone.entrance) ? zone.dwell_median_s / 2 : zone.dwell_median_s;
    const double stay_s = std::clamp(rng_.lognormal(median, b.dwell_sigma), 15.0, 4.0 * 3600.0);
    stay.leave_ns = stay.enter_ns + scaled_ns(stay_s);
    visit.stays.push_back(stay);
    t = stay.leave_ns;
  }
  visit.departure_ns = t;
}

void DayPlanner::follow(Visit& visit, const Visit& leader) {
  const std::int64_t lag = scaled_ns(rng_.uniform(0.0, 20.0));  // walking in one after the other
  visit.arrival_ns = leader.arrival_ns + lag;
  for (const ZoneStay& lead : leader.stays) {
    ZoneStay stay = lead;
    stay.enter_ns = lead.enter_ns + lag;
    stay.leave_ns = std::max(stay.enter_ns, lead.leave_ns + lag + scaled_ns(rng_.uniform(-10.0, 10.0)));
    stay.spot = {lead.spot.x + rng_.uniform(-1.5, 1.5), lead.spot.y + rng_.uniform(-1.5, 1.5)};
    if (!visit.stays.empty()) stay.enter_ns = std::max(stay.enter_ns, visit.stays.back().leave_ns);
    stay.leave_ns = std::max(stay.leave_ns, stay.enter_ns);
    visit.stays.push_back(stay);
  }
  visit.departure_ns = visit.stays.empty() ? visit.arrival_ns : visit.stays.back().leave_ns;
}

void DayPlanner::plan_passer_by(Visit& visit) {
  Point centroid;
  for (const Zone& z : scenario_.zones) {
    centroid.x += z.centre.x / static_cast<double>(scenario_.zones.size());
    centroid.y += z.centre.y / static_cast<double>(scenario_.zones.size());
  }
  const Zone& entrance = scenario_.zones[entrances_[rng_.index(entrances_.size())]];
  double ox = entrance.centre.x - centroid.x;
  double oy = entrance.centre.y - centroid.y;
  const double norm = std::max(std::hypot(ox, oy), 1e-9);
  ox /= norm;
  oy /= norm;
  // The street runs across the entrance, a few metres outside the glass front.
  const double out_m = entrance.radius_m + rng_.uniform(3.0, 10.0);
  const Point kerb{entrance.centre.x + ox * out_m, entrance.centre.y + oy * out_m};
  const double walk_s = rng_.uniform(30.0, 75.0);
  const double half_m = rng_.uniform(1.0, 1.6) * walk_s / 2.0;
  const double dir = rng_.chance(0.5) ? 1.0 : -1.0;
  visit.outdoor = true;
  visit.walk_from = {kerb.x - dir * oy * half_m, kerb.y + dir * ox * half_m};
  visit.walk_to = {kerb.x + dir * oy * half_m, kerb.y - dir * ox * half_m};
  visit.departure_ns = visit.arrival_ns + scaled_ns(walk_s);
}

std::size_t DayPlanner::plan_day(const DayWindow& window, Schedule& schedule) {
  const auto& b = scenario_.behaviour;
  const std::size_t first = schedule.visits.size();
  std::vector<bool> here_today(schedule.devices.size(), false);

  if (staff_.empty()) {
    for (int i = 0; i < b.staff; ++i) staff_.push_back(new_device(schedule, Role::staff, true));
  }
  std::vector<double> staff_weights;
  for (const Zone& z : scenario_.zones) staff_weights.push_back(z.attraction + 0.3);
  for (std::uint32_t device : staff_) {
    Visit& v = new_visit(schedule, device, window.start_ns, window);
    const auto zone = static_cast<std::uint32_t>(rng_.weighted(staff_weights));
    v.stays.push_back({.zone = zone, .enter_ns = window.start_ns, .leave_ns = window.end_ns,
                       .spot = spot_in(scenario_.zones[zone])});
    v.departure_ns = window.end_ns;
    v.returning = window.day > 0;
  }

  // Parties arrive as a Poisson process; time_scale compresses the day.
  const double party_gap_s = 3600.0 / std::max(b.visitors_per_hour, 1e-9);
  for (std::int64_t t = window.start_ns + scaled_ns(rng_.exponential(party_gap_s)); t < window.end_ns;
       t += scaled_ns(rng_.exponential(party_gap_s))) {
    const auto route = pick_route();
    if (rng_.chance(b.group_share)) {
      Group group{.id = static_cast<std::uint32_t>(schedule.groups.size()), .day = window.day, .devices = {}, .visits = {}};
      const auto size = rng_.uniform_int(2, 4);
      std::size_t leader_index = 0;
      for (std::int64_t m = 0; m < size; ++m) {
        const std::uint32_t device = new_device(schedule, Role::group_member, false);
        schedule.devices[device].group = group.id;
        group.devices.push_back(device);
        Visit& v = new_visit(schedule, device, t, window);
        if (m == 0) {
          plan_route(v, route);
          leader_index = schedule.visits.size() - 1;
        } else {
          follow(v, schedule.visits[leader_index]);
        }
      }
      schedule.groups.push_back(std::move(group));
      continue;
    }
    std::uint32_t device = kNone;
    bool returning = false;
    if (!past_visitors_.empty() && rng_.chance(b.returning_share)) {
      const std::uint32_t candidate = past_visitors_[rng_.index(past_visitors_.size())];
      if (!here_today[candidate]) {
        device = candidate;
        returning = true;
      }
    }
    if (device == kNone) device = new_device(schedule, Role::visitor, false);
    if (device >= here_today.size()) here_today.resize(device + 1, false);
    here_today[device] = true;
    Visit& v = new_visit(schedule, device, t, window);
    v.role = Role::visitor;
    v.returning = returning;
    plan_route(v, route);
  }

  const double passer_gap_s = 3600.0 / std::max(b.passers_per_hour, 1e-9);
  for (std::int64_t t = window.start_ns + scaled_ns(rng_.exponential(passer_gap_s)); t < window.end_ns;
       t += scaled_ns(rng_.exponential(passer_gap_s))) {
    Visit& v = new_visit(schedule, new_device(schedule, Role::passer_by, false), t, window);
    plan_passer_by(v);
  }

  // The probes stop at closing time: whoever is still inside is cut off there.
  for (std::size_t i = first; i < schedule.visits.size(); ++i) {
    Visit& v = schedule.visits[i];
    if (v.departure_ns <= window.end_ns) continue;
    v.complete = false;
    v.departure_ns = window.end_ns;
    std::erase_if(v.stays, [&](const ZoneStay& s) { return s.enter_ns >= window.end_ns; });
    for (ZoneStay& s : v.stays) s.leave_ns = std::min(s.leave_ns, window.end_ns);
  }

  // Number the day's visits in order of arrival so the truth reads like a visitor log.
  std::stable_sort(schedule.visits.begin() + static_cast<std::ptrdiff_t>(first), schedule.visits.end(),
                   [](const Visit& a, const Visit& b2) { return a.arrival_ns < b2.arrival_ns; });
  for (std::size_t i = first; i < schedule.visits.size(); ++i) {
    Visit& v = schedule.visits[i];
    v.id = static_cast<std::uint32_t>(i);
    schedule.devices[v.device].visits.push_back(v.id);
    if (v.group != kNone) schedule.groups[v.group].visits.push_back(v.id);
    if (v.role == Role::visitor && !v.returning) past_visitors_.push_back(v.device);
  }
  return first;
}

}  // namespace footfall::sim
