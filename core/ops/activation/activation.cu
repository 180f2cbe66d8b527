// The activations on CUDA GPUs; the math is activation_math.h, as on the CPU.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/activation/activation_math.h"

namespace tk::cuda {
namespace {

template <Activation A, typename S>
__global__ void activation_forward_kernel(int64_t n, const S* x, S* y) {
  TK_GRID_STRIDE(i, n) { y[i] = store<S>(math::activate<A>(load(x[i]))); }
}

template <Activation A, typename S>
__global__ void activation_backward_kernel(int64_t n, const S* x, const S* y, const S* dy, S* dx, bool accumulate) {
  using T = compute_t<S>;
  TK_GRID_STRIDE(i, n) {
    const T g = load(dy[i]) * math::activation_slope<A>(load(x[i]), load(y[i]));
    dx[i] = store<S>(accumulate ? load(dx[i]) + g : g);
  }
}

void activation_forward(cudaStream_t s, DType dt, Activation act, int64_t n, const void* x, void* y) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    math::dispatch_activation(act, [&](auto kind) {
      using S = decltype(tag);
      activation_forward_kernel<decltype(kind)::value, S>
          <<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const S*>(x), static_cast<S*>(y));
    });
  });
  check_launch("activation_forward");
}

void activation_backward(cudaStream_t s, DType dt, Activation act, int64_t n, const void* x, const void* y,
                         const void* dy, void* dx, bool accumulate) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    math::dispatch_activation(act, [&](auto kind) {
      using S = decltype(tag);
      activation_backward_kernel<decltype(kind)::value, S>
          <<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const S*>(x), static_cast<const S*>(y),
                                              static_cast<const S*>(dy), static_cast<S*>(dx), accumulate);
    });
  });
  check_launch("activation_backward");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::activation_forward, DeviceKind::kCuda, OnStream<activation_forward>::run},
    {kernels::activation_backward, DeviceKind::kCuda, OnStream<activation_backward>::run},
};

}  // namespace tk::cuda
