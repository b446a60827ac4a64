#include "tools/sim/simulation.h"

#include <algorithm>
#include <queue>
#include <stdexcept>

#include "tools/sim/frame_builder.h"
#include "tools/sim/pcap_writer.h"
#include "tools/sim/truth_writer.h"

namespace footfall::sim {
namespace {

constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::int64_t kNsPerDay = 86'400 * kNsPerSecond;
constexpr std::int64_t kNsPerTu = 1'024'000;  // 802.11 time unit: 1024 microseconds
constexpr unsigned kScanChannels[] = {1, 6, 11};
constexpr double kResponderMinRssi = -82.0;  // an AP answers only a probe it can decode comfortably

// Derives independent seeds for the planner, the phones' behaviour, the radio and the sales from one seed.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

enum class FrameKind : std::uint8_t { probe_req, probe_resp, beacon };

constexpr std::string_view to_string(FrameKind k) {
  switch (k) {
    case FrameKind::probe_req: return "probe_req";
    case FrameKind::probe_resp: return "probe_resp";
    case FrameKind::beacon: return "beacon";
  }
  return "?";
}

std::uint64_t& count_of(FrameCounts& counts, FrameKind k) {
  switch (k) {
    case FrameKind::probe_req: return counts.probe_req;
    case FrameKind::probe_resp: return counts.probe_resp;
    case FrameKind::beacon: break;
  }
  return counts.beacon;
}

enum class EventKind : std::uint8_t { day_start, device_frame, beacon, probe_response };

struct Event {
  std::int64_t t_ns = 0;
  std::uint64_t order = 0;   // ties at one instant resolve in the order events were made
  std::uint32_t subject = 0; // day, visit or access point, by kind
  EventKind kind = EventKind::day_start;
  MacAddress target;         // the phone a probe response answers
};

struct Later {
  bool operator()(const Event& a, const Event& b) const {
    return a.t_ns != b.t_ns ? a.t_ns > b.t_ns : a.order > b.order;
  }
};

// A transmitter as the probes see it.
struct Sender {
  Point position;
  bool outdoor = false;
  double tx_offset_db = 0.0;
  MacAddress sa;
  std::uint16_t seq = 0;
};

class SiteRun {
 public:
  SiteRun(const SimConfig& config, SimResult& result);
  void run();

 private:
  void push(std::int64_t t_ns, EventKind kind, std::uint32_t subject, MacAddress target = {});
  void arrive(const Visit& visit);
  void on_day_start(const Event& e);
  void on_device_frame(const Event& e);
  void on_beacon(const Event& e);
  void on_probe_response(const Event& e);
  void start_burst(Device& device, Visit& visit, std::int64_t t_ns);
  void use_address(Device& device, const MacAddress& mac, std::int64_t t_ns);
  void new_random_address(Device& device, std::int64_t t_ns);
  void next_burst(Device& device, const Visit& visit, std::int64_t after_ns);
  std::uint32_t take_burst_slot();
  void release_burst_slot(Device& device);
  void answer_probe(std::int64_t t_ns, unsigned channel, std::int16_t ssid, Point from, bool outdoor,
                    const MacAddress& sa);
  // The frame in `frame_` goes on air; every probe on `channel` that hears it captures it.
  void transmit(FrameKind kind, std::int64_t t_ns, unsigned channel, const Sender& sender, Visit* visit);
  std::uint64_t tsf_us(std::uint64_t base_us, std::int64_t t_ns) const {
    return base_us + static_cast<std::uint64_t>((t_ns - config_.start_ns) / 1000);
  }
  // Beacons leave on the AP's next target beacon transmission time after `t_ns`, plus a little
  // medium-access delay.
  std::int64_t next_tbtt(std::uint32_t ap, std::int64_t t_ns) {
    const std::int64_t interval = scenario_.access_points[ap].beacon_interval_tu * kNsPerTu;
    const std::int64_t since = t_ns - ap_phase_ns_[ap];
    const std::int64_t tbtt = ap_phase_ns_[ap] + (since / interval + 1) * interval;
    return tbtt + behaviour_rng_.uniform_int(0, 250'000);
  }
  std::int64_t scaled_ns(double real_seconds) const {
    return std::llround(real_seconds / config_.time_scale * static_cast<double>(kNsPerSecond));
  }

  const SimConfig& config_;
  SimResult& result_;
  const Scenario& scenario_;
  Schedule& schedule_;
  DayPlanner planner_;
  SimRandom behaviour_rng_;
  SimRandom radio_rng_;
  std::vector<PcapWriter> captures_;
  std::optional<FrameLog> frame_log_;
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  std::uint64_t next_order_ = 0;
  std::size_t next_arrival_ = 0;  // the first planned visit not yet on site
  std::int64_t now_ns_ = 0;
  std::int64_t day_end_ns_ = 0;
  bool stop_ = false;
  CaptureFrame frame_;
  std::vector<std::uint64_t> probe_tsf_base_us_;
  std::vector<std::uint64_t> ap_tsf_base_us_;
  std::vector<std::int64_t> ap_phase_ns_;  // TBTTs are ap_phase_ns_ + k * beacon interval
  std::vector<std::uint16_t> ap_seq_;
  std::vector<std::int16_t> ap_remembered_ssid_;  // index of the AP's SSID among the remembered ones, or -1
  // The audible frames of each burst under way: one buffer per device on site, reused by the next arrival.
  std::vector<std::vector<BurstFrame>> bursts_;
  std::vector<std::uint32_t> free_bursts_;
  std::uint32_t heard_channels_ = 0;  // bit c set: some probe listens on channel c
  std::vector<std::uint8_t> scan_;    // the channels of the burst being planned
};

std::uint64_t seed_for(std::uint64_t seed, int stream) {
  std::uint64_t state = seed;
  std::uint64_t value = 0;
  for (int i = 0; i <= stream; ++i) value = splitmix64(state);
  return value;
}

SiteRun::SiteRun(const SimConfig& config, SimResult& result)
    : config_(config),
      result_(result),
      scenario_(result.scenario),
      schedule_(result.schedule),
      planner_(result.scenario,
               PlannerOptions{.time_scale = config.time_scale,
                              .mac_change_per_burst = config.mac_change_per_burst,
                              .randomizing_share = config.randomizing_share},
               seed_for(config.seed, 0)),
      behaviour_rng_(seed_for(config.seed, 1)),
      radio_rng_(seed_for(config.seed, 2)) {
  std::filesystem::create_directories(config.out_dir);
  captures_.reserve(scenario_.probes.size());
  for (const Probe& probe : scenario_.probes) {
    captures_.emplace_back((config.out_dir / capture_file_name(probe.id)).string());
    probe_tsf_base_us_.push_back(static_cast<std::uint64_t>(behaviour_rng_.uniform_int(600'000'000, 3'000'000'000'000)));
  }
  if (config.frame_log) frame_log_.emplace(config.out_dir / kFrameLogFileName);
  for (const AccessPoint& ap : scenario_.access_points) {
    ap_tsf_base_us_.push_back(static_cast<std::uint64_t>(behaviour_rng_.uniform_int(600'000'000, 3'000'000'000'000)));
    ap_phase_ns_.push_back(config.start_ns - behaviour_rng_.uniform_int(0, ap.beacon_interval_tu * kNsPerTu - 1));
    ap_seq_.push_back(static_cast<std::uint16_t>(behaviour_rng_.uniform_int(0, 4095)));
    const auto& known = scenario_.remembered_ssids;
    const auto it = std::find(known.begin(), known.end(), ap.ssid);
    ap_remembered_ssid_.push_back(it == known.end() ? std::int16_t{-1}
                                                    : static_cast<std::int16_t>(it - known.begin()));
  }
  result_.heard.assign(scenario_.probes.size(), FrameCounts{});
  for (const Probe& probe : scenario_.probes) heard_channels_ |= 1u << probe.channel;
  for (std::uint32_t d = 0; d < config.days; ++d) {
    const std::int64_t start = config.start_ns + static_cast<std::int64_t>(d) * kNsPerDay;
    result_.days.push_back({.day = d, .start_ns = start, .end_ns = start + config.duration_ns});
  }
}

void SiteRun::push(std::int64_t t_ns, EventKind kind, std::uint32_t subject, MacAddress target) {
  queue_.push(Event{.t_ns = t_ns, .order = next_order_++, .subject = subject, .kind = kind, .target = target});
}

void SiteRun::arrive(const Visit& visit) {
  Device& device = schedule_.devices[visit.device];
  const double gap_s = behaviour_rng_.uniform(0.0, visit.outdoor ? 15.0 : 60.0);
  const std::int64_t first_burst = visit.arrival_ns + scaled_ns(gap_s);
  if (first_burst >= visit.departure_ns) return;
  device.burst_slot = take_burst_slot();
  device.burst_next = 0;
  push(first_burst, EventKind::device_frame, visit.id);
}

std::uint32_t SiteRun::take_burst_slot() {
  if (free_bursts_.empty()) {
    bursts_.emplace_back();
    return static_cast<std::uint32_t>(bursts_.size() - 1);
  }
  const std::uint32_t slot = free_bursts_.back();
  free_bursts_.pop_back();
  bursts_[slot].clear();
  return slot;
}

void SiteRun::release_burst_slot(Device& device) {
  if (device.burst_slot == kNone) return;
  free_bursts_.push_back(device.burst_slot);
  device.burst_slot = kNone;
}

void SiteRun::run() {
  for (const DayWindow& day : result_.days) push(day.start_ns, EventKind::day_start, day.day);
  while (!stop_) {
    // Visits join the queue when their arrival comes (their first frame is never before it), so the
    // queue holds the devices on site rather than the whole day.
    while (next_arrival_ < schedule_.visits.size() &&
           (queue_.empty() || schedule_.visits[next_arrival_].arrival_ns <= queue_.top().t_ns)) {
      arrive(schedule_.visits[next_arrival_++]);
    }
    if (queue_.empty()) break;
    const Event e = queue_.top();
    queue_.pop();
    now_ns_ = e.t_ns;
    switch (e.kind) {
      case EventKind::day_start: on_day_start(e); break;
      case EventKind::device_frame: on_device_frame(e); break;
      case EventKind::beacon: on_beacon(e); break;
      case EventKind::probe_response: on_probe_response(e); break;
    }
  }
  result_.stopped_at_frame_limit = stop_;
  result_.end_ns = stop_ ? now_ns_ : result_.days.back().end_ns;
  for (PcapWriter& capture : captures_) capture.flush();
  if (frame_log_) frame_log_->close();
}

void SiteRun::on_day_start(const Event& e) {
  const DayWindow& window = result_.days[e.subject];
  day_end_ns_ = window.end_ns;
  next_arrival_ = planner_.plan_day(window, schedule_);
  for (std::uint32_t a = 0; a < scenario_.access_points.size(); ++a) {
    push(next_tbtt(a, window.start_ns - 1), EventKind::beacon, a);
  }
}

void SiteRun::use_address(Device& device, const MacAddress& mac, std::int64_t t_ns) {
  if (!device.macs.empty() && device.macs.back().mac == mac) return;
  device.macs.push_back({.mac = mac, .first_ns = t_ns, .last_ns = t_ns, .frames = 0});
  device.bursts_on_address = 0;
  device.address_since_ns = t_ns;
}

void SiteRun::new_random_address(Device& device, std::int64_t t_ns) {
  MacAddress mac;
  const std::uint64_t bits = behaviour_rng_.bits();
  for (std::size_t i = 0; i < 6; ++i) mac.octets[i] = static_cast<std::uint8_t>(bits >> (8 * i));
  mac.octets[0] = static_cast<std::uint8_t>((mac.octets[0] & 0xfc) | 0x02);  // local, unicast
  if (scenario_.models[device.model].seq_at_change == SeqAtAddressChange::random) {
    device.next_seq = static_cast<std::uint16_t>(behaviour_rng_.uniform_int(0, 4095));
  }
  use_address(device, mac, t_ns);
}

// Plans a whole burst: every probe request it sends until the visit ends is counted and given its address and
// sequence number; only those on a channel some probe listens to become events.
void SiteRun::start_burst(Device& device, Visit& visit, std::int64_t t_ns) {
  const Behaviour& b = scenario_.behaviour;
  const DeviceModel& model = scenario_.models[device.model];
  const bool visit_start = visit.frames_sent == 0;
  std::vector<BurstFrame>& burst = bursts_[device.burst_slot];
  burst.clear();
  device.burst_next = 0;
  device.burst_start_ns = t_ns;

  switch (device.addressing) {
    case Addressing::fixed: use_address(device, device.universal_mac, t_ns); break;
    case Addressing::stable: use_address(device, device.stable_mac, t_ns); break;
    case Addressing::rotating: {
      bool change = visit_start || device.macs.empty();
      switch (device.rotation) {
        case AddressRotation::per_channel: change = true; break;
        case AddressRotation::per_bursts:
          change = change || device.bursts_on_address >= model.bursts_per_address;
          break;
        case AddressRotation::lifetime:
          change = change || t_ns - device.address_since_ns >= scaled_ns(model.address_lifetime_s);
          break;
        case AddressRotation::chance_per_burst:
          change = change || behaviour_rng_.chance(device.mac_change_per_burst);
          break;
      }
      if (change) new_random_address(device, t_ns);
      break;
    }
  }
  ++device.bursts_on_address;
  const double screen_on_share = visit.outdoor ? b.passer_screen_on_share : b.screen_on_share;
  if (visit_start || behaviour_rng_.chance(0.2)) device.screen_on = behaviour_rng_.chance(screen_on_share);

  // The channels of this scan, and how many probes on each.
  std::uint8_t probes_lo = model.probes_per_channel[0];
  std::uint8_t probes_hi = model.probes_per_channel[1];
  scan_.clear();
  if (device.associated) {  // iPhone12Pro-C: 2 probes on each of channels 1, 6, 11, 13
    scan_ = {1, 6, 11, 13};
    probes_lo = probes_hi = 2;
  } else if (model.partial_channels.size() >= 2 && behaviour_rng_.chance(model.partial_scan_share)) {
    scan_ = model.partial_channels;
    for (std::size_t i = scan_.size() - 1; i > 0; --i) std::swap(scan_[i], scan_[behaviour_rng_.index(i + 1)]);
    scan_.resize(static_cast<std::size_t>(behaviour_rng_.uniform_int(2, static_cast<std::int64_t>(scan_.size()))));
  } else {
    scan_ = model.scan_channels;
  }
  std::size_t known = 0;
  while (known < device.remembered.size() && device.remembered[known] >= 0) ++known;
  const bool directed = model.sends_directed && known > 0 && behaviour_rng_.chance(b.directed_probe_share);

  const auto gap_ns = [&](const double (&range_ms)[2]) {
    return std::llround(behaviour_rng_.uniform(range_ms[0], range_ms[1]) * static_cast<double>(kNsPerMs));
  };
  std::int64_t offset = 0;
  for (std::size_t c = 0; c < scan_.size(); ++c) {
    const std::uint8_t channel = scan_[c];
    if (c > 0) {
      offset += gap_ns(model.channel_gap_ms);
      device.next_seq = static_cast<std::uint16_t>(
          (device.next_seq + behaviour_rng_.uniform_int(model.seq_skip_per_channel[0], model.seq_skip_per_channel[1])) &
          0x0fff);
      if (device.addressing == Addressing::rotating && device.rotation == AddressRotation::per_channel) {
        new_random_address(device, t_ns + offset);
      }
    }
    const auto wildcard = behaviour_rng_.uniform_int(probes_lo, probes_hi);
    const auto probes = wildcard + (directed ? 1 : 0);
    for (std::int64_t k = 0; k < probes; ++k) {
      if (k > 0) offset += gap_ns(model.probe_gap_ms);
      const std::int64_t at = t_ns + offset;
      if (at >= visit.departure_ns) return;  // leaving (or closing time) cuts the burst short
      MacUse& use = device.macs.back();
      use.last_ns = at;
      ++use.frames;
      ++visit.frames_sent;
      const std::int16_t ssid = k < wildcard ? std::int16_t{-1} : device.remembered[behaviour_rng_.index(known)];
      if ((heard_channels_ >> channel & 1u) != 0) {
        burst.push_back({.offset_ns = offset, .mac_use = static_cast<std::uint32_t>(device.macs.size() - 1),
                         .seq = device.next_seq, .ssid = ssid, .channel = channel});
      } else {
        ++result_.transmitted.probe_req;  // on air, but on a channel no probe hears
      }
      device.next_seq = static_cast<std::uint16_t>((device.next_seq + 1) & 0x0fff);
    }
  }
}

void SiteRun::next_burst(Device& device, const Visit& visit, std::int64_t after_ns) {
  const DeviceModel& model = scenario_.models[device.model];
  const BurstPeriod& period = device.associated ? model.associated_period
                              : device.screen_on ? model.screen_on_period
                                                 : model.idle_period;
  const double gap_s = std::clamp(behaviour_rng_.lognormal(period.median_s, period.sigma), period.min_s, period.max_s);
  const std::int64_t next = std::max(device.burst_start_ns + scaled_ns(gap_s), after_ns + kNsPerMs);
  if (next < visit.departure_ns) {
    push(next, EventKind::device_frame, visit.id);
  } else {
    release_burst_slot(device);
  }
}

void SiteRun::on_device_frame(const Event& e) {
  Visit& visit = schedule_.visits[e.subject];
  Device& device = schedule_.devices[visit.device];
  const std::vector<BurstFrame>& burst = bursts_[device.burst_slot];
  if (device.burst_next >= burst.size()) {  // a new burst begins
    start_burst(device, visit, e.t_ns);
    if (burst.empty()) {
      next_burst(device, visit, e.t_ns);
    } else {
      push(device.burst_start_ns + burst.front().offset_ns, EventKind::device_frame, e.subject);
    }
    return;
  }
  const BurstFrame planned = burst[device.burst_next++];
  const DeviceModel& model = scenario_.models[device.model];

  Sender sender{.position = visit.position_at(e.t_ns), .outdoor = visit.outdoor,
                .tx_offset_db = device.tx_offset_db, .sa = device.macs[planned.mac_use].mac, .seq = planned.seq};
  const std::string_view ssid =
      planned.ssid >= 0 ? std::string_view(scenario_.remembered_ssids[static_cast<std::size_t>(planned.ssid)])
                        : std::string_view{};
  frame_.dot11_length = build_probe_request(
      frame_.dot11_area(), {.sa = sender.sa, .seq = sender.seq, .ssid = ssid, .channel = planned.channel, .variant = device.variant},
      model);
  transmit(FrameKind::probe_req, e.t_ns, planned.channel, sender, &visit);
  answer_probe(e.t_ns, planned.channel, planned.ssid, sender.position, sender.outdoor, sender.sa);

  if (device.burst_next < burst.size()) {
    push(device.burst_start_ns + burst[device.burst_next].offset_ns, EventKind::device_frame, visit.id);
    return;
  }
  next_burst(device, visit, e.t_ns);
}

void SiteRun::answer_probe(std::int64_t t_ns, unsigned channel, std::int16_t ssid, Point from, bool outdoor,
                           const MacAddress& sa) {
  for (std::uint32_t a = 0; a < scenario_.access_points.size(); ++a) {
    const AccessPoint& ap = scenario_.access_points[a];
    if (ap.channel != channel || (ssid >= 0 && ap_remembered_ssid_[a] != ssid)) continue;
    const double rssi = scenario_.radio.mean_rssi(from, ap.position, 0.0, outdoor != ap.outdoor);
    if (rssi < kResponderMinRssi || !behaviour_rng_.chance(scenario_.behaviour.probe_response_share)) continue;
    push(t_ns + behaviour_rng_.uniform_int(400'000, 3'000'000), EventKind::probe_response, a, sa);
  }
}

void SiteRun::on_beacon(const Event& e) {
  if (e.t_ns >= day_end_ns_ + config_.tail_ns) return;  // closing time (+ tail): the probes stop listening
  const AccessPoint& ap = scenario_.access_points[e.subject];
  const std::uint16_t seq = ap_seq_[e.subject];
  ap_seq_[e.subject] = static_cast<std::uint16_t>((seq + 1) & 0x0fff);
  frame_.dot11_length = build_beacon(frame_.dot11_area(), ap, seq, tsf_us(ap_tsf_base_us_[e.subject], e.t_ns));
  transmit(FrameKind::beacon, e.t_ns, ap.channel,
           {.position = ap.position, .outdoor = ap.outdoor, .tx_offset_db = 0.0, .sa = ap.bssid, .seq = seq}, nullptr);
  push(next_tbtt(e.subject, e.t_ns), EventKind::beacon, e.subject);
}

void SiteRun::on_probe_response(const Event& e) {
  if (e.t_ns >= day_end_ns_) return;
  const AccessPoint& ap = scenario_.access_points[e.subject];
  const std::uint16_t seq = ap_seq_[e.subject];
  ap_seq_[e.subject] = static_cast<std::uint16_t>((seq + 1) & 0x0fff);
  frame_.dot11_length =
      build_probe_response(frame_.dot11_area(), ap, e.target, seq, tsf_us(ap_tsf_base_us_[e.subject], e.t_ns));
  transmit(FrameKind::probe_resp, e.t_ns, ap.channel,
           {.position = ap.position, .outdoor = ap.outdoor, .tx_offset_db = 0.0, .sa = ap.bssid, .seq = seq}, nullptr);
}

void SiteRun::transmit(FrameKind kind, std::int64_t t_ns, unsigned channel, const Sender& sender, Visit* visit) {
  if (frame_.dot11_length == 0) throw std::logic_error("a frame of the site does not fit the frame buffer");
  ++count_of(result_.transmitted, kind);
  const RadioModel& radio = scenario_.radio;
  for (std::size_t p = 0; p < scenario_.probes.size(); ++p) {
    const Probe& probe = scenario_.probes[p];
    if (probe.channel != channel) continue;
    const double mean = radio.mean_rssi(sender.position, probe.position, sender.tx_offset_db, sender.outdoor);
    const int rssi = radio.sample_rssi(mean, radio_rng_);
    if (rssi < probe.sensitivity_dbm) continue;
    const std::uint64_t tsft_us = config_.tsft_is_site_time ? static_cast<std::uint64_t>(t_ns / 1000)
                                                            : tsf_us(probe_tsf_base_us_[p], t_ns);
    write_radiotap(frame_.radiotap_area(), {.tsft_us = tsft_us,
                                            .freq_mhz = channel_freq_mhz(channel), .signal_dbm = rssi});
    captures_[p].write(t_ns, frame_.record());
    ++count_of(result_.heard[p], kind);
    if (visit != nullptr) {
      ProbeHeard& heard = visit->heard[p];
      if (heard.frames++ == 0) {
        heard.first_ns = t_ns;
        heard.rssi_min = heard.rssi_max = rssi;
      }
      heard.last_ns = t_ns;
      heard.rssi_min = std::min(heard.rssi_min, rssi);
      heard.rssi_max = std::max(heard.rssi_max, rssi);
    }
    if (frame_log_) frame_log_->add(probe.id, t_ns, to_string(kind), sender.sa, sender.seq, rssi);
    if (config_.frame_limit != 0 && captures_[p].frames() >= config_.frame_limit) stop_ = true;
  }
}

// A run stopped at the frame limit ends mid-day: visits not begun are dropped, those under way are cut.
void cut_at(Schedule& schedule, std::int64_t end_ns) {
  while (!schedule.visits.empty() && schedule.visits.back().arrival_ns > end_ns) schedule.visits.pop_back();
  const auto kept = static_cast<std::uint32_t>(schedule.visits.size());
  for (Visit& v : schedule.visits) {
    if (v.departure_ns <= end_ns) continue;
    v.complete = false;
    v.departure_ns = end_ns;
    std::erase_if(v.stays, [&](const ZoneStay& s) { return s.enter_ns > end_ns; });
    for (ZoneStay& s : v.stays) s.leave_ns = std::min(s.leave_ns, end_ns);
  }
  for (Device& d : schedule.devices) {
    std::erase_if(d.visits, [&](std::uint32_t id) { return id >= kept; });
    // A burst is planned whole when it begins: addresses it would have used after the stop were never on air.
    std::erase_if(d.macs, [&](const MacUse& m) { return m.first_ns > end_ns; });
    for (MacUse& m : d.macs) m.last_ns = std::min(m.last_ns, end_ns);
  }
  for (Group& g : schedule.groups) std::erase_if(g.visits, [&](std::uint32_t id) { return id >= kept; });
}

}  // namespace

std::string capture_file_name(int probe_id) { return "probe-" + std::to_string(probe_id) + ".pcap"; }

SimResult run_simulation(const SimConfig& config) {
  auto scenario = make_scenario(config.scenario);
  if (!scenario) throw std::invalid_argument("--scenario: unknown scenario '" + config.scenario + "'");
  if (config.duration_ns <= 0) throw std::invalid_argument("--duration: must be positive");
  if (config.days == 0) throw std::invalid_argument("--days: must be at least 1");
  if (config.days > 1 && config.duration_ns > kNsPerDay) {
    throw std::invalid_argument("--duration: must be at most 24h when --days is above 1");
  }
  if (!(config.time_scale > 0.0)) throw std::invalid_argument("--time-scale: must be positive");
  if (config.tail_ns < 0 || (config.days > 1 && config.duration_ns + config.tail_ns > kNsPerDay)) {
    throw std::invalid_argument("--tail: opening hours plus the tail must fit in a day when --days is above 1");
  }

  SimResult result;
  result.scenario = std::move(*scenario);
  {
    SiteRun run(config, result);
    run.run();
  }
  if (result.stopped_at_frame_limit) cut_at(result.schedule, result.end_ns);
  result.site = config.site.empty() ? result.scenario.name : config.site;
  result.sales = plan_sales(result.scenario, result.schedule, result.site, seed_for(config.seed, 3), result.end_ns);
  write_sales_csv(config.out_dir / kSalesFileName, result.site, result.sales);
  write_truth(config.out_dir / kTruthFileName, config, result);
  return result;
}

}  // namespace footfall::sim
