// The CUDA backend's own conversions (convert.h).
#include "core/backend/cuda/convert.h"
#include "core/backend/cuda/cuda_common.cuh"

namespace tk::cuda {
namespace {

template <typename From, typename To>
__global__ void convert_kernel(int64_t n, const From* src, To* dst) {
  TK_GRID_STRIDE(i, n) { dst[i] = store<To>(static_cast<double>(load(src[i]))); }
}

// fn(S{}) for every dtype a conversion reads or writes.
template <typename Fn>
void dispatch_any(DType dt, const Fn& fn) {
  switch (dt) {
    case DType::kI32:
      fn(int32_t{});
      return;
    case DType::kU8:
      fn(uint8_t{});
      return;
    default:
      dispatch_storage(dt, fn);
  }
}

template <typename S>
__global__ void axpy_kernel(int64_t n, compute_t<S> alpha, const S* src, S* dst, bool accumulate) {
  using T = compute_t<S>;
  TK_GRID_STRIDE(i, n) { dst[i] = store<S>((accumulate ? load(dst[i]) : T(0)) + alpha * load(src[i])); }
}

}  // namespace

void convert(cudaStream_t s, DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst) {
  if (n <= 0) return;
  dispatch_any(src_dt, [&](auto from) {
    dispatch_any(dst_dt, [&](auto to) {
      using From = decltype(from);
      using To = decltype(to);
      convert_kernel<From, To>
          <<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const From*>(src), static_cast<To*>(dst));
    });
  });
  check_launch("convert");
}

void axpy(cudaStream_t s, DType dt, int64_t n, double alpha, const void* src, void* dst, bool accumulate) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    axpy_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<compute_t<S>>(alpha), static_cast<const S*>(src),
                                                      static_cast<S*>(dst), accumulate);
  });
  check_launch("axpy");
}

}  // namespace tk::cuda
