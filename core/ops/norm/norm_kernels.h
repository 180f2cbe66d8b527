// The kernels of BatchNorm, LayerNorm and L2 normalization (batch_norm.cc,
// layer_norm.cc, l2_normalize.cc).
// Statistics (mean, biased variance), gamma, beta and their gradients are of
// `param_dt` (the master dtype); x, y and their gradients of `dt`.
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"

namespace tk::kernels {

// Batch normalization over [batch, channels, spatial], per channel.
inline const Kernel<void(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial, const void* x,
                         void* mean, void* var)>
    batch_norm_statistics{"batch_norm_statistics"};
// y = (x - mean) / sqrt(var + eps) * gamma + beta
inline const Kernel<void(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial, double eps,
                         const void* x, const void* mean, const void* var, const void* gamma, const void* beta,
                         void* y)>
    batch_norm_apply{"batch_norm_apply"};
// Gradients of batch_norm_apply. With batch_statistics, mean and var are
// the batch's own (functions of x); otherwise constants (evaluation mode).
// dgamma and dbeta are overwritten; dx is added into when accumulate.
inline const Kernel<void(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial, double eps,
                         bool batch_statistics, const void* x, const void* dy, const void* mean, const void* var,
                         const void* gamma, void* dx, bool accumulate, void* dgamma, void* dbeta)>
    batch_norm_backward{"batch_norm_backward"};

// The input gradient alone, from per-channel sums over more rows than
// these (every replica's, in sync batch norm): with dz = dy, or
// dy * relu'(relu_y) when relu_y is given (the fused node),
// dx = gamma * inv_std * (dz - sum_dz / count - x_hat * sum_dz_xhat / count).
// sum_dz and sum_dz_xhat are of param_dt; dx is added into when accumulate.
inline const Kernel<void(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial, double eps,
                         const void* x, const void* relu_y, const void* dy, const void* mean, const void* var,
                         const void* gamma, const void* sum_dz, const void* sum_dz_xhat, double count, void* dx,
                         bool accumulate)>
    batch_norm_input_gradient{"batch_norm_input_gradient"};

// The two passes the fused batch norm + ReLU kernels fall back on.
void batch_norm_apply_relu_two_pass(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels,
                                    int64_t spatial, double eps, const void* x, const void* mean, const void* var,
                                    const void* gamma, const void* beta, void* y);
void batch_norm_relu_backward_two_pass(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels,
                                       int64_t spatial, double eps, bool batch_statistics, const void* x, const void* y,
                                       const void* dy, void* dz, const void* mean, const void* var, const void* gamma,
                                       void* dx, bool accumulate, void* dgamma, void* dbeta);

// Batch norm with the ReLU that alone reads its output (the fused node
// batch_norm_relu): y = relu(batch_norm_apply(...)).
inline const Kernel<void(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial, double eps,
                         const void* x, const void* mean, const void* var, const void* gamma, const void* beta,
                         void* y)>
    batch_norm_apply_relu{"batch_norm_apply_relu", batch_norm_apply_relu_two_pass};
// Its backward from the ReLU's output y and output gradient dy: the batch
// norm's output gradient is dy * relu'(y). The two passes write that to dz
// (scratch of y's size), then run batch_norm_backward on it.
inline const Kernel<void(DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial, double eps,
                         bool batch_statistics, const void* x, const void* y, const void* dy, void* dz,
                         const void* mean, const void* var, const void* gamma, void* dx, bool accumulate, void* dgamma,
                         void* dbeta)>
    batch_norm_relu_backward{"batch_norm_relu_backward", batch_norm_relu_backward_two_pass};

// next = (1 - momentum) * running + momentum * value_scale * value (running statistics).
inline const Kernel<void(DType dt, int64_t n, double momentum, const void* running, const void* value,
                         double value_scale, void* next)>
    moving_average{"moving_average"};

// Layer normalization of each of `rows` rows of `cols` values, then
// y = x_hat * gamma + beta with gamma, beta [cols] of param_dt.
inline const Kernel<void(DType dt, DType param_dt, int64_t rows, int64_t cols, double eps, const void* x,
                         const void* gamma, const void* beta, void* y)>
    layer_norm_forward{"layer_norm_forward"};
// Recomputes each row's statistics from x; dgamma and dbeta (param_dt) are overwritten.
inline const Kernel<void(DType dt, DType param_dt, int64_t rows, int64_t cols, double eps, const void* x,
                         const void* dy, const void* gamma, void* dx, bool accumulate, void* dgamma, void* dbeta)>
    layer_norm_backward{"layer_norm_backward"};

// y = x / max(||x||_2, eps) per row (PyTorch's F.normalize), and its gradient
// from x and y: dx = (dy - y (y . dy)) / ||x|| (dy / eps where clamped).
inline const Kernel<void(DType dt, int64_t rows, int64_t cols, double eps, const void* x, void* y)>
    l2_normalize_forward{"l2_normalize_forward"};
inline const Kernel<void(DType dt, int64_t rows, int64_t cols, double eps, const void* x, const void* y, const void* dy,
                         void* dx, bool accumulate)>
    l2_normalize_backward{"l2_normalize_backward"};

}  // namespace tk::kernels
