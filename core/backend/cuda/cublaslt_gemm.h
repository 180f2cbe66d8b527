// Row-major matrix products through cuBLASLt. Row-major C = op(A) op(B) is
// column-major C^T = op(B)^T op(A)^T, so B goes first. f32 products use full
// f32 unless TF32 was allowed; half operands accumulate in f32; f64 in f64.
// A Linear's forward bias add rides in the product's epilogue. (The bias
// gradient epilogue, BGRADB, measured no faster than a separate column sum
// on 4096-wide layers and up to 20x slower on narrow ones, so it is not used.)
// Descriptors and the chosen algorithm are kept per shape, so a
// training step pays cuBLASLt's heuristic only on its first run.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

#include "core/base/dtype.h"

namespace tk::cuda {

enum class Epilogue {
  kNone,
  kBias,      // C = op(A) op(B) + bias, bias[j] added to every row-major row (n values)
  kReluBias,  // C = relu(op(A) op(B) + bias)
};

struct GemmShape {
  DType a_dt, b_dt, c_dt;
  bool trans_a, trans_b;
  int64_t m, n, k;
  Epilogue epilogue = Epilogue::kNone;
  DType bias_dt = DType::kF32;
};

class LtGemm {
 public:
  LtGemm();
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  void set_allow_tf32(bool allow) { allow_tf32_ = allow; }
  // workspace: device memory of workspace_bytes for cuBLASLt's algorithms.
  // `bias`: the bias of kBias.
  // Returns false, having done nothing, when cuBLASLt has no algorithm for the
  // epilogue (the caller then runs the product and the bias work apart); a
  // product without an epilogue that cannot run throws.
  bool run(cudaStream_t stream, void* workspace, size_t workspace_bytes, const GemmShape& shape, double alpha,
           const void* a, const void* b, double beta, void* c, const void* bias = nullptr);

 private:
  struct Prepared;
  using Key = std::tuple<int, int, int, bool, bool, int64_t, int64_t, int64_t, int, int, bool, size_t>;
  Prepared& prepare(const GemmShape& shape, size_t workspace_bytes);

  cublasLtHandle_t handle_ = nullptr;
  bool allow_tf32_ = false;
  std::map<Key, std::unique_ptr<Prepared>> prepared_;
};

}  // namespace tk::cuda
