#include "tools/sim/site_model.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

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

void add_vht_caps(Bytes& out, std::uint32_t info, std::uint16_t mcs_map) {
  out.push_back(191);
  out.push_back(12);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(info >> (8 * i)));
  for (int twice = 0; twice < 2; ++twice) {  // rx then tx MCS map, each with highest rate 0
    out.push_back(static_cast<std::uint8_t>(mcs_map & 0xff));
    out.push_back(static_cast<std::uint8_t>(mcs_map >> 8));
    out.push_back(0x00);
    out.push_back(0x00);
  }
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

DeviceModel iphone_like() {
  DeviceModel m;
  m.name = "iphone-like";
  m.vendor = "Apple";
  m.universal_ouis = {0xf01898, 0x3c22fb, 0xa483e7};
  m.randomizing_share = 0.95;
  m.mac_change_per_burst = 0.15;
  add_element(m.ie_rates, 1, {0x02, 0x04, 0x0b, 0x16});
  add_element(m.ie_rates, 50, {0x0c, 0x12, 0x18, 0x24, 0x30, 0x48, 0x60, 0x6c});
  add_ht_caps(m.ie_tail, 0x002d, 0x17, 2);
  add_element(m.ie_tail, 127, {0x04, 0x00, 0x0a, 0x02, 0x01, 0x40, 0x40, 0x80});
  add_vht_caps(m.ie_tail, 0x0f8259b2, 0xfffa);
  m.has_ht = m.has_vht = true;
  add_vendor(m, 0x0017f2, {0x0a, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00});
  add_vendor(m, 0x001018, {0x02, 0x00, 0x00, 0x1c, 0x00, 0x00});
  return m;
}

DeviceModel samsung_like() {
  DeviceModel m;
  m.name = "android-samsung-like";
  m.vendor = "Samsung";
  m.universal_ouis = {0x8cf5a3, 0x5ce8eb};
  m.randomizing_share = 0.9;
  m.mac_change_per_burst = 0.5;
  add_element(m.ie_rates, 1, {0x02, 0x04, 0x0b, 0x16, 0x0c, 0x12, 0x18, 0x24});
  add_element(m.ie_rates, 50, {0x30, 0x48, 0x60, 0x6c});
  add_ht_caps(m.ie_tail, 0x01ef, 0x1b, 2);
  add_element(m.ie_tail, 127, {0x00, 0x00, 0x0a, 0x82, 0x01, 0x40, 0x40, 0x00, 0x40, 0x01});
  add_vht_caps(m.ie_tail, 0x0f8159b2, 0xfffa);
  m.has_ht = m.has_vht = true;
  add_vendor(m, 0x00904c, {0x04, 0x08, 0xbf, 0x0c, 0xb2, 0x59, 0x82, 0x0f, 0xea, 0xff, 0x00, 0x00});
  add_vendor(m, 0x506f9a, {0x16, 0x03, 0x01, 0x03});
  return m;
}

DeviceModel pixel_like() {
  DeviceModel m;
  m.name = "android-pixel-like";
  m.vendor = "Google";
  m.universal_ouis = {0x3c286d, 0xf4f5e8};
  m.randomizing_share = 0.95;
  m.mac_change_per_burst = 0.6;
  add_element(m.ie_rates, 1, {0x02, 0x04, 0x0b, 0x16, 0x0c, 0x12, 0x18, 0x24});
  add_element(m.ie_rates, 50, {0x30, 0x48, 0x60, 0x6c});
  add_ht_caps(m.ie_tail, 0x012c, 0x03, 1);
  add_element(m.ie_tail, 127, {0x04, 0x00, 0x4a, 0x82, 0x01, 0x40, 0x40, 0x00, 0x00, 0x20});
  m.has_ht = true;
  add_vendor(m, 0x506f9a, {0x16, 0x03, 0x01, 0x03});
  add_vendor(m, 0x0050f2, {0x08, 0x00, 0x10, 0x00});
  return m;
}

DeviceModel laptop_like() {
  DeviceModel m;
  m.name = "laptop-like";
  m.vendor = "Intel";
  m.universal_ouis = {0x3ca9f4, 0x8c8d28, 0xa0a8cd};
  m.randomizing_share = 0.1;
  m.mac_change_per_burst = 0.0;
  add_element(m.ie_rates, 1, {0x02, 0x04, 0x0b, 0x0c, 0x12, 0x16, 0x18, 0x24});
  add_element(m.ie_rates, 50, {0x30, 0x48, 0x60, 0x6c});
  add_ht_caps(m.ie_tail, 0x01ad, 0x17, 2);
  add_element(m.ie_tail, 127, {0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40});
  m.has_ht = true;
  add_vendor(m, 0x0050f2, {0x04, 0x10, 0x4a, 0x00, 0x01, 0x10, 0x10, 0x3a, 0x00, 0x01, 0x00});
  return m;
}

DeviceModel legacy_phone() {
  DeviceModel m;
  m.name = "legacy-phone";
  m.vendor = "HTC";
  m.universal_ouis = {0x002376, 0x002637};
  m.randomizing_share = 0.0;
  m.mac_change_per_burst = 0.0;
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
  b.visitor_model_mix = {0.45, 0.25, 0.15, 0.02, 0.13};
  b.staff_model_mix = {0.4, 0.2, 0.0, 0.4, 0.0};
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
  b.visitor_model_mix = {0.4, 0.3, 0.15, 0.03, 0.12};
  b.staff_model_mix = {0.4, 0.3, 0.1, 0.1, 0.1};
  return s;
}

}  // namespace

std::vector<DeviceModel> standard_device_models() {
  return {iphone_like(), samsung_like(), pixel_like(), laptop_like(), legacy_phone()};
}

std::vector<std::string> scenario_names() { return {"office", "mall", "busy-mall"}; }

std::optional<Scenario> make_scenario(std::string_view name) {
  if (name == "office") return office();
  if (name == "mall") return mall(false);
  if (name == "busy-mall") return mall(true);
  return std::nullopt;
}

}  // namespace footfall::sim
