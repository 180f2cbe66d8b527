#include "core/backend/cuda/cublaslt_gemm.h"

#include <memory>

#include "core/backend/cuda/cuda_status.h"
#include "core/base/error.h"

namespace tk::cuda {
namespace {

cudaDataType_t cuda_type(DType dt) {
  switch (dt) {
    case DType::kF32: return CUDA_R_32F;
    case DType::kF64: return CUDA_R_64F;
    case DType::kF16: return CUDA_R_16F;
    case DType::kBF16: return CUDA_R_16BF;
    default: fail(ErrorCode::kUnsupported, "cuBLASLt products take float dtypes, not ", dtype_name(dt));
  }
}

// RAII for the descriptors one call needs.
struct Descriptors {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t preference = nullptr;
  ~Descriptors() {
    if (preference) cublasLtMatmulPreferenceDestroy(preference);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

}  // namespace

LtGemm::LtGemm() { check(cublasLtCreate(&handle_), "cublasLtCreate"); }

LtGemm::~LtGemm() {
  if (handle_) cublasLtDestroy(handle_);
}

void LtGemm::run(cudaStream_t stream, void* workspace, size_t workspace_bytes, DType a_dt, DType b_dt, DType c_dt,
                 bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const void* a,
                 const void* b, double beta, void* c) {
  if (m <= 0 || n <= 0) return;
  if (a_dt != b_dt)
    fail(ErrorCode::kUnsupported, "cuBLASLt multiplies operands of one dtype; got ", dtype_name(a_dt), " and ",
         dtype_name(b_dt));
  const bool f64 = a_dt == DType::kF64;
  if (f64 != (c_dt == DType::kF64))
    fail(ErrorCode::kUnsupported, "f64 products need f64 operands and result; got ", dtype_name(a_dt), " into ",
         dtype_name(c_dt));
  const cublasComputeType_t compute =
      f64 ? CUBLAS_COMPUTE_64F
          : (a_dt == DType::kF32 && c_dt == DType::kF32 && allow_tf32_ ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                       : CUBLAS_COMPUTE_32F);
  const cudaDataType_t scale_type = f64 ? CUDA_R_64F : CUDA_R_32F;

  // Column-major view: C^T [n x m] = op(B)^T [n x k] * op(A)^T [k x m].
  const cublasOperation_t op_first = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int64_t ld_b = trans_b ? k : n, ld_a = trans_a ? m : k;
  Descriptors d;
  check(cublasLtMatmulDescCreate(&d.op, compute, scale_type), "cublasLtMatmulDescCreate");
  check(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof op_first),
        "cublasLtMatmulDescSetAttribute(TRANSA)");
  check(cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof op_second),
        "cublasLtMatmulDescSetAttribute(TRANSB)");
  // Stored shapes (column-major rows x cols): B^T is n x k (or k x n when transposed).
  check(cublasLtMatrixLayoutCreate(&d.a, cuda_type(b_dt), trans_b ? k : n, trans_b ? n : k, ld_b),
        "cublasLtMatrixLayoutCreate(B)");
  check(cublasLtMatrixLayoutCreate(&d.b, cuda_type(a_dt), trans_a ? m : k, trans_a ? k : m, ld_a),
        "cublasLtMatrixLayoutCreate(A)");
  check(cublasLtMatrixLayoutCreate(&d.c, cuda_type(c_dt), n, m, n), "cublasLtMatrixLayoutCreate(C)");
  check(cublasLtMatmulPreferenceCreate(&d.preference), "cublasLtMatmulPreferenceCreate");
  check(cublasLtMatmulPreferenceSetAttribute(d.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes,
                                             sizeof workspace_bytes),
        "cublasLtMatmulPreferenceSetAttribute");
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  check(cublasLtMatmulAlgoGetHeuristic(handle_, d.op, d.a, d.b, d.c, d.c, d.preference, 1, &heuristic, &found),
        "cublasLtMatmulAlgoGetHeuristic");
  if (found == 0)
    fail(ErrorCode::kUnsupported, "cuBLASLt has no algorithm for ", dtype_name(a_dt), " x ", dtype_name(b_dt),
         " -> ", dtype_name(c_dt), " at ", m, "x", n, "x", k);
  const float alpha32 = static_cast<float>(alpha), beta32 = static_cast<float>(beta);
  const void* alpha_ptr = f64 ? static_cast<const void*>(&alpha) : &alpha32;
  const void* beta_ptr = f64 ? static_cast<const void*>(&beta) : &beta32;
  check(cublasLtMatmul(handle_, d.op, alpha_ptr, b, d.a, a, d.b, beta_ptr, c, d.c, c, d.c, &heuristic.algo, workspace,
                       workspace_bytes, stream),
        "cublasLtMatmul");
}

}  // namespace tk::cuda
