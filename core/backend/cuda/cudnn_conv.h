// Convolutions through cuDNN over NCHW tensors. For each shape the
// descriptors and the algorithms (forward, data gradient, filter gradient)
// are chosen once, from cuDNN's own heuristics (as PyTorch does by default),
// keeping only deterministic algorithms, so a step repeats bit for bit; f32
// stays f32 (no TF32) and half precision uses tensor cores, accumulating in
// f32.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "core/backend/backend.h"
#include "core/base/window2d.h"

namespace tk::cuda {

void check(cudnnStatus_t status, const char* what);

class CudnnConv {
 public:
  // `workspace(bytes)` returns device scratch of at least that size.
  explicit CudnnConv(std::function<void*(size_t)> workspace);
  ~CudnnConv();
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;

  // False (nothing done) for what cuDNN does not take: other dtypes, sizes
  // beyond its int dimensions, or no deterministic algorithm.
  bool forward(cudaStream_t stream, DType dt, const Conv2dShape& shape, const void* x, const void* w, void* y);
  // dw (in dt, written) and dx (in dt, added to when `accumulate_dx`; null to skip).
  bool backward(cudaStream_t stream, DType dt, const Conv2dShape& shape, const void* x, const void* w, const void* dy,
                void* dw, void* dx, bool accumulate_dx);

 private:
  struct Prepared;
  using Key = std::vector<int64_t>;  // dtype and every size of the shape
  Prepared* prepare(DType dt, const Conv2dShape& shape);

  cudnnHandle_t handle_ = nullptr;
  std::function<void*(size_t)> workspace_;
  std::map<Key, std::unique_ptr<Prepared>> prepared_;
};

}  // namespace tk::cuda
