// Dropout on CUDA GPUs; the mask is math::dropout_factor, as on the CPU.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/ops/dropout/dropout_kernels.h"

namespace tk::cuda {
namespace {

template <typename S>
__global__ void dropout_kernel(int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream,
                               compute_t<S> keep_scale, const S* x, S* y, bool accumulate) {
  TK_GRID_STRIDE(i, n) {
    const compute_t<S> v = load(x[i]) * math::dropout_factor(p, seed, stream, i, block, keep_scale);
    y[i] = store<S>(accumulate ? load(y[i]) + v : v);
  }
}

void dropout(cudaStream_t s, DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream,
             const void* x, void* y, bool accumulate) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    dropout_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(n, block, p, seed, stream,
                                                         static_cast<compute_t<S>>(1.0 / (1.0 - p)),
                                                         static_cast<const S*>(x), static_cast<S*>(y), accumulate);
  });
  check_launch("dropout");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::dropout, DeviceKind::kCuda, OnStream<dropout>::run},
};

}  // namespace tk::cuda
