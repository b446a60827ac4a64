#pragma once
// Deterministic random draws for the simulator. The distributions are written out here because
// std::normal_distribution and friends give different sequences on different standard libraries,
// and a seed must give the same capture everywhere.
#include <cmath>
#include <cstdint>
#include <random>

namespace footfall::sim {

class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed) : engine_(seed) {}

  std::uint64_t bits() { return engine_(); }

  // Uniform in [0, 1) with 53 bits of precision.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [lo, hi]; the modulo bias is below 2^-40 for the ranges used here.
  std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(engine_() % span);
  }
  std::size_t index(std::size_t size) { return static_cast<std::size_t>(engine_() % size); }

  bool chance(double p) { return uniform() < p; }

  // Box-Muller; the spare value is kept so each pair of uniforms gives two normals.
  double normal(double mean, double sigma) {
    if (has_spare_) {
      has_spare_ = false;
      return mean + sigma * spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    constexpr double two_pi = 6.283185307179586476925286766559;
    spare_ = radius * std::sin(two_pi * u2);
    has_spare_ = true;
    return mean + sigma * radius * std::cos(two_pi * u2);
  }

  double exponential(double mean) {
    double u = uniform();
    while (u <= 0.0) u = uniform();
    return -mean * std::log(u);
  }

  // Log-normal given its median and the sigma of the underlying normal: a natural shape for dwell times.
  double lognormal(double median, double sigma) { return median * std::exp(normal(0.0, sigma)); }

  // Weighted choice over `count` weights.
  template <typename Weights>
  std::size_t weighted(const Weights& weights) {
    double total = 0.0;
    for (double w : weights) total += w;
    double pick = uniform() * total;
    std::size_t i = 0;
    for (double w : weights) {
      if (pick < w) return i;
      pick -= w;
      ++i;
    }
    return i == 0 ? 0 : i - 1;
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace footfall::sim
