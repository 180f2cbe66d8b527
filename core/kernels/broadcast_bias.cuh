// The bias broadcast Linear (one bias per column) and Conv2d (one per
// channel plane) share on CUDA GPUs.
#pragma once

#include <cstdint>

#include "core/backend/cuda/cuda_common.cuh"

namespace tk::cuda {

// y[i] += bias[(i / inner) % period]: Linear's bias (inner 1) and a channel's (inner = spatial).
template <typename S, typename B>
__global__ void broadcast_bias_kernel(int64_t n, int64_t inner, int64_t period, const B* bias, S* y) {
  TK_GRID_STRIDE(i, n) { y[i] = store<S>(load(y[i]) + static_cast<compute_t<S>>(load(bias[(i / inner) % period]))); }
}

inline void broadcast_bias(cudaStream_t s, DType y_dt, DType bias_dt, int64_t n, int64_t inner, int64_t period,
                           const void* b, void* y) {
  dispatch_storage(y_dt, [&](auto y_tag) {
    dispatch_storage(bias_dt, [&](auto b_tag) {
      using S = decltype(y_tag);
      using B = decltype(b_tag);
      broadcast_bias_kernel<S, B>
          <<<blocks_for(n), kThreads, 0, s>>>(n, inner, period, static_cast<const B*>(b), static_cast<S*>(y));
    });
  });
  check_launch("bias_add");
}

}  // namespace tk::cuda
