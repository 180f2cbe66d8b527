// The shared elementwise kernels on CUDA GPUs.
#include "core/backend/cuda/convert.h"
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/backend/cuda/cuda_status.h"
#include "core/kernels/elementwise_kernels.h"

namespace tk::cuda {
namespace {

template <typename S>
__global__ void add_kernel(int64_t n, const S* a, const S* b, S* y) {
  TK_GRID_STRIDE(i, n) { y[i] = store<S>(load(a[i]) + load(b[i])); }
}

void add(cudaStream_t s, DType dt, int64_t n, const void* a, const void* b, void* y) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    add_kernel<S>
        <<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const S*>(a), static_cast<const S*>(b), static_cast<S*>(y));
  });
  check_launch("add");
}

void copy_2d(Backend& backend, DType dt, int64_t rows, int64_t cols, const void* src, int64_t src_stride, void* dst,
             int64_t dst_stride) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  if (rows <= 0 || cols <= 0) return;
  const size_t elem = dtype_size(dt);
  check(cudaMemcpy2DAsync(dst, dst_stride * elem, src, src_stride * elem, cols * elem, rows, cudaMemcpyDeviceToDevice,
                          cuda.stream()),
        "cudaMemcpy2DAsync");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::convert, DeviceKind::kCuda, OnStream<convert>::run},
    {kernels::add, DeviceKind::kCuda, OnStream<add>::run},
    {kernels::axpy, DeviceKind::kCuda, OnStream<axpy>::run},
    {kernels::copy_2d, DeviceKind::kCuda, copy_2d},
};

}  // namespace tk::cuda
