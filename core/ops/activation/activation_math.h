// The math of the activations, shared by the CPU and CUDA kernels
// (TK_HOST_DEVICE), so the CPU tests cover what the GPU computes.
// T is float or double.
#pragma once

#include <math.h>

#include <type_traits>

#include "core/base/host_device.h"
#include "core/ops/activation/activation_kernels.h"

namespace tk::math {

// Where erf, exp and tanh come from: the C library (CUDA's device
// functions on the GPU), or a kernel's own (the CPU's vectorizable f32 ones).
struct Libm {
  TK_HOST_DEVICE static float erf_of(float x) { return erff(x); }
  TK_HOST_DEVICE static double erf_of(double x) { return ::erf(x); }
  TK_HOST_DEVICE static float exp_of(float x) { return expf(x); }
  TK_HOST_DEVICE static double exp_of(double x) { return ::exp(x); }
  TK_HOST_DEVICE static float tanh_of(float x) { return tanhf(x); }
  TK_HOST_DEVICE static double tanh_of(double x) { return ::tanh(x); }
};

template <Activation A, typename T, typename M = Libm>
TK_HOST_DEVICE inline T activate(T x) {
  // NaN passes, as in PyTorch: it must not vanish before the loss check.
  if constexpr (A == Activation::kRelu) return x <= T(0) ? T(0) : x;
  if constexpr (A == Activation::kGelu) return T(0.5) * x * (T(1) + M::erf_of(x * T(0.70710678118654752440)));
  if constexpr (A == Activation::kTanh) return M::tanh_of(x);
  if constexpr (A == Activation::kSigmoid) return T(1) / (T(1) + M::exp_of(-x));
  if constexpr (A == Activation::kSilu) return x / (T(1) + M::exp_of(-x));
  // GPT-2's GELU (PyTorch's approximate="tanh").
  if constexpr (A == Activation::kGeluTanh)
    return T(0.5) * x * (T(1) + M::tanh_of(T(0.79788456080286535588) * (x + T(0.044715) * x * x * x)));
}

// d(activation)/dx given input x and output y (whichever is cheaper).
template <Activation A, typename T, typename M = Libm>
TK_HOST_DEVICE inline T activation_slope(T x, T y) {
  // A NaN output passes its gradient on, as PyTorch's threshold_backward does.
  if constexpr (A == Activation::kRelu) return y <= T(0) ? T(0) : T(1);
  if constexpr (A == Activation::kGelu) {
    const T cdf = T(0.5) * (T(1) + M::erf_of(x * T(0.70710678118654752440)));
    const T pdf = M::exp_of(T(-0.5) * x * x) * T(0.3989422804014327);
    return cdf + x * pdf;
  }
  if constexpr (A == Activation::kTanh) return T(1) - y * y;
  if constexpr (A == Activation::kSigmoid) return y * (T(1) - y);
  // SiLU from its input: s + x s (1 - s), s the sigmoid of x.
  if constexpr (A == Activation::kSilu) {
    const T s = T(1) / (T(1) + M::exp_of(-x));
    return s * (T(1) + x * (T(1) - s));
  }
  if constexpr (A == Activation::kGeluTanh) {
    const T t = M::tanh_of(T(0.79788456080286535588) * (x + T(0.044715) * x * x * x));
    return T(0.5) * (T(1) + t) +
           T(0.5) * x * (T(1) - t * t) * T(0.79788456080286535588) * (T(1) + T(3 * 0.044715) * x * x);
  }
}

// Calls fn(std::integral_constant<Activation, A>{}) so loops and kernels
// specialize per activation.
template <typename Fn>
void dispatch_activation(Activation act, const Fn& fn) {
  switch (act) {
    case Activation::kRelu: fn(std::integral_constant<Activation, Activation::kRelu>{}); return;
    case Activation::kGelu: fn(std::integral_constant<Activation, Activation::kGelu>{}); return;
    case Activation::kTanh: fn(std::integral_constant<Activation, Activation::kTanh>{}); return;
    case Activation::kSigmoid: fn(std::integral_constant<Activation, Activation::kSigmoid>{}); return;
    case Activation::kSilu: fn(std::integral_constant<Activation, Activation::kSilu>{}); return;
    case Activation::kGeluTanh: fn(std::integral_constant<Activation, Activation::kGeluTanh>{}); return;
  }
}

}  // namespace tk::math
