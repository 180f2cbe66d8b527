// What every kernel file shares: device storage types and their conversions
// (widen to the compute type on load, round to nearest-even on store),
// dispatch from a runtime dtype, launch shapes and launch checking.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/base/dtype.h"
#include "core/base/error.h"

namespace tk::cuda {

template <typename S> struct Compute { using type = S; };
template <> struct Compute<__half> { using type = float; };
template <> struct Compute<__nv_bfloat16> { using type = float; };
template <typename S> using compute_t = typename Compute<S>::type;

__device__ inline float load(__half v) { return __half2float(v); }
__device__ inline float load(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ inline float load(float v) { return v; }
__device__ inline double load(double v) { return v; }
__device__ inline int32_t load(int32_t v) { return v; }
__device__ inline uint8_t load(uint8_t v) { return v; }

template <typename S> __device__ inline S store(double v) { return static_cast<S>(v); }
template <typename S> __device__ inline S store(float v) { return static_cast<S>(v); }
template <> __device__ inline __half store<__half>(float v) { return __float2half_rn(v); }
template <> __device__ inline __half store<__half>(double v) { return __double2half(v); }
template <> __device__ inline __nv_bfloat16 store<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }
template <> __device__ inline __nv_bfloat16 store<__nv_bfloat16>(double v) {
  return __float2bfloat16_rn(static_cast<float>(v));
}

// fn(S{}) for the storage type of a floating dtype.
template <typename Fn>
void dispatch_storage(DType dt, const Fn& fn) {
  switch (dt) {
    case DType::kF32: fn(float{}); return;
    case DType::kF64: fn(double{}); return;
    case DType::kF16: fn(__half{}); return;
    case DType::kBF16: fn(__nv_bfloat16{}); return;
    default: fail(ErrorCode::kUnsupported, "CUDA kernels take floating-point data, not ", dtype_name(dt));
  }
}

// fn(T{}) for f32 or f64 (master weights, statistics, loss values).
template <typename Fn>
void dispatch_float(DType dt, const Fn& fn) {
  switch (dt) {
    case DType::kF32: fn(float{}); return;
    case DType::kF64: fn(double{}); return;
    default: fail(ErrorCode::kUnsupported, "this CUDA kernel computes in f32 or f64, not ", dtype_name(dt));
  }
}

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n elements.
inline unsigned blocks_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 8192 ? 8192 : blocks));
}

#define TK_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(blockDim.x) * gridDim.x)

// Turns a failed launch into an Error naming the kernel.
inline void check_launch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess)
    fail(status == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory : ErrorCode::kInternal, "CUDA kernel ",
         kernel, " failed to launch: ", cudaGetErrorString(status));
}

// Sum over a block (blockDim.x == kThreads) in a fixed order; the result is
// valid in thread 0. `shared` holds kThreads values.
template <typename T>
__device__ inline T block_sum(T value, T* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
    __syncthreads();
  }
  const T total = shared[0];
  __syncthreads();
  return total;
}

}  // namespace tk::cuda
