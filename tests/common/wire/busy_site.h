#pragma once
// A synthetic second of traffic at a busy site: access points (one per shop SSID) beaconing every
// 102.4 ms with a channel-access delay, and phones sending short probe-request bursts, most from
// randomized addresses, with per-device RSSI jitter and information-element fingerprints shared by
// phones of the same model.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "common/records.h"

namespace footfall::wire::testing {

struct BusySiteShape {
  int sightings = 2000;
  int devices = 300;
  int access_points = 60;
  int phone_models = 25;
  std::int64_t tick_ns = 1000;  // timestamp resolution: pcap's default is microseconds
};

inline std::vector<Sighting> busy_site_second(std::mt19937& rng, BusySiteShape shape = {}) {
  const std::int64_t start_ns = 1'718'000'000'000'000'000;
  const std::uint16_t channels[] = {2412, 2437, 2462, 5180, 5240};
  auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::normal_distribution<double> jitter(0.0, 2.5);
  std::exponential_distribution<double> access_delay_ns(1.0 / 150'000.0);  // medium busy before a beacon
  std::vector<std::uint64_t> models(static_cast<std::size_t>(shape.phone_models));
  for (auto& m : models) m = (static_cast<std::uint64_t>(uniform(0, 1 << 30)) << 32) | static_cast<std::uint64_t>(uniform(0, 1 << 30));
  std::vector<double> popularity(models.size());
  for (std::size_t i = 0; i < popularity.size(); ++i) popularity[i] = 1.0 / static_cast<double>(i + 1);  // Zipf
  std::discrete_distribution<std::size_t> model_of(popularity.begin(), popularity.end());

  struct Device {
    MacAddress mac;
    int rssi_base;
    std::uint16_t seq;
    std::uint64_t fingerprint;
    std::uint16_t freq;
  };
  std::vector<Device> devices(static_cast<std::size_t>(shape.devices));
  const std::uint8_t ouis[3][3] = {{0x00, 0x1a, 0x1e}, {0x3c, 0x37, 0x86}, {0xf0, 0x9f, 0xc2}};
  for (std::size_t i = 0; i < devices.size(); ++i) {
    Device& d = devices[i];
    const bool ap = i < static_cast<std::size_t>(shape.access_points);
    for (auto& o : d.mac.octets) o = static_cast<std::uint8_t>(uniform(0, 255));
    if (ap || uniform(0, 9) < 2) {
      const auto& oui = ouis[uniform(0, 2)];
      std::copy(std::begin(oui), std::end(oui), d.mac.octets.begin());
    } else {
      d.mac.octets[0] = static_cast<std::uint8_t>((d.mac.octets[0] | 0x02) & 0xfe);  // randomized
    }
    d.rssi_base = uniform(-88, -42);
    d.seq = static_cast<std::uint16_t>(uniform(0, 4095));
    d.fingerprint = ap ? 0 : models[model_of(rng)];
    d.freq = channels[uniform(0, ap ? 4 : 2)];
  }
  auto sighting = [&](Device& d, std::int64_t t, SightingKind kind, std::uint16_t freq) {
    Sighting s;
    s.ts_ns = start_ns + t / shape.tick_ns * shape.tick_ns;
    s.mac = d.mac;
    s.kind = kind;
    s.has_rssi = true;
    s.rssi_dbm = static_cast<std::int8_t>(d.rssi_base + static_cast<int>(std::lround(jitter(rng))));
    s.freq_mhz = freq;
    s.seq = d.seq;
    d.seq = static_cast<std::uint16_t>((d.seq + uniform(1, 3)) & 0x0fff);
    s.fingerprint = kind == SightingKind::probe_req ? d.fingerprint : 0;
    return s;
  };

  std::vector<Sighting> out;
  for (int a = 0; a < shape.access_points; ++a) {
    Device& ap = devices[static_cast<std::size_t>(a)];
    const std::int64_t phase = uniform(0, 102'400'000);
    for (std::int64_t tbtt = phase; tbtt < 1'000'000'000; tbtt += 102'400'000) {
      const std::int64_t t = tbtt + static_cast<std::int64_t>(access_delay_ns(rng));
      if (t < 1'000'000'000) out.push_back(sighting(ap, t, SightingKind::beacon, ap.freq));
    }
  }
  // Every phone bursts at least once; chatty ones (low index) burst again until the count is reached.
  std::size_t phone = static_cast<std::size_t>(shape.access_points);
  while (static_cast<int>(out.size()) < shape.sightings) {
    Device& d = devices[phone];
    std::int64_t t = uniform(0, 990'000'000);
    const std::uint16_t freq = channels[uniform(0, 2)];
    const int frames = uniform(2, 4);
    for (int f = 0; f < frames && t < 1'000'000'000 && static_cast<int>(out.size()) < shape.sightings; ++f) {
      out.push_back(sighting(d, t, SightingKind::probe_req, freq));
      t += uniform(300'000, 8'000'000);
    }
    phone = phone + 1 < devices.size() ? phone + 1
                                       : static_cast<std::size_t>(shape.access_points +
                                                                  uniform(0, uniform(1, shape.devices - shape.access_points - 1)));
  }
  std::stable_sort(out.begin(), out.end(), [](const Sighting& a, const Sighting& b) { return a.ts_ns < b.ts_ns; });
  return out;
}

}  // namespace footfall::wire::testing
