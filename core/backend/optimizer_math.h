// One parameter's optimizer update (PyTorch semantics), shared by the CPU
// backend's loops and the CUDA kernels. T is float or double.
#pragma once

#include <math.h>

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

// Adam / AdamW: l2_decay (Adam) or decay_factor = 1 - lr * wd (AdamW) is active.
template <typename T>
TK_HOST_DEVICE inline void adam(T& p, T g, T& m, T& v, T scale, T l2_decay, T decay_factor, T beta1, T beta2,
                                T step_size, T inv_bias_correction2_sqrt, T eps) {
  const T d = scale * g + l2_decay * p;
  const T m_new = beta1 * m + (T(1) - beta1) * d;
  const T v_new = beta2 * v + (T(1) - beta2) * d * d;
  m = m_new;
  v = v_new;
  p = p * decay_factor - step_size * m_new / (sqrt_of(v_new) * inv_bias_correction2_sqrt + eps);
}

}  // namespace tk::math
