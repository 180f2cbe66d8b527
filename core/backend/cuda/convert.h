// The CUDA backend's own conversions: dtypes of host transfers and of cuDNN's
// narrow weight gradients, and the in-place scale of an empty product.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/base/dtype.h"

namespace tk::cuda {

// dst = src converted (any dtype a transfer reads or writes; round to
// nearest-even when narrowing).
void convert(cudaStream_t s, DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst);
// dst = (accumulate ? dst : 0) + alpha * src
void axpy(cudaStream_t s, DType dt, int64_t n, double alpha, const void* src, void* dst, bool accumulate);

}  // namespace tk::cuda
