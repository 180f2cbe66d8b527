#include "core/backend/cuda/cublaslt_gemm.h"

#include "core/backend/cuda/cuda_status.h"
#include "core/base/error.h"

namespace tk::cuda {
namespace {

cudaDataType_t cuda_type(DType dt) {
  switch (dt) {
    case DType::kF32:
      return CUDA_R_32F;
    case DType::kF64:
      return CUDA_R_64F;
    case DType::kF16:
      return CUDA_R_16F;
    case DType::kBF16:
      return CUDA_R_16BF;
    default:
      fail(ErrorCode::kUnsupported, "cuBLASLt products take float dtypes, not ", dtype_name(dt));
  }
}

template <typename T>
void set(cublasLtMatmulDesc_t op, cublasLtMatmulDescAttributes_t attribute, const T& value, const char* what) {
  check(cublasLtMatmulDescSetAttribute(op, attribute, &value, sizeof value), what);
}

}  // namespace

// The descriptors of one shape and the algorithm cuBLASLt chose for it.
struct LtGemm::Prepared {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulHeuristicResult_t heuristic{};
  bool found = false;
  ~Prepared() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

LtGemm::LtGemm() { check(cublasLtCreate(&handle_), "cublasLtCreate"); }

LtGemm::~LtGemm() {
  prepared_.clear();
  if (handle_) cublasLtDestroy(handle_);
}

LtGemm::Prepared& LtGemm::prepare(const GemmShape& s, size_t workspace_bytes) {
  const Key key{static_cast<int>(s.a_dt),
                static_cast<int>(s.b_dt),
                static_cast<int>(s.c_dt),
                s.trans_a,
                s.trans_b,
                s.m,
                s.n,
                s.k,
                static_cast<int>(s.epilogue),
                static_cast<int>(s.bias_dt),
                allow_tf32_,
                workspace_bytes};
  std::unique_ptr<Prepared>& slot = prepared_[key];
  if (slot) return *slot;
  auto p = std::make_unique<Prepared>();
  const bool f64 = s.a_dt == DType::kF64;
  const cublasComputeType_t compute =
      f64 ? CUBLAS_COMPUTE_64F
          : (s.a_dt == DType::kF32 && s.c_dt == DType::kF32 && allow_tf32_ ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                           : CUBLAS_COMPUTE_32F);
  check(cublasLtMatmulDescCreate(&p->op, compute, f64 ? CUDA_R_64F : CUDA_R_32F), "cublasLtMatmulDescCreate");
  // Column-major view: C^T [n x m] = op(B)^T [n x k] * op(A)^T [k x m].
  const cublasOperation_t op_first = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  set(p->op, CUBLASLT_MATMUL_DESC_TRANSA, op_first, "cublasLtMatmulDescSetAttribute(TRANSA)");
  set(p->op, CUBLASLT_MATMUL_DESC_TRANSB, op_second, "cublasLtMatmulDescSetAttribute(TRANSB)");
  if (s.epilogue != Epilogue::kNone) {
    // Row-major columns are the column-major rows of C^T: the bias is per row of D.
    const cublasLtEpilogue_t epilogue =
        s.epilogue == Epilogue::kReluBias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    set(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue, "cublasLtMatmulDescSetAttribute(EPILOGUE)");
    set(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, cuda_type(s.bias_dt),
        "cublasLtMatmulDescSetAttribute(BIAS_DATA_TYPE)");
  }
  // Stored shapes (column-major rows x cols): B^T is n x k (or k x n when transposed).
  check(cublasLtMatrixLayoutCreate(&p->a, cuda_type(s.b_dt), s.trans_b ? s.k : s.n, s.trans_b ? s.n : s.k,
                                   s.trans_b ? s.k : s.n),
        "cublasLtMatrixLayoutCreate(B)");
  check(cublasLtMatrixLayoutCreate(&p->b, cuda_type(s.a_dt), s.trans_a ? s.m : s.k, s.trans_a ? s.k : s.m,
                                   s.trans_a ? s.m : s.k),
        "cublasLtMatrixLayoutCreate(A)");
  check(cublasLtMatrixLayoutCreate(&p->c, cuda_type(s.c_dt), s.n, s.m, s.n), "cublasLtMatrixLayoutCreate(C)");
  cublasLtMatmulPreference_t preference = nullptr;
  check(cublasLtMatmulPreferenceCreate(&preference), "cublasLtMatmulPreferenceCreate");
  const cublasStatus_t set_status = cublasLtMatmulPreferenceSetAttribute(
      preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof workspace_bytes);
  int found = 0;
  const cublasStatus_t status = set_status != CUBLAS_STATUS_SUCCESS
                                    ? set_status
                                    : cublasLtMatmulAlgoGetHeuristic(handle_, p->op, p->a, p->b, p->c, p->c, preference,
                                                                     1, &p->heuristic, &found);
  cublasLtMatmulPreferenceDestroy(preference);
  // An epilogue cuBLASLt does not offer for this shape is not an error: the caller splits the work.
  if (status != CUBLAS_STATUS_NOT_SUPPORTED || s.epilogue == Epilogue::kNone)
    check(status, "cublasLtMatmulAlgoGetHeuristic");
  p->found = status == CUBLAS_STATUS_SUCCESS && found > 0;
  slot = std::move(p);
  return *slot;
}

bool LtGemm::run(cudaStream_t stream, void* workspace, size_t workspace_bytes, const GemmShape& s, double alpha,
                 const void* a, const void* b, double beta, void* c, const void* bias) {
  if (s.m <= 0 || s.n <= 0) return s.epilogue == Epilogue::kNone;
  if (s.a_dt != s.b_dt)
    fail(ErrorCode::kUnsupported, "cuBLASLt multiplies operands of one dtype; got ", dtype_name(s.a_dt), " and ",
         dtype_name(s.b_dt));
  const bool f64 = s.a_dt == DType::kF64;
  if (f64 != (s.c_dt == DType::kF64))
    fail(ErrorCode::kUnsupported, "f64 products need f64 operands and result; got ", dtype_name(s.a_dt), " into ",
         dtype_name(s.c_dt));
  Prepared& p = prepare(s, workspace_bytes);
  if (!p.found) {
    if (s.epilogue != Epilogue::kNone) return false;
    fail(ErrorCode::kUnsupported, "cuBLASLt has no algorithm for ", dtype_name(s.a_dt), " x ", dtype_name(s.b_dt),
         " -> ", dtype_name(s.c_dt), " at ", s.m, "x", s.n, "x", s.k);
  }
  if (s.epilogue != Epilogue::kNone)
    set(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias, "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
  const float alpha32 = static_cast<float>(alpha), beta32 = static_cast<float>(beta);
  const void* alpha_ptr = f64 ? static_cast<const void*>(&alpha) : &alpha32;
  const void* beta_ptr = f64 ? static_cast<const void*>(&beta) : &beta32;
  check(cublasLtMatmul(handle_, p.op, alpha_ptr, b, p.a, a, p.b, beta_ptr, c, p.c, c, p.c, &p.heuristic.algo, workspace,
                       workspace_bytes, stream),
        "cublasLtMatmul");
  return true;
}

}  // namespace tk::cuda
