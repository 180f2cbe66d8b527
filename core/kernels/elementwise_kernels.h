// Elementwise kernels several op families share: dtype conversion, sums of
// two operands, scaled copies and strided block copies.
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"

namespace tk::kernels {

// dst = src converted (round to nearest-even when narrowing).
inline const Kernel<void(DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst)> convert{"convert"};
// y = a + b over one storage dtype (half storage computes in f32).
inline const Kernel<void(DType dt, int64_t n, const void* a, const void* b, void* y)> add{"add"};
// dst = (accumulate ? dst : 0) + alpha * src
inline const Kernel<void(DType dt, int64_t n, double alpha, const void* src, void* dst, bool accumulate)> axpy{"axpy"};
// dst[r, c] = src[r, c] for a rows x cols block; rows are *_stride elements apart.
inline const Kernel<void(DType dt, int64_t rows, int64_t cols, const void* src, int64_t src_stride, void* dst,
                         int64_t dst_stride)>
    copy_2d{"copy_2d"};

}  // namespace tk::kernels
