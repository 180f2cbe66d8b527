// Pooling on CUDA GPUs. Backward gathers (one thread per input element)
// instead of scattering with atomics, so results are deterministic; max
// pooling's ties and NaN follow the CPU's rule.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/kernels/window_cuda.cuh"
#include "core/ops/pool/pool_kernels.h"

namespace tk::cuda {
namespace {

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
      if (pool == Pool::kAverage)
        total += g / area;
      else if (window_argmax(w, plane, oy, ox) == at)
        total += g;
    });
    dx[i] = store<S>(total);
  }
}

void pool2d_forward(cudaStream_t s, DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y) {
  const int64_t n = planes * w.out_h * w.out_w;
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    pool_forward_kernel<S>
        <<<blocks_for(n), kThreads, 0, s>>>(pool, planes, w, static_cast<const S*>(x), static_cast<S*>(y));
  });
  check_launch("pool2d_forward");
}

void pool2d_backward(cudaStream_t s, DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x,
                     const void* dy, void* dx, bool accumulate) {
  const int64_t n = planes * w.height * w.width;
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    pool_backward_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(
        pool, planes, w, static_cast<const S*>(x), static_cast<const S*>(dy), static_cast<S*>(dx), accumulate);
  });
  check_launch("pool2d_backward");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::pool2d_forward, DeviceKind::kCuda, OnStream<pool2d_forward>::run},
    {kernels::pool2d_backward, DeviceKind::kCuda, OnStream<pool2d_backward>::run},
};

}  // namespace tk::cuda
