// Device index arithmetic shared by the CUDA sliding-window kernels (col2im
// in conv/, pooling's backward in pool/): the windows covering one input.
#pragma once

#include <cstdint>

#include "core/base/window2d.h"

namespace tk::cuda {

// The output positions o whose window tap k lands on input coordinate i:
// o * stride - pad + k * dilation == i.
__device__ inline bool tap_output(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t dilation, int64_t out,
                                  int64_t* o) {
  const int64_t shifted = i + pad - k * dilation;
  if (shifted < 0 || shifted % stride != 0) return false;
  *o = shifted / stride;
  return *o < out;
}

// Calls fn(ky, kx, oy, ox) for every kernel tap and output position whose
// window covers input (iy, ix): the gather both backward passes need.
template <typename Fn>
__device__ inline void for_each_covering_window(const Window2d& w, int64_t iy, int64_t ix, const Fn& fn) {
  for (int64_t ky = 0; ky < w.kernel_h; ++ky) {
    int64_t oy;
    if (!tap_output(iy, ky, w.stride_h, w.pad_h, w.dilation_h, w.out_h, &oy)) continue;
    for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
      int64_t ox;
      if (tap_output(ix, kx, w.stride_w, w.pad_w, w.dilation_w, w.out_w, &ox)) fn(ky, kx, oy, ox);
    }
  }
}

}  // namespace tk::cuda
