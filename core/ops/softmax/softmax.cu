// Softmax and log-softmax on CUDA GPUs: one warp per row (the row's maximum,
// the sum of exponentials around it, then the output), as on the CPU.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/backend/cuda/warp_rows.cuh"
#include "core/ops/softmax/softmax_kernels.h"

namespace tk::cuda {
namespace {

template <typename S>
__global__ void softmax_forward_kernel(bool log, int64_t rows, int64_t cols, const S* x, S* y) {
  using T = compute_t<S>;
  TK_WARP_PER_ROW(r, rows, lane) {
    const S* in = x + r * cols;
    S* out = y + r * cols;
    const T top = row_max<T>(in, cols, lane);
    T sum = 0;
    for (int64_t c = lane; c < cols; c += kWarp) sum += exp_v<T>(load(in[c]) - top);
    sum = warp_sum(sum);
    const T lse = top + log_v<T>(sum), inv = T(1) / sum;
    for (int64_t c = lane; c < cols; c += kWarp)
      out[c] = store<S>(log ? load(in[c]) - lse : exp_v<T>(load(in[c]) - top) * inv);
  }
}

template <typename S>
__global__ void softmax_backward_kernel(bool log, int64_t rows, int64_t cols, const S* y, const S* dy, S* dx,
                                        bool accumulate) {
  using T = compute_t<S>;
  TK_WARP_PER_ROW(r, rows, lane) {
    const S* out = y + r * cols;
    const S* g = dy + r * cols;
    S* in = dx + r * cols;
    T sum = 0;  // sum(dy * y), or sum(dy) for log_softmax
    for (int64_t c = lane; c < cols; c += kWarp) sum += log ? load(g[c]) : load(g[c]) * load(out[c]);
    sum = warp_sum(sum);
    for (int64_t c = lane; c < cols; c += kWarp) {
      const T grad = log ? load(g[c]) - exp_v<T>(load(out[c])) * sum : load(out[c]) * (load(g[c]) - sum);
      in[c] = store<S>(accumulate ? load(in[c]) + grad : grad);
    }
  }
}

void softmax_forward(cudaStream_t s, DType dt, bool log, int64_t rows, int64_t cols, const void* x, void* y) {
  if (rows <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    softmax_forward_kernel<S><<<blocks_for_rows(rows), kThreads, 0, s>>>(log, rows, cols, static_cast<const S*>(x),
                                                                         static_cast<S*>(y));
  });
  check_launch("softmax_forward");
}

void softmax_backward(cudaStream_t s, DType dt, bool log, int64_t rows, int64_t cols, const void* y, const void* dy,
                      void* dx, bool accumulate) {
  if (rows <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    softmax_backward_kernel<S><<<blocks_for_rows(rows), kThreads, 0, s>>>(
        log, rows, cols, static_cast<const S*>(y), static_cast<const S*>(dy), static_cast<S*>(dx), accumulate);
  });
  check_launch("softmax_backward");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::softmax_forward, DeviceKind::kCuda, OnStream<softmax_forward>::run},
    {kernels::softmax_backward, DeviceKind::kCuda, OnStream<softmax_backward>::run},
};

}  // namespace tk::cuda
