// The dropout kernel (dropout.cc) and its mask, shared by the CPU and CUDA
// code so both draw the same bits.
#pragma once

#include <cstdint>

#include "core/base/host_device.h"
#include "core/base/rng.h"
#include "core/kernels/kernel_table.h"

namespace tk {
namespace math {

// Inverted dropout's factor for element `index` (runs of `block` elements
// share one draw): 0, or keep_scale = 1 / (1 - p).
template <typename T>
TK_HOST_DEVICE inline T dropout_factor(double p, uint64_t seed, uint64_t stream, int64_t index, int64_t block,
                                       T keep_scale) {
  return hash_uniform(seed, stream, static_cast<uint64_t>(index / block)) >= p ? keep_scale : T(0);
}

}  // namespace math

namespace kernels {

// Inverted dropout: keep with probability 1-p, scale kept values by 1/(1-p).
// Runs of `block` consecutive elements share one mask bit (1 for elementwise,
// a channel's plane for image dropout). The bit is hash(seed, stream,
// index / block), so forward and backward agree.
inline const Kernel<void(DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream, const void* x,
                         void* y, bool accumulate)>
    dropout{"dropout"};

}  // namespace kernels
}  // namespace tk
