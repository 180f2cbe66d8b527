// Sliding-window kernels: im2col/col2im for convolution and pooling. Backward
// passes gather (one thread per input element, summing the windows that cover
// it) instead of scattering with atomics, so results are deterministic.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/kernels.h"

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

// The output positions o whose window tap k lands on input coordinate i:
// o * stride - pad + k * dilation == i.
__device__ inline bool tap_output(int64_t i, int64_t k, int64_t stride, int64_t pad, int64_t dilation, int64_t out,
                                  int64_t* o) {
  const int64_t shifted = i + pad - k * dilation;
  if (shifted < 0 || shifted % stride != 0) return false;
  *o = shifted / stride;
  return *o < out;
}

// Calls fn(ky, kx, oy, ox) for every kernel tap and output position whose
// window covers input (iy, ix): the gather both backward passes need.
template <typename Fn>
__device__ inline void for_each_covering_window(const Window2d& w, int64_t iy, int64_t ix, const Fn& fn) {
  for (int64_t ky = 0; ky < w.kernel_h; ++ky) {
    int64_t oy;
    if (!tap_output(iy, ky, w.stride_h, w.pad_h, w.dilation_h, w.out_h, &oy)) continue;
    for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
      int64_t ox;
      if (tap_output(ix, kx, w.stride_w, w.pad_w, w.dilation_w, w.out_w, &ox)) fn(ky, kx, oy, ox);
    }
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

// The input index (in the plane) that window (oy, ox)'s maximum comes from:
// the first maximum, or the first NaN, as on the CPU; -1 if the window is all padding.
template <typename S>
__device__ inline int64_t window_argmax(const Window2d& w, const S* plane, int64_t oy, int64_t ox) {
  using T = compute_t<S>;
  int64_t best = -1;
  T best_value = T(0);
  for (int64_t ky = 0; ky < w.kernel_h; ++ky) {
    const int64_t iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
    if (iy < 0 || iy >= w.height) continue;
    for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
      const int64_t ix = ox * w.stride_w - w.pad_w + kx * w.dilation_w;
      if (ix < 0 || ix >= w.width) continue;
      const T v = load(plane[iy * w.width + ix]);
      if (best < 0 || (best_value == best_value && (v > best_value || v != v))) {
        best = iy * w.width + ix;
        best_value = v;
      }
    }
  }
  return best;
}

template <typename S>
__global__ void pool_forward_kernel(Pool pool, int64_t planes, Window2d w, const S* x, S* y) {
  using T = compute_t<S>;
  const int64_t outputs = w.out_h * w.out_w, n = planes * outputs;
  TK_GRID_STRIDE(i, n) {
    const int64_t p = i / outputs, oy = (i % outputs) / w.out_w, ox = i % w.out_w;
    const S* plane = x + p * w.height * w.width;
    if (pool == Pool::kMax) {
      const int64_t best = window_argmax(w, plane, oy, ox);
      y[i] = best < 0 ? store<S>(-INFINITY) : plane[best];
      continue;
    }
    T total = 0;
    for (int64_t ky = 0; ky < w.kernel_h; ++ky) {
      const int64_t iy = oy * w.stride_h - w.pad_h + ky * w.dilation_h;
      if (iy < 0 || iy >= w.height) continue;
      for (int64_t kx = 0; kx < w.kernel_w; ++kx) {
        const int64_t ix = ox * w.stride_w - w.pad_w + kx * w.dilation_w;
        if (ix >= 0 && ix < w.width) total += load(plane[iy * w.width + ix]);
      }
    }
    y[i] = store<S>(total / static_cast<T>(w.kernel_h * w.kernel_w));
  }
}

template <typename S>
__global__ void pool_backward_kernel(Pool pool, int64_t planes, Window2d w, const S* x, const S* dy, S* dx,
                                     bool accumulate) {
  using T = compute_t<S>;
  const int64_t plane_size = w.height * w.width, n = planes * plane_size;
  const T area = static_cast<T>(w.kernel_h * w.kernel_w);
  TK_GRID_STRIDE(i, n) {
    const int64_t p = i / plane_size, at = i % plane_size, iy = at / w.width, ix = at % w.width;
    const S* plane = x + p * plane_size;
    const S* grad_plane = dy + p * w.out_h * w.out_w;
    T total = accumulate ? load(dx[i]) : T(0);
    for_each_covering_window(w, iy, ix, [&](int64_t, int64_t, int64_t oy, int64_t ox) {
      const T g = load(grad_plane[oy * w.out_w + ox]);
      if (pool == Pool::kAverage) total += g / area;
      else if (window_argmax(w, plane, oy, ox) == at) total += g;
    });
    dx[i] = store<S>(total);
  }
}

}  // namespace

void im2col(cudaStream_t s, DType dt, const Window2d& w, const void* image, void* columns, int64_t column_stride) {
  const int64_t n = w.channels * w.kernel_h * w.kernel_w * w.out_h * w.out_w;
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    im2col_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(w, static_cast<const S*>(image), static_cast<S*>(columns),
                                                         column_stride);
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

void pool2d_forward(cudaStream_t s, DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y) {
  const int64_t n = planes * w.out_h * w.out_w;
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    pool_forward_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(pool, planes, w, static_cast<const S*>(x),
                                                               static_cast<S*>(y));
  });
  check_launch("pool2d_forward");
}

void pool2d_backward(cudaStream_t s, DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x,
                     const void* dy, void* dx, bool accumulate) {
  const int64_t n = planes * w.height * w.width;
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    pool_backward_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(pool, planes, w, static_cast<const S*>(x),
                                                                static_cast<const S*>(dy), static_cast<S*>(dx),
                                                                accumulate);
  });
  check_launch("pool2d_backward");
}

}  // namespace tk::cuda
