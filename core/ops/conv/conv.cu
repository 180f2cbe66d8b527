// Convolution on CUDA GPUs: cuDNN's whole convolutions where it takes the
// shape, else im2col/col2im around matrix products. col2im gathers (one thread
// per input element, summing the windows that cover it) instead of scattering
// with atomics, so results are deterministic.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/kernels/broadcast_bias.cuh"
#include "core/kernels/window_cuda.cuh"
#include "core/ops/conv/conv_kernels.h"

namespace tk::cuda {
namespace {

// columns[(c * kh + ky) * kw + kx, oy * out_w + ox] = image[c, iy, ix] (0 outside).
template <typename S>
__global__ void im2col_kernel(Window2d w, const S* image, S* columns, int64_t column_stride) {
  const int64_t spatial = w.out_h * w.out_w, n = w.channels * w.kernel_h * w.kernel_w * spatial;
  TK_GRID_STRIDE(i, n) {
    const int64_t row = i / spatial, col = i % spatial;
    const int64_t kx = row % w.kernel_w, ky = (row / w.kernel_w) % w.kernel_h, c = row / (w.kernel_w * w.kernel_h);
    const int64_t iy = (col / w.out_w) * w.stride_h - w.pad_h + ky * w.dilation_h;
    const int64_t ix = (col % w.out_w) * w.stride_w - w.pad_w + kx * w.dilation_w;
    const bool inside = iy >= 0 && iy < w.height && ix >= 0 && ix < w.width;
    columns[row * column_stride + col] = inside ? image[(c * w.height + iy) * w.width + ix] : store<S>(0.0f);
  }
}

template <typename S>
__global__ void col2im_kernel(Window2d w, const S* columns, int64_t column_stride, S* image, bool accumulate) {
  using T = compute_t<S>;
  const int64_t n = w.channels * w.height * w.width;
  TK_GRID_STRIDE(i, n) {
    const int64_t ix = i % w.width, iy = (i / w.width) % w.height, c = i / (w.width * w.height);
    T total = accumulate ? load(image[i]) : T(0);
    for_each_covering_window(w, iy, ix, [&](int64_t ky, int64_t kx, int64_t oy, int64_t ox) {
      total += load(columns[((c * w.kernel_h + ky) * w.kernel_w + kx) * column_stride + oy * w.out_w + ox]);
    });
    image[i] = store<S>(total);
  }
}

void im2col(cudaStream_t s, DType dt, const Window2d& w, const void* image, void* columns, int64_t column_stride) {
  const int64_t n = w.channels * w.kernel_h * w.kernel_w * w.out_h * w.out_w;
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    im2col_kernel<S>
        <<<blocks_for(n), kThreads, 0, s>>>(w, static_cast<const S*>(image), static_cast<S*>(columns), column_stride);
  });
  check_launch("im2col");
}

void col2im(cudaStream_t s, DType dt, const Window2d& w, const void* columns, int64_t column_stride, void* image,
            bool accumulate) {
  const int64_t n = w.channels * w.height * w.width;
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    col2im_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(w, static_cast<const S*>(columns), column_stride,
                                                        static_cast<S*>(image), accumulate);
  });
  check_launch("col2im");
}

void channel_bias_add(cudaStream_t s, DType y_dt, DType bias_dt, int64_t batch, int64_t channels, int64_t spatial,
                      const void* b, void* y) {
  const int64_t n = batch * channels * spatial;
  if (n > 0) broadcast_bias(s, y_dt, bias_dt, n, spatial, channels, b, y);
}

bool conv2d_forward(Backend& backend, DType dt, const Conv2dShape& shape, const void* x, const void* weight, void* y) {
  return as_cuda(backend).cudnn_conv2d_forward(dt, shape, x, weight, y);
}

bool conv2d_backward(Backend& backend, DType dt, DType dw_dt, const Conv2dShape& shape, const void* x,
                     const void* weight, const void* dy, void* dweight, void* dx, bool accumulate_dx) {
  return as_cuda(backend).cudnn_conv2d_backward(dt, dw_dt, shape, x, weight, dy, dweight, dx, accumulate_dx);
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::im2col, DeviceKind::kCuda, OnStream<im2col>::run},
    {kernels::col2im, DeviceKind::kCuda, OnStream<col2im>::run},
    {kernels::channel_bias_add, DeviceKind::kCuda, OnStream<channel_bias_add>::run},
    {kernels::conv2d_forward, DeviceKind::kCuda, conv2d_forward},
    {kernels::conv2d_backward, DeviceKind::kCuda, conv2d_backward},
};

}  // namespace tk::cuda
