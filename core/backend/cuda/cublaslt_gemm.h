// Row-major matrix products through cuBLASLt. Row-major C = op(A) op(B) is
// column-major C^T = op(B)^T op(A)^T, so B goes first. f32 products use full
// f32 unless TF32 was allowed; half operands accumulate in f32; f64 in f64.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>

#include "core/base/dtype.h"

namespace tk::cuda {

class LtGemm {
 public:
  LtGemm();
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  void set_allow_tf32(bool allow) { allow_tf32_ = allow; }
  // workspace: device memory of workspace_bytes for cuBLASLt's algorithms.
  void run(cudaStream_t stream, void* workspace, size_t workspace_bytes, DType a_dt, DType b_dt, DType c_dt,
           bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const void* a, const void* b,
           double beta, void* c);

 private:
  cublasLtHandle_t handle_ = nullptr;
  bool allow_tf32_ = false;
};

}  // namespace tk::cuda
