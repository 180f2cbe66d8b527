// The fused batch norm + ReLU where a device has no kernel of its own: the
// batch norm's kernels and the ReLU's, one pass after the other.
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/norm/norm_kernels.h"

namespace tk::kernels {

void batch_norm_apply_relu_two_pass(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels,
                                    int64_t spatial, double eps, const void* x, const void* mean, const void* var,
                                    const void* gamma, const void* beta, void* y) {
  batch_norm_apply(backend, dt, param_dt, batch, channels, spatial, eps, x, mean, var, gamma, beta, y);
  activation_forward(backend, dt, Activation::kRelu, batch * channels * spatial, y, y);
}

void batch_norm_relu_backward_two_pass(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels,
                                       int64_t spatial, double eps, bool batch_statistics, const void* x, const void* y,
                                       const void* dy, void* dz, const void* mean, const void* var, const void* gamma,
                                       void* dx, bool accumulate, void* dgamma, void* dbeta) {
  activation_backward(backend, dt, Activation::kRelu, batch * channels * spatial, y, y, dy, dz, false);
  batch_norm_backward(backend, dt, param_dt, batch, channels, spatial, eps, batch_statistics, x, dz, mean, var, gamma,
                      dx, accumulate, dgamma, dbeta);
}

}  // namespace tk::kernels
