#include "tools/sim/site_model.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <string>

namespace footfall::sim {

double RadioModel::mean_rssi(Point from, Point probe, double tx_offset_db, bool outdoor) const {
  const double dx = from.x - probe.x;
  const double dy = from.y - probe.y;
  const double distance = std::sqrt(dx * dx + dy * dy + antenna_height_m * antenna_height_m);
  const double loss = 10.0 * path_loss_exponent * std::log10(std::max(distance, 1.0));
  return ref_dbm_at_1m + tx_offset_db - loss - (outdoor ? outdoor_loss_db : 0.0);
}

int RadioModel::sample_rssi(double mean_dbm, SimRandom& rng) const {
  const double value = rng.normal(mean_dbm, shadowing_sigma_db);
  // A radio reports whole dBm in a signed byte; a phone held against the probe still saturates.
  return static_cast<int>(std::lround(std::clamp(value, -120.0, -10.0)));
}

namespace {

using Bytes = std::vector<std::uint8_t>;

void add_element(Bytes& out, std::uint8_t id, std::initializer_list<std::uint8_t> body) {
  out.push_back(id);
  out.push_back(static_cast<std::uint8_t>(body.size()));
  out.insert(out.end(), body);
}

// HT Capabilities (802.11-2020 9.4.2.55): capability info, A-MPDU parameters, MCS set for
// `streams` spatial streams, and zeroed extended / beamforming / ASEL fields.
void add_ht_caps(Bytes& out, std::uint16_t info, std::uint8_t ampdu, int streams) {
  out.push_back(45);
  out.push_back(26);
  out.push_back(static_cast<std::uint8_t>(info & 0xff));
  out.push_back(static_cast<std::uint8_t>(info >> 8));
  out.push_back(ampdu);
  for (int i = 0; i < 16; ++i) out.push_back(i < streams ? 0xff : 0x00);
  for (int i = 0; i < 7; ++i) out.push_back(0x00);
}

void add_vendor(DeviceModel& model, std::uint32_t oui, std::initializer_list<std::uint8_t> body) {
  model.ie_tail.push_back(221);
  model.ie_tail.push_back(static_cast<std::uint8_t>(3 + body.size()));
  model.ie_tail.push_back(static_cast<std::uint8_t>(oui >> 16));
  model.ie_tail.push_back(static_cast<std::uint8_t>(oui >> 8));
  model.ie_tail.push_back(static_cast<std::uint8_t>(oui));
  model.ie_tail.insert(model.ie_tail.end(), body);
  model.vendor_ouis.push_back(oui);
}

// An element whose body is written as hex, as copied from a capture.
void add_element_hex(Bytes& out, std::uint8_t id, std::string_view hex) {
  out.push_back(id);
  out.push_back(static_cast<std::uint8_t>(hex.size() / 2));
  const auto nibble = [](char c) { return static_cast<std::uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
}

void add_vendor_hex(DeviceModel& model, std::string_view hex) {
  add_element_hex(model.ie_tail, 221, hex);
  const auto oui = static_cast<std::uint32_t>(std::stoul(std::string(hex.substr(0, 6)), nullptr, 16));
  model.vendor_ouis.push_back(oui);
}

const std::vector<std::uint8_t> kAllChannels{1, 6, 11, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13};

// Assumed for every model: no capture has a phone with its screen on (the ProbingPatterns phones lay in a
// Faraday bag). The simulator's earlier 10-30 s.
constexpr BurstPeriod kScreenOnPeriod{.median_s = 20.0, .sigma = 0.4, .min_s = 8.0, .max_s = 45.0};
// Associated phone, iPhone12Pro-C (mode PA): one address for 2 h, bursts of 8 probes (2 on each of channels 1,
// 6, 11, 13) every 119 s median, 185 s p90 (one silence of 5089 s is left out).
constexpr BurstPeriod kAssociatedPeriod{.median_s = 119.0, .sigma = 0.35, .min_s = 60.0, .max_s = 300.0};

void apple_ies(DeviceModel& m, std::string_view rates, std::string_view ht, std::string_view ext_caps) {
  add_element_hex(m.ie_rates, 1, rates);
  add_element_hex(m.ie_rates, 50, "0c1218243048606c");
  add_element_hex(m.ie_tail, 45, ht);
  add_element_hex(m.ie_tail, 127, ext_caps);
  m.has_ht = true;
}

DeviceModel phone_base(std::string name, std::string vendor, std::vector<std::uint32_t> ouis) {
  DeviceModel m;
  m.name = std::move(name);
  m.vendor = std::move(vendor);
  m.universal_ouis = std::move(ouis);
  m.randomizing_share = 1.0;  // phones since iOS 14 / Android 10 probe from random addresses
  m.screen_on_period = kScreenOnPeriod;
  m.associated_period = kAssociatedPeriod;
  m.scan_channels = kAllChannels;
  m.partial_channels = {1, 6, 11, 13};
  return m;
}

// iPhone11-B and iPhone11-M (iOS 16.4.1): 465 and 236 addresses, a new one for each channel of a scan (1-2
// probes each), a random sequence number at every change (9 of 464 steps within 64). 70 % of bursts scan 2-4
// channels, the rest all 13; 1-2 probes per channel. Gap between bursts: median 43 / 37 s, p90 93 / 150 s,
// max 167 / 196 s. Elements: iPhone11-B's (781 of 782 frames).
DeviceModel iphone_11() {
  DeviceModel m = phone_base("iphone-11", "Apple", {0xf01898, 0x3c22fb, 0xa483e7});
  m.rotation = AddressRotation::per_channel;
  m.seq_at_change = SeqAtAddressChange::random;
  m.idle_period = {.median_s = 40.0, .sigma = 0.86, .min_s = 2.0, .max_s = 200.0};
  m.partial_scan_share = 0.7;
  m.probes_per_channel[0] = 1;
  m.probes_per_channel[1] = 2;
  m.probe_gap_ms[0] = 2.0;
  m.probe_gap_ms[1] = 25.0;
  m.channel_gap_ms[0] = 15.0;
  m.channel_gap_ms[1] = 45.0;
  apple_ies(m, "82848b96", "2d401bff00000000000000000000000000000000000000000000", "0000080400000040");
  add_element_hex(m.ie_tail, 255, "23010808180080203002000d009f08000000fdfffdff391cc7711c07");  // HE capabilities
  return m;
}

// iPhone12Pro-C (iOS 16.4.1) was captured associated only (one address, see kAssociatedPeriod); its elements
// are that capture's, its probing when not associated is the iPhone 11's (same iOS version), an assumption.
DeviceModel iphone_12() {
  DeviceModel m = iphone_11();
  m.name = "iphone-12";
  m.universal_ouis = {0xf01898, 0x88665a, 0xd0817a};
  m.ie_rates.clear();
  m.ie_tail.clear();
  apple_ies(m, "82848b96", "2d001bff00000000000000000000000000000000000000000000", "0000080000000040000020");
  add_element_hex(m.ie_tail, 255, "23010808180080203002000d009f08000000fdfffdff391cc7711c07");  // HE capabilities
  return m;
}

// iPhoneXR-A (iOS 16.4.1): 9 addresses in 9 bursts, one per burst, random sequence number at the change (1 of
// 8 steps within 64). 5 of 8 bursts scan all 13 channels, 1-2 probes each. Gap between bursts: median 135 s,
// p90 and max 270 s.
DeviceModel iphone_xr() {
  DeviceModel m = phone_base("iphone-xr", "Apple", {0xf01898, 0x9c648b, 0x28ff3c});
  m.rotation = AddressRotation::per_bursts;
  m.seq_at_change = SeqAtAddressChange::random;
  m.idle_period = {.median_s = 135.0, .sigma = 0.54, .min_s = 20.0, .max_s = 270.0};
  m.partial_scan_share = 0.4;
  m.probes_per_channel[0] = 1;
  m.probes_per_channel[1] = 2;
  m.probe_gap_ms[0] = 2.0;
  m.probe_gap_ms[1] = 25.0;
  m.channel_gap_ms[0] = 15.0;
  m.channel_gap_ms[1] = 30.0;
  apple_ies(m, "02040b16", "2d4017ff00000000000000000000000000000000000000000000", "0000080400000040");
  return m;
}

// iPhone7-F (iOS 15.5): 35 addresses in 21 bursts (one per burst, sometimes a second inside a burst), the
// sequence counter continues at every change (step 1 at 34 of 34). 16 of 21 bursts scan all 13 channels, 2
// probes each. Gap between bursts: median 38 s, p90 135 s, max 270 s.
DeviceModel iphone_7() {
  DeviceModel m = phone_base("iphone-7", "Apple", {0xf01898, 0x6c4d73, 0xbc9fef});
  m.rotation = AddressRotation::per_bursts;
  m.seq_at_change = SeqAtAddressChange::continues;
  m.idle_period = {.median_s = 38.0, .sigma = 0.99, .min_s = 2.0, .max_s = 270.0};
  m.partial_scan_share = 0.25;
  m.probes_per_channel[0] = 2;
  m.probes_per_channel[1] = 2;
  m.probe_gap_ms[0] = 2.0;
  m.probe_gap_ms[1] = 25.0;
  m.channel_gap_ms[0] = 20.0;
  m.channel_gap_ms[1] = 40.0;
  apple_ies(m, "02040b16", "2d4017ff00000000000000000000000000000000000000000000", "0000088400000040");
  add_element_hex(m.ie_tail, 107, "0fffffffffffff");  // interworking
  return m;
}

// S21Ultra-M (Android 13): 28 addresses in 25 bursts, one per burst, random sequence number at the change (0
// of 27 steps within 64). Scans channels 1, 6 and 11, 2 probes each, about 240 ms apart; the counter moves on
// 16-20 between two of them (probes on 5 GHz). Gap between bursts: median 41 s, p90 118 s, max 120 s.
DeviceModel galaxy_s21() {
  DeviceModel m = phone_base("galaxy-s21", "Samsung", {0x8cf5a3, 0x5ce8eb});
  m.rotation = AddressRotation::per_bursts;
  m.seq_at_change = SeqAtAddressChange::random;
  m.idle_period = {.median_s = 41.0, .sigma = 0.83, .min_s = 2.0, .max_s = 120.0};
  m.scan_channels = {1, 6, 11};
  m.partial_channels = {1, 6, 11};
  m.partial_scan_share = 0.1;
  m.probes_per_channel[0] = 2;
  m.probes_per_channel[1] = 2;
  m.probe_gap_ms[0] = 1.0;
  m.probe_gap_ms[1] = 40.0;
  m.channel_gap_ms[0] = 200.0;
  m.channel_gap_ms[1] = 260.0;
  m.seq_skip_per_channel[0] = 15;
  m.seq_skip_per_channel[1] = 19;
  add_element_hex(m.ie_rates, 1, "82848b96");
  add_element_hex(m.ie_rates, 50, "0c1218243048606c");
  add_element_hex(m.ie_tail, 45, "2d001bffff000000000000000000000000000000000000000000");
  add_element_hex(m.ie_tail, 127, "04004880014000400021");
  add_element_hex(m.ie_tail, 255, "020014");
  add_element_hex(m.ie_tail, 255, "23010808180080203002800d019e000c0000f5fff5ff391cc7711c07");
  m.has_ht = true;
  add_vendor_hex(m, "00904c0408bf0c7678910ffaff0000faff0020");
  add_vendor_hex(m, "0050f208001200");
  add_vendor_hex(m, "00101802000010000000");
  add_vendor_hex(m, "506f9a16030102650101");
  return m;
}

// No capture: an Android phone with the S21's probing (Android 13) and its own elements.
DeviceModel pixel_like() {
  DeviceModel m = galaxy_s21();
  m.name = "android-pixel-like";
  m.vendor = "Google";
  m.universal_ouis = {0x3c286d, 0xf4f5e8};
  m.ie_rates.clear();
  m.ie_tail.clear();
  m.vendor_ouis.clear();
  add_element(m.ie_rates, 1, {0x02, 0x04, 0x0b, 0x16, 0x0c, 0x12, 0x18, 0x24});
  add_element(m.ie_rates, 50, {0x30, 0x48, 0x60, 0x6c});
  add_ht_caps(m.ie_tail, 0x012c, 0x03, 1);
  add_element(m.ie_tail, 127, {0x04, 0x00, 0x4a, 0x82, 0x01, 0x40, 0x40, 0x00, 0x00, 0x20});
  m.has_ht = true;
  add_vendor(m, 0x506f9a, {0x16, 0x03, 0x01, 0x03});
  add_vendor(m, 0x0050f2, {0x08, 0x00, 0x10, 0x00});
  return m;
}

// Windows laptops keep their burned-in address unless "random hardware addresses" is switched on (then, an
// assumption, a new one each day). Period: the 14 Intel machines of the Brno lab (rt127-esp32-brno-lab-2023-03-16)
// probe every 60.0 s (p10 59.8 s, p90 60.2 s). Scan: all channels, one probe each (assumed).
DeviceModel laptop_like() {
  DeviceModel m;
  m.name = "laptop-like";
  m.vendor = "Intel";
  m.universal_ouis = {0x3ca9f4, 0x8c8d28, 0xa0a8cd};
  m.randomizing_share = 0.1;
  m.rotation = AddressRotation::lifetime;
  m.address_lifetime_s = 86'400.0;
  m.seq_at_change = SeqAtAddressChange::continues;
  m.idle_period = {.median_s = 60.0, .sigma = 0.003, .min_s = 59.5, .max_s = 60.5};
  m.screen_on_period = m.idle_period;  // a laptop's scan timer does not follow its screen
  m.associated_period = kAssociatedPeriod;
  m.scan_channels = kAllChannels;
  m.partial_channels = {1, 6, 11};
  m.probes_per_channel[0] = 1;
  m.probes_per_channel[1] = 1;
  m.sends_directed = true;
  add_element(m.ie_rates, 1, {0x02, 0x04, 0x0b, 0x0c, 0x12, 0x16, 0x18, 0x24});
  add_element(m.ie_rates, 50, {0x30, 0x48, 0x60, 0x6c});
  add_ht_caps(m.ie_tail, 0x01ad, 0x17, 2);
  add_element(m.ie_tail, 127, {0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40});
  m.has_ht = true;
  add_vendor(m, 0x0050f2, {0x04, 0x10, 0x4a, 0x00, 0x01, 0x10, 0x10, 0x3a, 0x00, 0x01, 0x00});
  return m;
}

// A phone from before address randomisation: its burned-in address, directed probes. No capture of its
// timing (assumed: the simulator's earlier 45-120 s).
DeviceModel legacy_phone() {
  DeviceModel m;
  m.name = "legacy-phone";
  m.vendor = "HTC";
  m.universal_ouis = {0x002376, 0x002637};
  m.randomizing_share = 0.0;
  m.idle_period = {.median_s = 70.0, .sigma = 0.3, .min_s = 45.0, .max_s = 120.0};
  m.screen_on_period = kScreenOnPeriod;
  m.associated_period = kAssociatedPeriod;
  m.scan_channels = kAllChannels;
  m.partial_channels = {1, 6, 11};
  m.probes_per_channel[0] = 1;
  m.probes_per_channel[1] = 2;
  m.sends_directed = true;
  m.sends_ds_param = false;
  add_element(m.ie_rates, 1, {0x02, 0x04, 0x0b, 0x16});
  add_element(m.ie_rates, 50, {0x0c, 0x12, 0x18, 0x24, 0x30, 0x48, 0x60, 0x6c});
  add_ht_caps(m.ie_tail, 0x0020, 0x01, 1);
  m.has_ht = true;
  return m;
}

MacAddress address_in(std::uint32_t oui, std::uint32_t serial) {
  MacAddress m;
  m.octets = {static_cast<std::uint8_t>(oui >> 16), static_cast<std::uint8_t>(oui >> 8),
              static_cast<std::uint8_t>(oui),       static_cast<std::uint8_t>(serial >> 16),
              static_cast<std::uint8_t>(serial >> 8), static_cast<std::uint8_t>(serial)};
  return m;
}

AccessPoint make_ap(std::string ssid, unsigned channel, Point position, bool secured, bool outdoor, MacAddress bssid) {
  AccessPoint ap;
  ap.bssid = bssid;
  ap.ssid = std::move(ssid);
  ap.channel = channel;
  ap.position = position;
  ap.outdoor = outdoor;
  ap.capability = secured ? 0x0431 : 0x0421;
  add_element(ap.ie_rates, 1, {0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24});
  add_element(ap.ie_tail, 42, {0x00});  // ERP: no protection needed
  add_element(ap.ie_tail, 50, {0x30, 0x48, 0x60, 0x6c});
  if (secured) {  // RSN: CCMP group and pairwise, PSK
    add_element(ap.ie_tail, 48, {0x01, 0x00, 0x00, 0x0f, 0xac, 0x04, 0x01, 0x00, 0x00, 0x0f, 0xac, 0x04, 0x01,
                                 0x00, 0x00, 0x0f, 0xac, 0x02, 0x0c, 0x00});
  }
  add_ht_caps(ap.ie_tail, 0x19ad, 0x17, 2);
  ap.ie_tail.push_back(61);  // HT Operation: primary channel, then all-zero operation fields
  ap.ie_tail.push_back(22);
  ap.ie_tail.push_back(static_cast<std::uint8_t>(channel));
  for (int i = 0; i < 21; ++i) ap.ie_tail.push_back(0x00);
  return ap;
}

// Builds the APs of a site; their addresses come from a fixed stream so a site is the same for every seed.
class ApList {
 public:
  void add(std::string ssid, unsigned channel, Point position, bool secured, bool outdoor = false) {
    static constexpr std::uint32_t ouis[] = {0x001a1e, 0x00248c, 0x94b40f, 0x3c8427, 0xe4956e};
    const auto oui = ouis[rng_.index(std::size(ouis))];
    const auto serial = static_cast<std::uint32_t>(rng_.bits() & 0xfffff0);
    aps_.push_back(make_ap(std::move(ssid), channel, position, secured, outdoor, address_in(oui, serial)));
  }
  // A second network on the same radio: the next BSSID of the last AP.
  void add_virtual(std::string ssid, bool secured) {
    const AccessPoint& radio = aps_.back();
    MacAddress bssid = radio.bssid;
    bssid.octets[5] = static_cast<std::uint8_t>(bssid.octets[5] + 1);
    aps_.push_back(make_ap(std::move(ssid), radio.channel, radio.position, secured, radio.outdoor, bssid));
  }
  std::vector<AccessPoint> take() { return std::move(aps_); }

 private:
  SimRandom rng_{0x5175a11ULL};
  std::vector<AccessPoint> aps_;
};

std::vector<std::string> common_ssids() {
  return {"HOME-4F2A", "FRITZ!Box 7590 XY", "eduroam", "Starbucks WiFi", "iPhone of Anna", "TP-Link_5G_88",
          "Vodafone-Hotspot", "AndroidAP", "OfficeNet", "CityFreeWiFi", "Airport_Free", "Telekom"};
}

Scenario office() {
  Scenario s;
  s.name = "office";
  s.description = "real-estate sales office: entrance, model room, negotiation corner; a few dozen visitors a day";
  s.zones = {
      {.name = "entrance", .centre = {0, 0}, .radius_m = 2.5, .entrance = true, .dwell_median_s = 90, .attraction = 0},
      {.name = "model-room", .centre = {14, 3}, .radius_m = 5, .dwell_median_s = 900, .attraction = 0.95},
      {.name = "negotiation", .centre = {5, 12}, .radius_m = 3.5, .dwell_median_s = 1500, .attraction = 0.45,
       .sale_share = 0.3, .sale_median = 5000, .sale_sigma = 0.4, .sale_min = 1000},  // reservation deposits
  };
  s.probes = {
      {.id = 1, .name = "entrance", .zone = 0, .position = {0.5, 0.5}, .channel = 1},
      {.id = 2, .name = "model-room", .zone = 1, .position = {14, 3}, .channel = 6},
      {.id = 3, .name = "negotiation", .zone = 2, .position = {5, 12}, .channel = 11},
  };
  ApList aps;
  aps.add("SalesOffice", 6, {7, 6}, true);
  aps.add_virtual("SalesOffice-Guest", false);
  aps.add("CafeNextDoor", 1, {-14, -4}, false, true);
  aps.add("HOME-4F2A", 11, {18, 22}, true, true);
  s.access_points = aps.take();
  s.models = standard_device_models();
  s.remembered_ssids = common_ssids();
  auto& b = s.behaviour;
  b.visitors_per_hour = 3.0;
  b.passers_per_hour = 60.0;
  b.staff = 3;
  b.group_share = 0.45;  // couples and families buying a flat
  b.returning_share = 0.2;
  b.min_zones = 1;
  b.max_zones = 2;
  b.ordered_route = true;
  // Weights over standard_device_models(): iphone-11, iphone-12, iphone-xr, iphone-7, galaxy-s21, pixel, laptop,
  // legacy.
  b.visitor_model_mix = {0.16, 0.14, 0.1, 0.06, 0.27, 0.17, 0.02, 0.08};
  b.staff_model_mix = {0.15, 0.1, 0.05, 0.05, 0.2, 0.0, 0.4, 0.05};
  return s;
}

std::vector<Zone> mall_zones() {
  return {
      {.name = "north-entrance", .centre = {0, 0}, .radius_m = 6, .entrance = true, .dwell_median_s = 45, .attraction = 0},
      {.name = "atrium", .centre = {0, 55}, .radius_m = 12, .dwell_median_s = 300, .attraction = 3,
       .sale_share = 0.05, .sale_median = 6, .sale_sigma = 0.4, .sale_min = 2},  // kiosks
      {.name = "fashion", .centre = {-45, 35}, .radius_m = 10, .dwell_median_s = 900, .attraction = 2,
       .sale_share = 0.35, .sale_median = 45, .sale_sigma = 0.7, .sale_min = 5},
      {.name = "electronics", .centre = {45, 35}, .radius_m = 10, .dwell_median_s = 700, .attraction = 1.5,
       .sale_share = 0.18, .sale_median = 120, .sale_sigma = 0.9, .sale_min = 10},
      {.name = "food-court", .centre = {-40, 95}, .radius_m = 14, .dwell_median_s = 1800, .attraction = 2,
       .sale_share = 0.65, .sale_median = 14, .sale_sigma = 0.5, .sale_min = 3},
      {.name = "cinema", .centre = {40, 100}, .radius_m = 12, .dwell_median_s = 5400, .attraction = 0.4,
       .sale_share = 0.85, .sale_median = 12, .sale_sigma = 0.3, .sale_min = 8},
      {.name = "south-entrance", .centre = {0, 130}, .radius_m = 6, .entrance = true, .dwell_median_s = 45, .attraction = 0},
  };
}

std::vector<Probe> mall_probes(const std::vector<Zone>& zones) {
  static constexpr unsigned channels[] = {1, 6, 11, 1, 6, 11, 11};
  std::vector<Probe> probes;
  for (std::size_t i = 0; i < zones.size(); ++i) {
    probes.push_back({.id = static_cast<int>(i + 1), .name = zones[i].name, .zone = i,
                      .position = zones[i].centre, .channel = channels[i % std::size(channels)]});
  }
  return probes;
}

Scenario mall(bool busy) {
  Scenario s;
  s.name = busy ? "busy-mall" : "mall";
  s.description = busy ? "a dense shopping mall on a sale day, for benchmarks"
                       : "shopping mall: two entrances, atrium, shops, food court, cinema";
  s.zones = mall_zones();
  s.probes = mall_probes(s.zones);
  ApList aps;
  const Point hotspots[] = {{0, 20}, {0, 55}, {-45, 35}, {45, 35}, {-40, 95}, {40, 100}, {0, 115}};
  static constexpr unsigned hotspot_channels[] = {6, 1, 11, 6, 1, 6, 1};
  for (std::size_t i = 0; i < std::size(hotspots); ++i) aps.add("Mall-Free-WiFi", hotspot_channels[i], hotspots[i], false);
  aps.add("ZARA-STAFF", 1, {-50, 30}, true);
  aps.add("MediaStore", 11, {50, 40}, true);
  aps.add("Starbucks WiFi", 6, {-35, 100}, false);
  aps.add("Cinema-Office", 11, {45, 110}, true);
  aps.add("CityFreeWiFi", 1, {0, -25}, false, true);
  if (busy) {
    const char* shops[] = {"H&M-Store", "Apple Store", "Burger-POS", "Pharmacy", "Bookshop", "Sushi-Bar"};
    for (std::size_t i = 0; i < std::size(shops); ++i) {
      const double x = (i % 2 == 0 ? -1.0 : 1.0) * (30.0 + 5.0 * static_cast<double>(i));
      aps.add(shops[i], hotspot_channels[i], {x, 20.0 + 15.0 * static_cast<double>(i)}, true);
    }
  }
  s.access_points = aps.take();
  s.models = standard_device_models();
  s.remembered_ssids = common_ssids();
  auto& b = s.behaviour;
  b.visitors_per_hour = busy ? 2500.0 : 150.0;
  b.passers_per_hour = busy ? 3000.0 : 400.0;
  b.staff = busy ? 120 : 24;
  b.group_share = 0.35;
  b.returning_share = 0.25;
  b.min_zones = 1;
  b.max_zones = 4;
  b.ordered_route = false;
  b.walk_speed_mps = 1.0;
  b.visitor_model_mix = {0.14, 0.12, 0.1, 0.05, 0.3, 0.17, 0.03, 0.09};
  b.staff_model_mix = {0.15, 0.1, 0.1, 0.05, 0.3, 0.1, 0.1, 0.1};
  return s;
}

}  // namespace

// Phones of one model do not all send one fingerprint: OS versions and settings change capability bits. On the
// Brno busy day the 85 devices with random addresses (linked by the probe) carry 30 fingerprints, the largest
// 10 of them. 8 variants per model with shares 1/(k+1) give about 33 fingerprints and a largest of 9-10 for 85
// devices of this mix. A variant changes the HT A-MPDU parameters' minimum start spacing (bits 2-4), a field
// drivers and OS versions set differently and the probe's fingerprint keeps.
constexpr std::uint8_t kFingerprintVariants = 8;

DeviceModel with_fingerprint_variants(DeviceModel m) {
  if (!m.has_ht) return m;
  for (std::uint8_t k = 0; k < kFingerprintVariants; ++k) {
    std::vector<std::uint8_t> tail = m.ie_tail;
    for (std::size_t i = 0; i + 1 < tail.size(); i += 2 + tail[i + 1]) {
      if (tail[i] != 45 || tail[i + 1] < 3) continue;  // HT capabilities: info (2 bytes), A-MPDU parameters
      tail[i + 4] = static_cast<std::uint8_t>(tail[i + 4] ^ (k << 2));
      break;
    }
    m.ie_tail_variants.push_back(std::move(tail));
  }
  return m;
}

std::vector<DeviceModel> standard_device_models() {
  std::vector<DeviceModel> models{iphone_11(), iphone_12(), iphone_xr(), iphone_7(), galaxy_s21(), pixel_like(),
                                  laptop_like(), legacy_phone()};
  for (DeviceModel& m : models) m = with_fingerprint_variants(std::move(m));
  return models;
}

std::vector<std::string> scenario_names() { return {"office", "mall", "busy-mall"}; }

std::optional<Scenario> make_scenario(std::string_view name) {
  if (name == "office") return office();
  if (name == "mall") return mall(false);
  if (name == "busy-mall") return mall(true);
  return std::nullopt;
}

}  // namespace footfall::sim
