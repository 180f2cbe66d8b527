// Matrix products through OpenBLAS, plus the bias kernels that sit beside them.
#include <cblas.h>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"

namespace tk::cpu {

void CpuBackend::gemm(DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                      double alpha, const void* a, const void* b, double beta, void* c) {
  if (m == 0 || n == 0) return;
  openblas_set_num_threads(threads_);
  const blasint lda = static_cast<blasint>(trans_a ? m : k);
  const blasint ldb = static_cast<blasint>(trans_b ? k : n);
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if (dt == DType::kF32) {
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, static_cast<float>(alpha),
                static_cast<const float*>(a), lda, static_cast<const float*>(b), ldb,
                static_cast<float>(beta), static_cast<float*>(c), n);
  } else if (dt == DType::kF64) {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, static_cast<const double*>(a), lda,
                static_cast<const double*>(b), ldb, beta, static_cast<double*>(c), n);
  } else {
    fail(ErrorCode::kUnsupported, "CPU gemm computes in f32 or f64, not ", dtype_name(dt));
  }
}

void CpuBackend::bias_add(DType dt, int64_t rows, int64_t cols, const void* bias, void* y) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* b = static_cast<const T*>(bias);
    T* out = static_cast<T*>(y);
    parallel_for(threads_, rows, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        for (int64_t c = 0; c < cols; ++c) out[r * cols + c] += b[c];
    });
  });
}

void CpuBackend::column_sum(DType dt, int64_t rows, int64_t cols, const void* x, void* out,
                            bool accumulate) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x);
    T* sums = static_cast<T*>(out);
    // Split over columns so each sum runs rows in order: deterministic.
    parallel_for(threads_, cols, 64, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        if (!accumulate) sums[c] = 0;
      }
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = begin; c < end; ++c) sums[c] += in[r * cols + c];
    });
  });
}

}  // namespace tk::cpu
