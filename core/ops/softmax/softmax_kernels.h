// Kernels of softmax and log-softmax over the last axis (softmax.cc): rows x
// cols, statistics in compute_t (f32 for half storage, as autocast keeps them).
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"

namespace tk::kernels {

// y = softmax(x) per row, or log_softmax(x) when `log`.
inline const Kernel<void(DType dt, bool log, int64_t rows, int64_t cols, const void* x, void* y)> softmax_forward{
    "softmax_forward"};
// dx = y * (dy - sum(dy * y)) for softmax, dy - exp(y) * sum(dy) for
// log_softmax, from the forward's output y; added into dx when accumulate.
inline const Kernel<void(DType dt, bool log, int64_t rows, int64_t cols, const void* y, const void* dy, void* dx,
                         bool accumulate)>
    softmax_backward{"softmax_backward"};

}  // namespace tk::kernels
