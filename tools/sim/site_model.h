#pragma once
// The simulated site: zones, probes, access points, the radio field between them, the device models
// people carry, and the behaviour parameters of each built-in scenario (office, mall, busy-mall).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mac_address.h"
#include "tools/sim/sim_random.h"

namespace footfall::sim {

struct Point {
  double x = 0.0;  // metres
  double y = 0.0;
};

// An area of the site that a probe covers; visitors stay at points inside it.
struct Zone {
  std::string name;
  Point centre;
  double radius_m = 5.0;
  bool entrance = false;        // routes start and end at an entrance
  double dwell_median_s = 300;  // median stay of a visitor
  double attraction = 1.0;      // relative chance a visitor includes this zone in a route
  double sale_share = 0.0;      // chance a party staying here buys something; 0: nothing is sold here
  double sale_median = 0.0;     // median amount of a sale (log-normal)
  double sale_sigma = 0.5;
  double sale_min = 1.0;
};

struct Probe {
  int id = 0;  // 1-based; the capture is probe-<id>.pcap
  std::string name;
  std::size_t zone = 0;
  Point position;
  unsigned channel = 1;  // fixed channel: a probe hears only frames sent on it
  int sensitivity_dbm = -92;
};

struct AccessPoint {
  MacAddress bssid;
  std::string ssid;
  unsigned channel = 1;
  Point position;
  bool outdoor = false;  // a neighbour's network heard through a wall
  std::uint16_t beacon_interval_tu = 100;  // 100 TU = 102.4 ms
  std::uint16_t capability = 0x0431;       // ESS, privacy, short preamble, short slot
  std::vector<std::uint8_t> ie_rates;      // elements between SSID and DS parameter set
  std::vector<std::uint8_t> ie_tail;       // elements after DS parameter set (and TIM in beacons)
};

// Log-distance path loss with Gaussian shadowing.
struct RadioModel {
  double ref_dbm_at_1m = -40.0;
  double path_loss_exponent = 3.0;
  double shadowing_sigma_db = 4.0;
  double outdoor_loss_db = 10.0;   // glass front between the street and the site
  double antenna_height_m = 1.3;   // probes hang above pockets: distance never below this

  // Mean received power at `probe` from a transmitter at `from`, before shadowing.
  [[nodiscard]] double mean_rssi(Point from, Point probe, double tx_offset_db, bool outdoor) const;
  [[nodiscard]] int sample_rssi(double mean_dbm, SimRandom& rng) const;
};

// What a kind of phone or laptop puts in its probe requests. Devices of one model share these
// elements, so they share an IE fingerprint however often they change their address.
struct DeviceModel {
  std::string name;
  std::string vendor;
  std::vector<std::uint32_t> universal_ouis;  // OUIs of its fixed (universally administered) addresses
  double randomizing_share = 0.0;             // share of devices of this model that randomize
  double mac_change_per_burst = 0.0;          // chance a randomizing device picks a new address per burst
  bool sends_ds_param = true;
  std::vector<std::uint8_t> ie_rates;  // Supported Rates + Extended Supported Rates elements
  std::vector<std::uint8_t> ie_tail;   // HT / extended / VHT capabilities, vendor elements
  bool has_ht = false;
  bool has_vht = false;
  std::vector<std::uint32_t> vendor_ouis;
};

// How people behave at the site. Durations are in seconds of real time.
struct Behaviour {
  double visitors_per_hour = 4.0;   // arrivals of a party (single visitor or group)
  double passers_per_hour = 60.0;
  int staff = 3;
  double group_share = 0.3;         // share of parties that are groups of 2-4
  double returning_share = 0.15;    // share of single visitors on day 2+ who came before
  int min_zones = 1;                // zones visited besides the entrance
  int max_zones = 2;
  bool ordered_route = true;        // zones visited in site order (office) or shuffled (mall)
  double dwell_sigma = 0.6;         // log-normal sigma of a zone stay
  double walk_speed_mps = 1.1;
  double screen_on_burst_s[2] = {10.0, 30.0};   // interval between probe bursts, screen on
  double screen_off_burst_s[2] = {45.0, 120.0};  // screen off
  double screen_on_share = 0.4;
  double passer_screen_on_share = 0.8;  // people walking by often look at their phones
  double directed_probe_share = 0.3;  // chance a burst also asks for a remembered SSID
  double probe_response_share = 0.3;  // chance an AP on the channel answers a probe
  std::vector<double> visitor_model_mix;  // weights over device models
  std::vector<double> staff_model_mix;
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<Zone> zones;
  std::vector<Probe> probes;
  std::vector<AccessPoint> access_points;
  std::vector<DeviceModel> models;
  std::vector<std::string> remembered_ssids;  // networks phones ask for by name
  RadioModel radio;
  Behaviour behaviour;
};

// The built-in scenarios; nullopt for an unknown name.
std::optional<Scenario> make_scenario(std::string_view name);
std::vector<std::string> scenario_names();

// The built-in device models (also used by every scenario).
std::vector<DeviceModel> standard_device_models();

constexpr unsigned channel_freq_mhz(unsigned channel) {
  return channel == 14 ? 2484 : 2407 + 5 * channel;
}

}  // namespace footfall::sim
