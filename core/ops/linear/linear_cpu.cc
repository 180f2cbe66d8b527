// Linear's bias on the CPU, and its product with the bias and ReLU applied
// in one pass after it.

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/ops/activation/activation_math.h"
#include "core/ops/linear/linear_kernels.h"

namespace tk::cpu {
namespace {

// y[r, c] = f(y[r, c] + bias[c]), with f the identity or ReLU: one pass.
template <bool kRelu>
void add_bias(int threads, DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* bias, void* y) {
  dispatch_storage(y_dt, [&](auto y_tag) {
    dispatch_storage(bias_dt, [&](auto b_tag) {
      using S = decltype(y_tag);
      using B = decltype(b_tag);
      using T = compute_t<S>;
      const B* b = static_cast<const B*>(bias);
      S* out = static_cast<S*>(y);
      parallel_for(threads, rows, 16, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        for (int64_t r = begin; r < end; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            const T v = load(out[r * cols + c]) + static_cast<T>(load(b[c]));
            out[r * cols + c] = store<S>(kRelu ? math::activate<Activation::kRelu>(v) : v);
          }
      });
    });
  });
}

void bias_add(Backend& backend, DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* bias, void* y) {
  const int threads = as_cpu(backend).threads();
  add_bias<false>(threads, y_dt, bias_dt, rows, cols, bias, y);
}

void gemm_bias_relu(Backend& backend, DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k,
                    const void* a, const void* b, void* c, DType bias_dt, const void* bias) {
  const int threads = as_cpu(backend).threads();
  backend.gemm(a_dt, b_dt, c_dt, false, true, m, n, k, 1.0, a, b, 0.0, c);
  add_bias<true>(threads, c_dt, bias_dt, m, n, bias, c);
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::bias_add, DeviceKind::kCpu, bias_add},
    {kernels::gemm_bias_relu, DeviceKind::kCpu, gemm_bias_relu},
};

}  // namespace tk::cpu
