// Kernels of the pointwise activations (activation.cc): forward writes y,
// backward writes dx (or adds into it) from x, y and dy.
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"

namespace tk {

enum class Activation { kRelu, kGelu, kTanh, kSigmoid, kSilu, kGeluTanh };
// Every activation: each is registered under its name, and the GPU test covers each.
inline constexpr Activation kActivations[] = {Activation::kRelu, Activation::kGelu, Activation::kTanh,
                                              Activation::kSigmoid, Activation::kSilu, Activation::kGeluTanh};

namespace kernels {

// Over one storage dtype `dt` (f32, f64, f16, bf16); half storage computes in f32.
inline const Kernel<void(DType dt, Activation act, int64_t n, const void* x, void* y)> activation_forward{
    "activation_forward"};
inline const Kernel<void(DType dt, Activation act, int64_t n, const void* x, const void* y, const void* dy, void* dx,
                         bool accumulate)>
    activation_backward{"activation_backward"};

}  // namespace kernels
}  // namespace tk
