// Matrix products: f32 through oneDNN's sgemm (its JIT kernels measured 8%
// to 17% faster than OpenBLAS's for training MLPs and 17% for a GPT step,
// bench/RESULTS.md), f64 and one-row products (matrix-vector) through
// OpenBLAS. Half-precision operands are widened to f32 staging, multiplied
// with f32 accumulation and rounded back: half storage, f32 arithmetic.
#include <cblas.h>
#include <dnnl.h>
#include <omp.h>

#include <climits>
#include <mutex>
#include <shared_mutex>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"

namespace tk::cpu {
namespace {

// OpenBLAS keeps one process-wide thread count, and changing it frees work
// buffers that a gemm on another thread may be using. So every gemm holds a
// shared lock for the count it runs with, and a change of count waits for an
// exclusive one: trainers with equal counts run concurrently, others take turns.
std::shared_mutex blas_mutex;
int blas_threads = 0;

template <typename Call>
void with_blas_threads(int threads, const Call& call) {
  for (;;) {
    {
      std::shared_lock<std::shared_mutex> lock(blas_mutex);
      if (blas_threads == threads) {
        // The OpenMP build follows the calling thread's max-threads setting;
        // match it for the call and give the host its own value back.
        const int saved = omp_get_max_threads();
        omp_set_num_threads(threads);
        call();
        omp_set_num_threads(saved);
        return;
      }
    }
    std::unique_lock<std::shared_mutex> lock(blas_mutex);
    if (blas_threads != threads) {
      // The OpenMP build's setter also sets the calling thread's OpenMP
      // max-threads: without the restore, a one-thread trainer would make
      // every later threads = 0 trainer of this host thread single-threaded.
      const int host_threads = omp_get_max_threads();
      openblas_set_num_threads(threads);
      omp_set_num_threads(host_threads);
      blas_threads = threads;
    }
  }
}

void blas_gemm(DType dt, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const void* a,
               const void* b, double beta, void* c) {
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX)
    fail(ErrorCode::kUnsupported, "a matrix product of ", m, " x ", n, " x ", k, " exceeds BLAS's 32-bit sizes");
  const blasint lda = static_cast<blasint>(trans_a ? m : k);
  const blasint ldb = static_cast<blasint>(trans_b ? k : n);
  const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if (m == 1) {
    // One row (a batch of one): a matrix-vector product. sgemm would copy
    // ("pack") the whole of B for a single row, which costs as much as the
    // product itself. A's one row is contiguous either way (lda is 1 or k).
    const CBLAS_TRANSPOSE tv = trans_b ? CblasNoTrans : CblasTrans;
    const blasint rows = static_cast<blasint>(trans_b ? n : k), cols = static_cast<blasint>(trans_b ? k : n);
    if (dt == DType::kF32)
      cblas_sgemv(CblasRowMajor, tv, rows, cols, static_cast<float>(alpha), static_cast<const float*>(b), ldb,
                  static_cast<const float*>(a), 1, static_cast<float>(beta), static_cast<float*>(c), 1);
    else
      cblas_dgemv(CblasRowMajor, tv, rows, cols, alpha, static_cast<const double*>(b), ldb,
                  static_cast<const double*>(a), 1, beta, static_cast<double*>(c), 1);
    return;
  }
  if (dt == DType::kF32) {
    const dnnl_status_t status =
        dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, static_cast<float>(alpha),
                   static_cast<const float*>(a), lda, static_cast<const float*>(b), ldb, static_cast<float>(beta),
                   static_cast<float*>(c), n);
    if (status != dnnl_success)
      fail(ErrorCode::kInternal, "oneDNN's sgemm of ", m, " x ", n, " x ", k, " failed with status ",
           static_cast<int>(status));
  } else {
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, static_cast<const double*>(a), lda,
                static_cast<const double*>(b), ldb, beta, static_cast<double*>(c), n);
  }
}

}  // namespace

float* CpuBackend::gemm_scratch(size_t floats) {
  const size_t bytes = floats * sizeof(float);
  if (bytes > scratch_bytes_) {
    void* grown = allocate(bytes);
    deallocate(scratch_, scratch_bytes_);
    scratch_ = grown;
    scratch_bytes_ = bytes;
  }
  return static_cast<float*>(scratch_);
}

void CpuBackend::gemm(DType a_dt, DType b_dt, DType c_dt, bool trans_a, bool trans_b, int64_t m, int64_t n,
                      int64_t k, double alpha, const void* a, const void* b, double beta, void* c) {
  if (m == 0 || n == 0) return;
  if (a_dt == b_dt && b_dt == c_dt && (a_dt == DType::kF32 || a_dt == DType::kF64)) {
    with_blas_threads(threads_, [&] { blas_gemm(a_dt, trans_a, trans_b, m, n, k, alpha, a, b, beta, c); });
    return;
  }
  for (DType dt : {a_dt, b_dt, c_dt})
    if (dt == DType::kF64) fail(ErrorCode::kUnsupported, "gemm does not mix f64 with other dtypes");
  // Stage every non-f32 operand in f32.
  float* scratch = gemm_scratch((a_dt == DType::kF32 ? 0 : m * k) + (b_dt == DType::kF32 ? 0 : k * n) +
                                (c_dt == DType::kF32 ? 0 : m * n));
  const void* a32 = a;
  const void* b32 = b;
  void* c32 = c;
  if (a_dt != DType::kF32) {
    convert(a_dt, DType::kF32, m * k, a, scratch);
    a32 = scratch;
    scratch += m * k;
  }
  if (b_dt != DType::kF32) {
    convert(b_dt, DType::kF32, k * n, b, scratch);
    b32 = scratch;
    scratch += k * n;
  }
  if (c_dt != DType::kF32) {
    if (beta != 0) convert(c_dt, DType::kF32, m * n, c, scratch);
    c32 = scratch;
  }
  with_blas_threads(threads_, [&] { blas_gemm(DType::kF32, trans_a, trans_b, m, n, k, alpha, a32, b32, beta, c32); });
  if (c_dt != DType::kF32) convert(DType::kF32, c_dt, m * n, c32, c);
}

void CpuBackend::convert(DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst) {
  dispatch_storage(src_dt, [&](auto s_tag) {
    dispatch_storage(dst_dt, [&](auto d_tag) {
      using S = decltype(s_tag);
      using D = decltype(d_tag);
      const S* in = static_cast<const S*>(src);
      D* out = static_cast<D*>(dst);
      parallel_for(threads_, n, 16384, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        for (int64_t i = begin; i < end; ++i) out[i] = store<D>(static_cast<compute_t<D>>(load(in[i])));
      });
    });
  });
}

}  // namespace tk::cpu
