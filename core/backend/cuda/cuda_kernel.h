// What the op families' CUDA kernels share: the CUDA backend they were called
// with, and an adapter that registers a launcher taking a stream as a kernel
// taking the backend (core/kernels/kernel_table.h).
#pragma once

#include <cuda_runtime_api.h>

#include "core/backend/cuda/cuda_backend.h"

namespace tk::cuda {

// The kernel table calls CUDA kernels with CUDA backends only.
inline CudaBackend& as_cuda(Backend& backend) { return static_cast<CudaBackend&>(backend); }

// OnStream<launch>::run(backend, args...) makes the backend's device current
// and calls launch(its stream, args...).
template <auto Launch>
struct OnStream;
template <typename R, typename... Args, R (*Launch)(cudaStream_t, Args...)>
struct OnStream<Launch> {
  static R run(Backend& backend, Args... args) {
    CudaBackend& cuda = as_cuda(backend);
    cuda.activate();
    return Launch(cuda.stream(), args...);
  }
};

}  // namespace tk::cuda
