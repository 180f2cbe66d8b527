// The kernels of Linear (linear.cc): its bias and the products with their
// bias work fused where the device can (cuBLASLt epilogues on CUDA); the
// fallbacks run a plain product, then a pass.
#pragma once

#include <cstdint>

#include "core/kernels/constant_slot.h"
#include "core/kernels/kernel_table.h"

namespace tk::kernels {

// y[r, c] += bias[c]
inline const Kernel<void(DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* bias, void* y)> bias_add{
    "bias_add"};

void gemm_bias_composed(Backend& backend, DType a_dt, DType b_dt, DType c_dt, bool trans_b, int64_t m, int64_t n,
                        int64_t k, double alpha, const void* a, const void* b, void* c, DType bias_dt,
                        const void* bias);
void gemm_bias_relu_composed(Backend& backend, DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k,
                             const void* a, const void* b, void* c, DType bias_dt, const void* bias);
void gemm_bias_grad_composed(Backend& backend, DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k,
                             double alpha, const void* a, const void* b, void* c, DType sums_dt, void* sums);

// C = alpha * A * op(B) + bias, bias[j] added to every row of C.
inline const Kernel<void(DType a_dt, DType b_dt, DType c_dt, bool trans_b, int64_t m, int64_t n, int64_t k,
                         double alpha, const void* a, const void* b, void* c, DType bias_dt, const void* bias)>
    gemm_bias{"gemm_bias", gemm_bias_composed};
// The same with a ReLU after the bias: C = relu(A * B^T + bias) (B stored n x k).
inline const Kernel<void(DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k, const void* a,
                         const void* b, void* c, DType bias_dt, const void* bias)>
    gemm_bias_relu{"gemm_bias_relu", gemm_bias_relu_composed};
// Weight and bias gradients: C = alpha * A^T * B with A stored k x m, and
// sums[j] = sum_r A[r, j] (the column sums of A, i.e. of dY).
inline const Kernel<void(DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k, double alpha,
                         const void* a, const void* b, void* c, DType sums_dt, void* sums)>
    gemm_bias_grad{"gemm_bias_grad", gemm_bias_grad_composed};

void linear_constant_composed(Backend& backend, DType x_dt, DType w_dt, DType y_dt, int64_t m, int64_t n, int64_t k,
                              const void* x, const void* w, void* y, DType bias_dt, const void* bias, bool relu,
                              ConstantSlot* slot);
// y = x W^T (+ bias, then ReLU when `relu`; W stored n x k) with W constant
// for the life of `slot`, where a device may keep W prepared for it (packed
// once). Composed: gemm_bias, gemm_bias_relu or a plain product.
inline const Kernel<void(DType x_dt, DType w_dt, DType y_dt, int64_t m, int64_t n, int64_t k, const void* x,
                         const void* w, void* y, DType bias_dt, const void* bias, bool relu, ConstantSlot* slot)>
    linear_constant{"linear_constant", linear_constant_composed};

}  // namespace tk::kernels
