// The kernels of the losses (softmax_cross_entropy.cc, mse.cc,
// bce_with_logits.cc), the probabilities they predict and their accuracy.
// Losses read logits of dtype `dt` and compute in value_dt (f32 or f64), the
// dtype of row_loss and of value targets. Each writes every row's unreduced
// loss sum into row_loss[rows]; when dlogits (dtype dt) is non-null also
// grad_scale * d(row loss)/d(logits).
#pragma once

#include <cstdint>

#include "core/base/host_device.h"
#include "core/kernels/kernel_table.h"

namespace tk {

// A loss gradient's factor: value times the value at `device` (backend memory,
// when set: the loss scale of a step decided on the device), over divisor
// (a mean's count). Written so, the host and the device get the same bits.
struct GradScale {
  TK_HOST_DEVICE GradScale(double value = 1.0, const double* device = nullptr,  // NOLINT: a plain factor converts
                           double divisor = 1.0)
      : value(value), device(device), divisor(divisor) {}
  // The factor; reads *device, so it runs where backend memory is addressable
  // (the CPU backend, or inside a CUDA kernel).
  TK_HOST_DEVICE double factor() const { return (device ? value * *device : value) / divisor; }
  double value;
  const double* device;
  double divisor;
};

// A class-index target that takes no part: no loss, no gradient, left out
// of the mean and of accuracy (PyTorch's default ignore_index).
constexpr int32_t kIgnoreIndex = -100;

namespace kernels {

inline const Kernel<void(DType dt, DType value_dt, int64_t rows, int64_t classes, const void* logits,
                         const int32_t* labels, void* row_loss, void* dlogits, GradScale grad_scale)>
    softmax_cross_entropy{"softmax_cross_entropy"};
inline const Kernel<void(DType dt, DType value_dt, int64_t rows, int64_t cols, const void* pred, const void* target,
                         void* row_loss, void* dpred, GradScale grad_scale)>
    squared_error{"squared_error"};
inline const Kernel<void(DType dt, DType value_dt, int64_t rows, int64_t cols, const void* logits, const void* target,
                         void* row_loss, void* dlogits, GradScale grad_scale)>
    bce_with_logits{"bce_with_logits"};
inline const Kernel<void(DType dt, int64_t rows, int64_t cols, const void* x, void* y)> softmax{"softmax"};
// Count of rows whose argmax equals the label.
inline const Kernel<int64_t(DType dt, int64_t rows, int64_t classes, const void* logits, const int32_t* labels)>
    count_correct_argmax{"count_correct_argmax"};
// Count of elements where (logit > 0) == (target > 0.5).
inline const Kernel<int64_t(DType dt, DType value_dt, int64_t n, const void* logits, const void* target)>
    count_correct_binary{"count_correct_binary"};

}  // namespace kernels
}  // namespace tk
