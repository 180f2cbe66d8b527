// Fused optimizer passes over the flat parameter buffer; the per-parameter
// math is the CPU backend's (core/backend/optimizer_math.h).
#include <cmath>

#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/kernels.h"
#include "core/backend/optimizer_math.h"

namespace tk::cuda {
namespace {

template <typename T>
__global__ void sgd_kernel(int64_t n, T* p, const T* g, T* buf, T scale, T lr, T keep, T momentum, T decay,
                           bool nesterov, bool with_momentum) {
  TK_GRID_STRIDE(i, n) {
    if (with_momentum) math::sgd_momentum(p[i], g[i], buf[i], scale, lr, keep, momentum, decay, nesterov);
    else math::sgd_plain(p[i], g[i], scale, lr, decay);
  }
}

template <typename T>
__global__ void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, T scale, T l2_decay, T decay_factor, T beta1,
                            T beta2, T step_size, T inv_bias_correction2_sqrt, T eps) {
  TK_GRID_STRIDE(i, n) {
    math::adam(p[i], g[i], m[i], v[i], scale, l2_decay, decay_factor, beta1, beta2, step_size,
               inv_bias_correction2_sqrt, eps);
  }
}

}  // namespace

void sgd_update(cudaStream_t s, DType dt, int64_t n, void* params, const void* grads, void* momentum_buf,
                double grad_scale, double lr, double momentum, double weight_decay, bool nesterov, bool first_step) {
  if (n <= 0) return;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    sgd_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(
        n, static_cast<T*>(params), static_cast<const T*>(grads), static_cast<T*>(momentum_buf),
        static_cast<T>(grad_scale), static_cast<T>(lr), static_cast<T>(first_step ? 0.0 : momentum),
        static_cast<T>(momentum), static_cast<T>(weight_decay), nesterov, momentum != 0.0);
  });
  check_launch("sgd_update");
}

void adam_update(cudaStream_t s, DType dt, int64_t n, void* params, const void* grads, void* m, void* v,
                 double grad_scale, double lr, double beta1, double beta2, double eps, double weight_decay,
                 bool decoupled_weight_decay, int64_t step) {
  if (n <= 0) return;
  const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  const double l2_decay = decoupled_weight_decay ? 0.0 : weight_decay;
  const double decay_factor = decoupled_weight_decay ? 1.0 - lr * weight_decay : 1.0;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    adam_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(
        n, static_cast<T*>(params), static_cast<const T*>(grads), static_cast<T*>(m), static_cast<T*>(v),
        static_cast<T>(grad_scale), static_cast<T>(l2_decay), static_cast<T>(decay_factor), static_cast<T>(beta1),
        static_cast<T>(beta2), static_cast<T>(lr / bias_correction1),
        static_cast<T>(1.0 / std::sqrt(bias_correction2)), static_cast<T>(eps));
  });
  check_launch("adam_update");
}

}  // namespace tk::cuda
