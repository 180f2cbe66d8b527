// Random rows with class labels, fed to data-parallel groups in slices.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/host_view.h"
#include "core/base/rng.h"

namespace tk {

struct ClassificationData {
  int64_t features;
  std::vector<float> x;
  std::vector<int32_t> y;
  ClassificationData(int64_t rows, int64_t features, int64_t classes, uint64_t seed)
      : features(features), x(rows * features), y(rows) {
    Rng rng(seed);
    for (float& v : x) v = static_cast<float>(2 * rng.uniform() - 1);
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % static_cast<uint64_t>(classes));
  }
  HostView inputs(int64_t begin, int64_t n) { return {x.data() + begin * features, DType::kF32, {n, features}, {}}; }
  HostView targets(int64_t begin, int64_t n) { return {y.data() + begin, DType::kI32, {n}, {}}; }
};

}  // namespace tk
