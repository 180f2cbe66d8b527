// Linear's fused products where a device has none of its own: a plain
// product, then the bias (and ReLU, or column sums) in a second pass.
#include "core/kernels/reduce_kernels.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/linear/linear_kernels.h"

namespace tk::kernels {

void gemm_bias_composed(Backend& backend, DType a_dt, DType b_dt, DType c_dt, bool trans_b, int64_t m, int64_t n,
                        int64_t k, double alpha, const void* a, const void* b, void* c, DType bias_dt,
                        const void* bias) {
  backend.gemm(a_dt, b_dt, c_dt, false, trans_b, m, n, k, alpha, a, b, 0.0, c);
  bias_add(backend, c_dt, bias_dt, m, n, bias, c);
}

void gemm_bias_relu_composed(Backend& backend, DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k,
                             const void* a, const void* b, void* c, DType bias_dt, const void* bias) {
  gemm_bias_composed(backend, a_dt, b_dt, c_dt, true, m, n, k, 1.0, a, b, c, bias_dt, bias);
  activation_forward(backend, c_dt, Activation::kRelu, m * n, c, c);
}

void gemm_bias_grad_composed(Backend& backend, DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k,
                             double alpha, const void* a, const void* b, void* c, DType sums_dt, void* sums) {
  backend.gemm(a_dt, b_dt, c_dt, true, false, m, n, k, alpha, a, b, 0.0, c);
  column_sum(backend, a_dt, sums_dt, k, m, a, sums, false);
}

void linear_constant_composed(Backend& backend, DType x_dt, DType w_dt, DType y_dt, int64_t m, int64_t n, int64_t k,
                              const void* x, const void* w, void* y, DType bias_dt, const void* bias, bool relu,
                              ConstantSlot*) {
  if (relu)
    gemm_bias_relu(backend, x_dt, w_dt, y_dt, m, n, k, x, w, y, bias_dt, bias);
  else if (bias)
    gemm_bias(backend, x_dt, w_dt, y_dt, true, m, n, k, 1.0, x, w, y, bias_dt, bias);
  else
    backend.gemm(x_dt, w_dt, y_dt, false, true, m, n, k, 1.0, x, w, 0.0, y);
}

}  // namespace tk::kernels
