// The activations on the CPU: one pass over storage S, computing in
// compute_t<S> (f32 for half storage).
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/activation/activation_math.h"

namespace tk::cpu {
namespace {

constexpr int64_t kGrain = 16384;

template <Activation A, typename S>
void activation_forward_range(int64_t begin, int64_t end, const S* __restrict x, S* __restrict y) {
  for (int64_t i = begin; i < end; ++i) y[i] = store<S>(math::activate<A>(load(x[i])));
}

template <Activation A, typename S>
void activation_backward_range(int64_t begin, int64_t end, const S* __restrict x, const S* __restrict y,
                               const S* __restrict dy, S* __restrict dx, bool accumulate) {
  using T = compute_t<S>;
  for (int64_t i = begin; i < end; ++i) {
    T g = load(dy[i]) * math::activation_slope<A>(load(x[i]), load(y[i]));
    dx[i] = store<S>(accumulate ? load(dx[i]) + g : g);
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
