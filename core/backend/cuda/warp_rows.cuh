// What row-at-a-time CUDA kernels share: one warp per row (its lanes
// striding over the columns, for coalesced reads), warp sums and maxima that
// combine lanes in a fixed butterfly order (so results depend on the shape
// alone), and exp and log in the row's arithmetic type.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/backend/cuda/cuda_common.cuh"

namespace tk::cuda {

template <typename V>
__device__ inline V exp_v(V x) {
  return exp(x);
}
template <>
__device__ inline float exp_v<float>(float x) {
  return expf(x);
}
template <typename V>
__device__ inline V log_v(V x) {
  return log(x);
}
template <>
__device__ inline float log_v<float>(float x) {
  return logf(x);
}

constexpr int kWarp = 32;

// Every lane ends with the same value: each step adds the same two operands
// on both lanes of a pair.
template <typename V>
__device__ inline V warp_sum(V v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
template <typename V>
__device__ inline V warp_max(V v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v = max(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Grid-stride over rows, one warp each; `lane` is the thread's column offset.
#define TK_WARP_PER_ROW(r, rows, lane)                                                                \
  const int lane = threadIdx.x % kWarp;                                                               \
  for (int64_t r = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / kWarp; r < (rows); \
       r += static_cast<int64_t>(blockDim.x) * gridDim.x / kWarp)

inline unsigned blocks_for_rows(int64_t rows) { return blocks_for(rows * kWarp); }

template <typename V, typename S>
__device__ inline V row_max(const S* row, int64_t cols, int lane) {
  V m = -INFINITY;
  for (int64_t c = lane; c < cols; c += kWarp) m = max(m, static_cast<V>(load(row[c])));
  return warp_max(m);
}

}  // namespace tk::cuda
