// Deterministic random numbers. Parameter init draws from a seeded stream;
// dropout masks are a pure function of (seed, step, element index), so backward
// recomputes the mask instead of storing it, and any backend gets the same bits.
#pragma once

#include "core/base/host_device.h"

#include <cmath>
#include <cstdint>

namespace tk {

// SplitMix64 finalizer: a good 64-bit mix, also used as a counter-based hash.
TK_HOST_DEVICE inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from the top 53 bits.
TK_HOST_DEVICE inline double hash_uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  uint64_t bits = mix64(mix64(seed ^ mix64(stream)) + index);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next_u64() { return mix64(state_++); }
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Box-Muller; one value per call keeps the stream simple to reason about.
  double normal() {
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

}  // namespace tk
