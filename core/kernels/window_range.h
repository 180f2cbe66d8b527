// Index arithmetic shared by the CPU's sliding-window kernels (im2col/col2im
// in conv/, pooling in pool/).
#pragma once

#include <algorithm>
#include <cstdint>

namespace tk::cpu {

// Plane-sized work runs on one thread below this many elements: OpenMP
// regions cost more than they save on small images.
constexpr int64_t kMinParallelElements = 1 << 15;

inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The output positions o in [0, out) whose input coordinate o * stride + offset
// lies in [0, size): [lo, hi). Lets the inner loops run without bounds checks.
inline void valid_range(int64_t out, int64_t stride, int64_t offset, int64_t size, int64_t* lo, int64_t* hi) {
  *lo = std::max<int64_t>(0, floor_div(-offset + stride - 1, stride));
  *hi = std::min<int64_t>(out, floor_div(size - 1 - offset, stride) + 1);
  if (*hi < *lo) *hi = *lo;
}

}  // namespace tk::cpu
