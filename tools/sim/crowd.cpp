#include "tools/sim/crowd.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <utility>
#include <vector>

#include "tools/sim/frame_builder.h"
#include "tools/sim/sim_random.h"
#include "tools/sim/site_model.h"

namespace footfall::sim {
namespace {
// One synthetic model per fingerprint: a standard randomizing model whose extended supported rates carry
// the model's number, so the parser gives each its own fingerprint.
std::vector<DeviceModel> crowd_models(std::uint32_t count) {
  std::vector<DeviceModel> base;
  for (const DeviceModel& m : standard_device_models())
    if (m.randomizing_share > 0.5) base.push_back(m);
  std::vector<DeviceModel> models;
  for (std::uint32_t i = 0; i < count; ++i) {
    DeviceModel m = base[i % base.size()];
    m.ie_rates = {1, 4, 0x02, 0x04, 0x0b, 0x16, 50, 4, 0x30, 0x48, static_cast<std::uint8_t>(i),
                  static_cast<std::uint8_t>(i >> 8)};
    models.push_back(std::move(m));
  }
  return models;
}
}  // namespace

CrowdTruth generate_crowd(const CrowdOptions& o, const std::function<void(const CrowdFrame&)>& emit) {
  struct Phone {
    std::uint32_t model = 0;
    bool randomizing = true;
    MacAddress mac;
    std::uint16_t seq = 0;
    double period_s = 30;
    double rssi = -60;
    std::int64_t leaves_ns = 0;
    std::uint32_t id = 0;
    bool counted = false;  // heard in the run proper
    bool heard = false;
  };
  const std::uint32_t fingerprints = std::max(1u, o.fingerprints);
  const std::vector<DeviceModel> models = crowd_models(fingerprints);
  std::vector<double> cumulative;  // Zipf(1) shares
  double total = 0;
  for (std::uint32_t i = 0; i < fingerprints; ++i) cumulative.push_back(total += 1.0 / (i + 1));
  SimRandom rng(o.seed);
  const std::int64_t start_ns = 1'793'610'000'000'000'000;
  const auto warmup_ns = static_cast<std::int64_t>(o.warmup_s * 1e9);
  const std::int64_t end_ns = start_ns + warmup_ns + static_cast<std::int64_t>(o.seconds * 1e9);
  const auto random_mac = [&rng](bool randomizing) {
    MacAddress m;
    const std::uint64_t b = rng.bits();
    for (std::size_t i = 0; i < 6; ++i) m.octets[i] = static_cast<std::uint8_t>(b >> (8 * i));
    m.octets[0] = static_cast<std::uint8_t>((m.octets[0] & 0xfc) | (randomizing ? 0x02 : 0x00));
    return m;
  };
  const auto new_phone = [&](std::int64_t now_ns) {
    Phone p;
    const double u = rng.uniform() * total;
    p.model = static_cast<std::uint32_t>(std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin());
    p.model = std::min(p.model, fingerprints - 1);
    p.randomizing = rng.chance(0.9);
    p.mac = random_mac(p.randomizing);
    p.seq = static_cast<std::uint16_t>(rng.uniform_int(0, 4095));
    p.period_s = rng.uniform(20, 60);
    p.rssi = rng.uniform(-85, -40);
    p.leaves_ns = now_ns + static_cast<std::int64_t>(-std::log(1.0 - rng.uniform()) * 900e9);
    return p;
  };
  std::vector<Phone> phones;
  using Due = std::pair<std::int64_t, std::uint32_t>;  // next burst, phone
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
  for (std::uint32_t i = 0; i < o.devices; ++i) {
    phones.push_back(new_phone(start_ns));
    due.emplace(start_ns + static_cast<std::int64_t>(rng.uniform(0, phones.back().period_s) * 1e9), i);
  }
  CrowdTruth truth;
  CaptureFrame frame;
  static constexpr unsigned channels[] = {1, 6, 11};
  while (!due.empty() && due.top().first < end_ns) {
    auto [t, i] = due.top();
    due.pop();
    if (t >= phones[i].leaves_ns) phones[i] = new_phone(t);  // one leaves, another comes in
    Phone& p = phones[i];
    if (!p.heard) {
      p.heard = true;
      p.id = static_cast<std::uint32_t>(truth.all_phones++);
      if (p.randomizing) ++truth.all_random_phones;
    }
    if (t >= start_ns + warmup_ns && !p.counted) {
      p.counted = true;
      ++truth.phones;
      if (p.randomizing) ++truth.random_phones;
    }
    const bool counts_on = p.model % 2 == 0;
    if (p.randomizing && rng.chance(o.rotate)) {
      p.mac = random_mac(true);
      if (!counts_on) p.seq = static_cast<std::uint16_t>(rng.uniform_int(0, 4095));
    }
    const auto burst = rng.uniform_int(1, 3);
    for (std::int64_t k = 0; k < burst; ++k) {
      const unsigned channel = channels[k % 3];
      ProbeRequestFields fields;
      fields.sa = p.mac;
      fields.seq = p.seq;
      fields.channel = channel;
      p.seq = static_cast<std::uint16_t>((p.seq + 1) % 4096);
      frame.dot11_length = build_probe_request(frame.dot11_area(), fields, models[p.model]);
      const int rssi = static_cast<int>(std::lround(std::clamp(rng.normal(p.rssi, 4.0), -95.0, -20.0)));
      write_radiotap(frame.radiotap_area(), {static_cast<std::uint64_t>(t / 1000), 2407 + 5 * channel, rssi});
      emit({t, frame.record(), p.id, p.randomizing, t < start_ns + warmup_ns});
      t += 20'000'000;
    }
    due.emplace(t + static_cast<std::int64_t>(p.period_s * rng.uniform(0.9, 1.1) * 1e9), i);
  }
  return truth;
}

}  // namespace footfall::sim
