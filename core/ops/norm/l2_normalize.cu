// L2 normalization on CUDA GPUs: one warp per row, the norm summed in f64
// as on the CPU.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/backend/cuda/warp_rows.cuh"
#include "core/ops/norm/norm_kernels.h"

namespace tk::cuda {
namespace {

template <typename S>
__device__ double row_norm(const S* row, int64_t cols, int lane) {
  double squares = 0;
  for (int64_t c = lane; c < cols; c += kWarp) squares += static_cast<double>(load(row[c])) * load(row[c]);
  return sqrt(warp_sum(squares));
}

template <typename S>
__global__ void l2_forward_kernel(int64_t rows, int64_t cols, double eps, const S* x, S* y) {
  using T = compute_t<S>;
  TK_WARP_PER_ROW(r, rows, lane) {
    const T inv = static_cast<T>(1.0 / fmax(row_norm(x + r * cols, cols, lane), eps));
    for (int64_t c = lane; c < cols; c += kWarp) y[r * cols + c] = store<S>(load(x[r * cols + c]) * inv);
  }
}

template <typename S>
__global__ void l2_backward_kernel(int64_t rows, int64_t cols, double eps, const S* x, const S* y, const S* dy, S* dx,
                                   bool accumulate) {
  using T = compute_t<S>;
  TK_WARP_PER_ROW(r, rows, lane) {
    const double norm = row_norm(x + r * cols, cols, lane);
    const T inv = static_cast<T>(1.0 / fmax(norm, eps));
    T along = 0;  // y . dy, left out where the norm is clamped
    for (int64_t c = lane; c < cols; c += kWarp) along += load(y[r * cols + c]) * load(dy[r * cols + c]);
    along = norm < eps ? T(0) : warp_sum(along);
    for (int64_t c = lane; c < cols; c += kWarp) {
      const int64_t i = r * cols + c;
      const T grad = (load(dy[i]) - load(y[i]) * along) * inv;
      dx[i] = store<S>(accumulate ? load(dx[i]) + grad : grad);
    }
  }
}

void l2_normalize_forward(cudaStream_t s, DType dt, int64_t rows, int64_t cols, double eps, const void* x, void* y) {
  if (rows <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    l2_forward_kernel<S><<<blocks_for_rows(rows), kThreads, 0, s>>>(rows, cols, eps, static_cast<const S*>(x),
                                                                    static_cast<S*>(y));
  });
  check_launch("l2_normalize_forward");
}

void l2_normalize_backward(cudaStream_t s, DType dt, int64_t rows, int64_t cols, double eps, const void* x,
                           const void* y, const void* dy, void* dx, bool accumulate) {
  if (rows <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    l2_backward_kernel<S><<<blocks_for_rows(rows), kThreads, 0, s>>>(
        rows, cols, eps, static_cast<const S*>(x), static_cast<const S*>(y), static_cast<const S*>(dy),
        static_cast<S*>(dx), accumulate);
  });
  check_launch("l2_normalize_backward");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::l2_normalize_forward, DeviceKind::kCuda, OnStream<l2_normalize_forward>::run},
    {kernels::l2_normalize_backward, DeviceKind::kCuda, OnStream<l2_normalize_backward>::run},
};

}  // namespace tk::cuda
