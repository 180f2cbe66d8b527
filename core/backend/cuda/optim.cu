// Fused optimizer passes over the flat parameter buffer; the per-parameter
// math is the CPU backend's (core/backend/optimizer_math.h).

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
__global__ void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, const math::AdamConstants<T> c) {
  TK_GRID_STRIDE(i, n) { math::adam(p[i], g[i], m[i], v[i], c); }
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
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    adam_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(
        n, static_cast<T*>(params), static_cast<const T*>(grads), static_cast<T*>(m), static_cast<T*>(v),
        math::adam_constants<T>(grad_scale, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, step));
  });
  check_launch("adam_update");
}

}  // namespace tk::cuda
