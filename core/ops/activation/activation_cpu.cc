// The activations on the CPU: one pass over storage S, computing in
// compute_t<S> (f32 for half storage). In f32 exp, tanh and erf are the
// vectorizable ones (core/backend/cpu/vector_math.h), so the pass runs in
// SIMD registers; f64 (gradient checks) keeps libm's.
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/backend/cpu/vector_math.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/activation/activation_math.h"

namespace tk::cpu {
namespace {

constexpr int64_t kGrain = 16384;

// The shared activation math's exp, tanh and erf: vectorizable in f32, libm's in f64.
struct CpuMath {
  template <typename T>
  TK_CPU_INLINE static T erf_of(T x) { return vector_math::erf_of(x); }
  template <typename T>
  TK_CPU_INLINE static T exp_of(T x) { return vector_math::exp_of(x); }
  template <typename T>
  TK_CPU_INLINE static T tanh_of(T x) { return vector_math::tanh_of(x); }
};

template <Activation A, typename S>
TK_CPU_INLINE void activation_forward_range(int64_t begin, int64_t end, const S* __restrict x, S* __restrict y) {
  using T = compute_t<S>;
  for (int64_t i = begin; i < end; ++i) y[i] = store<S>(math::activate<A, T, CpuMath>(load(x[i])));
}

template <Activation A, typename S>
TK_CPU_INLINE void activation_backward_range(int64_t begin, int64_t end, const S* __restrict x, const S* __restrict y,
                               const S* __restrict dy, S* __restrict dx, bool accumulate) {
  using T = compute_t<S>;
  auto gradient = [&](int64_t i) __attribute__((always_inline)) -> T {
    return load(dy[i]) * math::activation_slope<A, T, CpuMath>(load(x[i]), load(y[i]));
  };
  // Two loops, not a select per element: a load under a condition keeps the loop scalar.
  if (accumulate) {
    for (int64_t i = begin; i < end; ++i) dx[i] = store<S>(load(dx[i]) + gradient(i));
  } else {
    for (int64_t i = begin; i < end; ++i) dx[i] = store<S>(gradient(i));
  }
}

void activation_forward(Backend& backend, DType dt, Activation act, int64_t n, const void* x, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    math::dispatch_activation(act, [&](auto kind) {
      using S = decltype(tag);
      parallel_for(threads, n, kGrain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        activation_forward_range<decltype(kind)::value>(begin, end, static_cast<const S*>(x), static_cast<S*>(y));
      });
    });
  });
}

void activation_backward(Backend& backend, DType dt, Activation act, int64_t n, const void* x, const void* y,
                         const void* dy, void* dx, bool accumulate) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    math::dispatch_activation(act, [&](auto kind) {
      using S = decltype(tag);
      parallel_for(threads, n, kGrain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        activation_backward_range<decltype(kind)::value>(begin, end, static_cast<const S*>(x), static_cast<const S*>(y),
                                                         static_cast<const S*>(dy), static_cast<S*>(dx), accumulate);
      });
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::activation_forward, DeviceKind::kCpu, activation_forward},
    {kernels::activation_backward, DeviceKind::kCpu, activation_backward},
};

}  // namespace tk::cpu
