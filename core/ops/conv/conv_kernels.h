// The kernels of Conv2d (conv2d.cc): convolution lowered to matrix products
// (im2col, col2im, the channel bias), and whole convolutions where the device
// has a library for them (cuDNN).
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"
#include "core/base/window2d.h"

namespace tk {

namespace kernels {

// One image [channels, height, width] to columns [channels * kernel_h *
// kernel_w, out_h * out_w] (zeros for padding), and back (col2im adds
// overlapping windows; overwrites unless accumulate). Rows of columns are
// column_stride elements apart, so several images' columns can sit side by
// side in one matrix.
inline const Kernel<void(DType dt, const Window2d& w, const void* image, void* columns, int64_t column_stride)> im2col{
    "im2col"};
inline const Kernel<void(DType dt, const Window2d& w, const void* columns, int64_t column_stride, void* image,
                         bool accumulate)>
    col2im{"col2im"};
// y[n, c, s] += bias[c] over [batch, channels, spatial].
inline const Kernel<void(DType y_dt, DType bias_dt, int64_t batch, int64_t channels, int64_t spatial, const void* bias,
                         void* y)>
    channel_bias_add{"channel_bias_add"};
// Whole convolutions (offered only where a library has them: check
// offered()). x, weight and y share dtype `dt`; the weight gradient is
// written (not added) in `dw_dt`. `false`: this shape is not offered, lower it.
inline const Kernel<bool(DType dt, const Conv2dShape& shape, const void* x, const void* weight, void* y)>
    conv2d_forward{"conv2d_forward"};
inline const Kernel<bool(DType dt, DType dw_dt, const Conv2dShape& shape, const void* x, const void* weight,
                         const void* dy, void* dweight, void* dx, bool accumulate_dx)>
    conv2d_backward{"conv2d_backward"};

}  // namespace kernels
}  // namespace tk
