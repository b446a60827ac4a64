#pragma once
// Who comes to the site and when: devices (visitors' phones, passers-by, staff, group members),
// their visits with the zones they stay in, and the per-visit record of what each probe heard.
// The day planner writes the plan; the simulation fills in what was transmitted and heard.
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include "common/mac_address.h"
#include "tools/sim/sim_random.h"
#include "tools/sim/site_model.h"

namespace footfall::sim {

enum class Role : std::uint8_t { visitor, passer_by, staff, group_member };

constexpr std::string_view to_string(Role r) {
  switch (r) {
    case Role::visitor: return "visitor";
    case Role::passer_by: return "passer_by";
    case Role::staff: return "staff";
    case Role::group_member: return "group_member";
  }
  return "?";
}

inline constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

// One address a device transmitted from, with when it was first and last used.
struct MacUse {
  MacAddress mac;
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
  std::uint64_t frames = 0;  // probe requests transmitted with it
};

// How a device addresses its probe requests.
enum class Addressing : std::uint8_t {
  rotating,  // random (locally administered) addresses, changed as its model does
  stable,    // one random address that never changes: the private address of the network it is associated to
  fixed,     // its burned-in (universally administered) address
};

constexpr std::string_view to_string(Addressing a) {
  switch (a) {
    case Addressing::rotating: return "rotating";
    case Addressing::stable: return "stable";
    case Addressing::fixed: return "fixed";
  }
  return "?";
}

// One frame of a probe burst that a probe may hear, relative to the burst start. The burst's frames on channels
// no probe listens to are only counted.
struct BurstFrame {
  std::int64_t offset_ns = 0;
  std::uint32_t mac_use = 0;  // index into Device::macs
  std::uint16_t seq = 0;
  std::int16_t ssid = -1;  // index into Scenario::remembered_ssids; -1: wildcard
  std::uint8_t channel = 1;
};

struct Device {
  std::uint32_t id = 0;
  std::uint16_t model = 0;
  std::uint8_t variant = 0;   // which of its model's ie_tail_variants it sends
  Role role = Role::visitor;
  std::uint32_t group = kNone;
  Addressing addressing = Addressing::fixed;
  bool associated = false;   // connected to a network: probes rarely
  AddressRotation rotation = AddressRotation::per_bursts;  // how a rotating device changes address
  double mac_change_per_burst = 0.0;  // AddressRotation::chance_per_burst
  MacAddress universal_mac;  // the burned-in address; the one used with Addressing::fixed
  MacAddress stable_mac;     // the one used with Addressing::stable
  double tx_offset_db = 0.0;  // this handset's transmit power and body loss against the model's
  std::array<std::int16_t, 3> remembered{-1, -1, -1};  // SSIDs it asks for by name
  std::uint16_t next_seq = 0;  // continues or restarts at an address change, as its model does
  std::vector<MacUse> macs;    // every address it transmitted from, in order
  std::vector<std::uint32_t> visits;

  // Behaviour state while a visit is under way.
  bool screen_on = false;
  std::uint32_t burst_slot = kNone;  // the simulation's buffer holding the current burst's audible frames
  std::uint8_t burst_next = 0;
  std::int64_t burst_start_ns = 0;
  std::uint32_t bursts_on_address = 0;  // bursts begun since the address last changed
  std::int64_t address_since_ns = 0;    // when the current address was first used

  [[nodiscard]] bool randomizing() const { return addressing != Addressing::fixed; }
};

// A stay in one zone, at one point.
struct ZoneStay {
  std::uint32_t zone = 0;
  std::int64_t enter_ns = 0;
  std::int64_t leave_ns = 0;
  Point spot;
};

// What one probe heard of one visit.
struct ProbeHeard {
  std::uint64_t frames = 0;
  int rssi_max = -128;
  int rssi_min = 0;
  std::int64_t first_ns = 0;
  std::int64_t last_ns = 0;
};

struct Visit {
  std::uint32_t id = 0;
  std::uint32_t device = 0;
  Role role = Role::visitor;
  std::uint32_t group = kNone;
  std::uint32_t day = 0;
  bool returning = false;  // the device visited on an earlier day
  std::int64_t arrival_ns = 0;
  std::int64_t departure_ns = 0;
  bool outdoor = false;  // passers-by walk the street from `walk_from` to `walk_to`
  Point walk_from;
  Point walk_to;
  std::vector<ZoneStay> stays;     // in order; walking in between
  std::vector<ProbeHeard> heard;   // one per probe
  std::uint64_t frames_sent = 0;
  bool complete = true;  // false when the day (or the run) ended before the device left
  std::size_t stay_cursor = 0;     // the simulation asks for positions in increasing time

  // Where the device is at `t_ns` (arrival <= t_ns <= departure).
  Point position_at(std::int64_t t_ns);
};

struct Group {
  std::uint32_t id = 0;
  std::uint32_t day = 0;
  std::vector<std::uint32_t> devices;
  std::vector<std::uint32_t> visits;
};

// A day's opening hours in capture time.
struct DayWindow {
  std::uint32_t day = 0;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
};

struct Schedule {
  std::vector<Device> devices;
  std::vector<Visit> visits;
  std::vector<Group> groups;
};

struct PlannerOptions {
  double time_scale = 1.0;  // behaviour runs this many times faster than real time
  std::optional<double> mac_change_per_burst;  // a chance per burst instead of the models' address rotation
  std::optional<double> randomizing_share;     // share of devices with random addresses instead of the models' mix
};

// Plans each day's visits. Devices persist across days so visitors can return.
class DayPlanner {
 public:
  DayPlanner(const Scenario& scenario, PlannerOptions options, std::uint64_t seed);

  // Appends the visits of `window` to `schedule` (sorted by arrival); returns the index of the first.
  std::size_t plan_day(const DayWindow& window, Schedule& schedule);

 private:
  std::uint32_t new_device(Schedule& schedule, Role role, bool staff);
  Visit& new_visit(Schedule& schedule, std::uint32_t device, std::int64_t arrival_ns, const DayWindow& window);
  std::vector<std::uint32_t> pick_route();
  void plan_route(Visit& visit, const std::vector<std::uint32_t>& route);
  void follow(Visit& visit, const Visit& leader);
  void plan_passer_by(Visit& visit);
  Point spot_in(const Zone& zone);
  std::int64_t scaled_ns(double real_seconds) const;

  const Scenario& scenario_;
  PlannerOptions options_;
  SimRandom rng_;
  std::vector<std::uint32_t> staff_;
  std::vector<std::uint32_t> past_visitors_;  // devices that may return on a later day
  std::vector<std::uint32_t> entrances_;
};

}  // namespace footfall::sim
