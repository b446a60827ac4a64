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

// How a device that randomizes its address picks a new one.
enum class AddressRotation : std::uint8_t {
  per_channel,       // a new address for each channel of a scan, so every 1-2 probes (iPhone 11, iOS 16)
  per_bursts,        // a new address every `bursts_per_address` bursts
  lifetime,          // a new address at the first burst after `address_lifetime_s` on the old one
  chance_per_burst,  // a new address at each burst with a chance (footfall-sim --mac-change-prob)
};

// What the 802.11 sequence counter does when the address changes.
enum class SeqAtAddressChange : std::uint8_t { continues, random };

constexpr std::string_view to_string(AddressRotation r) {
  switch (r) {
    case AddressRotation::per_channel: return "per_channel";
    case AddressRotation::per_bursts: return "per_bursts";
    case AddressRotation::lifetime: return "lifetime";
    case AddressRotation::chance_per_burst: return "chance_per_burst";
  }
  return "?";
}

// Time from one probe burst to the next: log-normal with this median and sigma, clamped to [min_s, max_s].
struct BurstPeriod {
  double median_s = 60.0;
  double sigma = 0.5;
  double min_s = 2.0;
  double max_s = 300.0;
};

// What a kind of phone or laptop puts in its probe requests, and how it probes. Devices of one model share
// these elements, so they share an IE fingerprint however often they change their address. The numbers of
// the measured models come from single-phone captures (docs/simulator.md, "Device models").
struct DeviceModel {
  std::string name;
  std::string vendor;
  std::vector<std::uint32_t> universal_ouis;  // OUIs of its fixed (universally administered) addresses
  double randomizing_share = 0.0;  // share of its devices with random addresses (associated ones keep one)
  AddressRotation rotation = AddressRotation::per_bursts;
  std::uint16_t bursts_per_address = 1;  // per_bursts
  double address_lifetime_s = 0.0;       // lifetime
  SeqAtAddressChange seq_at_change = SeqAtAddressChange::continues;
  BurstPeriod idle_period;        // screen off or in a pocket, not associated (what the captures measured)
  BurstPeriod screen_on_period;   // screen on: probes more often
  BurstPeriod associated_period;  // associated to a network: probes rarely
  std::vector<std::uint8_t> scan_channels;     // a full scan: 2.4 GHz channels in the order visited
  std::vector<std::uint8_t> partial_channels;  // a partial scan draws 2..size of these, in random order
  double partial_scan_share = 0.0;             // share of bursts that are partial scans
  std::uint8_t probes_per_channel[2] = {1, 2};  // range of probes sent on each channel
  double probe_gap_ms[2] = {2.0, 20.0};         // between two probes on one channel
  double channel_gap_ms[2] = {15.0, 40.0};      // from one channel to the next
  std::uint8_t seq_skip_per_channel[2] = {0, 0};  // sequence numbers spent between channels on 5 GHz (not simulated)
  bool sends_directed = false;  // also asks for remembered networks by name (old phones and laptops do)
  bool sends_ds_param = true;
  std::vector<std::uint8_t> ie_rates;  // Supported Rates + Extended Supported Rates elements
  std::vector<std::uint8_t> ie_tail;   // HT / extended / VHT / HE capabilities, vendor elements
  bool has_ht = false;
  bool has_vht = false;
  std::vector<std::uint32_t> vendor_ouis;
  // One model's phones differ in OS version and settings: ie_tail as variant k sends it (k = 0: ie_tail itself).
  // Empty: every phone of the model sends ie_tail. Devices draw a variant with share 1/(k+1) (see
  // with_fingerprint_variants in site_model.cpp).
  std::vector<std::vector<std::uint8_t>> ie_tail_variants;
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
  double screen_on_share = 0.4;
  double associated_share = 0.1;        // visitors' devices associated to the site's guest network
  double staff_associated_share = 0.6;  // staff devices associated to the site's own network
  double passer_screen_on_share = 0.8;  // people walking by often look at their phones
  double directed_probe_share = 0.3;  // chance a burst of a model that sends_directed asks for a remembered SSID
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
