// Fused optimizer passes over the flat parameter buffer (PyTorch semantics).
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"

namespace tk::cpu {

void CpuBackend::sgd_update(DType dt, int64_t n, void* params, const void* grads,
                            void* momentum_buf, double grad_scale, double lr, double momentum,
                            double weight_decay, bool nesterov, bool first_step) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(params);
    const T* g = static_cast<const T*>(grads);
    T* buf = static_cast<T*>(momentum_buf);
    parallel_for(threads_, n, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T d = static_cast<T>(grad_scale) * g[i] + static_cast<T>(weight_decay) * p[i];
        if (momentum != 0) {
          buf[i] = first_step ? d : static_cast<T>(momentum) * buf[i] + d;
          d = nesterov ? d + static_cast<T>(momentum) * buf[i] : buf[i];
        }
        p[i] -= static_cast<T>(lr) * d;
      }
    });
  });
}

void CpuBackend::adam_update(DType dt, int64_t n, void* params, const void* grads, void* m,
                             void* v, double grad_scale, double lr, double beta1, double beta2,
                             double eps, double weight_decay, bool decoupled_weight_decay,
                             int64_t step) {
  const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(beta2, static_cast<double>(step)));
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(params);
    const T* g = static_cast<const T*>(grads);
    T* m1 = static_cast<T*>(m);
    T* m2 = static_cast<T*>(v);
    const T b1 = static_cast<T>(beta1), b2 = static_cast<T>(beta2);
    const T step_size = static_cast<T>(lr / bias_correction1);
    const T decay = static_cast<T>(weight_decay);
    const T decay_factor = static_cast<T>(1.0 - lr * weight_decay);
    parallel_for(threads_, n, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T d = static_cast<T>(grad_scale) * g[i];
        if (decoupled_weight_decay) {
          p[i] *= decay_factor;
        } else {
          d += decay * p[i];
        }
        m1[i] = b1 * m1[i] + (T(1) - b1) * d;
        m2[i] = b2 * m2[i] + (T(1) - b2) * d * d;
        T denom = std::sqrt(m2[i]) / static_cast<T>(bias_correction2_sqrt) + static_cast<T>(eps);
        p[i] -= step_size * m1[i] / denom;
      }
    });
  });
}

}  // namespace tk::cpu
