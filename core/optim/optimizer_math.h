// One parameter's optimizer update (PyTorch semantics), shared by the CPU
// backend's loops and the CUDA kernels. T is float or double.
#pragma once

#include <math.h>

#include <cstdint>

#include "core/base/host_device.h"

namespace tk::math {

TK_HOST_DEVICE inline float sqrt_of(float x) { return sqrtf(x); }
TK_HOST_DEVICE inline double sqrt_of(double x) { return sqrt(x); }

// SGD without momentum: p -= lr * (scale * g + decay * p).
template <typename T>
TK_HOST_DEVICE inline void sgd_plain(T& p, T g, T scale, T lr, T decay) {
  p -= lr * (scale * g + decay * p);
}

// SGD with momentum: buf = keep * buf + d (keep is 0 on the first step), and
// p steps along buf, or along d + momentum * buf when nesterov.
template <typename T>
TK_HOST_DEVICE inline void sgd_momentum(T& p, T g, T& buf, T scale, T lr, T keep, T momentum, T decay,
                                        bool nesterov) {
  const T d = scale * g + decay * p;
  const T b = keep * buf + d;
  buf = b;
  p -= lr * (nesterov ? d + momentum * b : b);
}

// What one Adam / AdamW step multiplies by, derived once per step from the
// hyperparameters. Exactly one decay is active: l2_decay (Adam) or
// decay_factor = 1 - lr * weight_decay (AdamW).
template <typename T>
struct AdamConstants {
  T scale, l2_decay, decay_factor, beta1, beta2, step_size, inv_bias_correction2_sqrt, eps;
};

template <typename T>
TK_HOST_DEVICE inline AdamConstants<T> adam_constants(double grad_scale, double lr, double beta1, double beta2, double eps,
                                       double weight_decay, bool decoupled_weight_decay, int64_t step) {
  const double bias_correction1 = 1.0 - pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - pow(beta2, static_cast<double>(step));
  return {static_cast<T>(grad_scale),
          static_cast<T>(decoupled_weight_decay ? 0.0 : weight_decay),
          static_cast<T>(decoupled_weight_decay ? 1.0 - lr * weight_decay : 1.0),
          static_cast<T>(beta1),
          static_cast<T>(beta2),
          static_cast<T>(lr / bias_correction1),
          static_cast<T>(1.0 / sqrt(bias_correction2)),
          static_cast<T>(eps)};
}

template <typename T>
TK_HOST_DEVICE inline void adam(T& p, T g, T& m, T& v, const AdamConstants<T>& c) {
  const T d = c.scale * g + c.l2_decay * p;
  const T m_new = c.beta1 * m + (T(1) - c.beta1) * d;
  const T v_new = c.beta2 * v + (T(1) - c.beta2) * d * d;
  m = m_new;
  v = v_new;
  p = p * c.decay_factor - c.step_size * m_new / (sqrt_of(v_new) * c.inv_bias_correction2_sqrt + c.eps);
}

}  // namespace tk::math
