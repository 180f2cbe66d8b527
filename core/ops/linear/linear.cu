// Linear on CUDA GPUs: its bias, and its products with the bias (and ReLU)
// in cuBLASLt's epilogue where cuBLASLt has one for the shape.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/kernels/broadcast_bias.cuh"
#include "core/ops/linear/linear_kernels.h"

namespace tk::cuda {
namespace {

void bias_add(cudaStream_t s, DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* b, void* y) {
  if (rows * cols > 0) broadcast_bias(s, y_dt, bias_dt, rows * cols, 1, cols, b, y);
}

void gemm_bias(Backend& backend, DType a_dt, DType b_dt, DType c_dt, bool trans_b, int64_t m, int64_t n, int64_t k,
               double alpha, const void* a, const void* b, void* c, DType bias_dt, const void* bias) {
  const GemmShape shape{a_dt, b_dt, c_dt, false, trans_b, m, n, k, Epilogue::kBias, bias_dt};
  if (as_cuda(backend).gemm_epilogue(shape, alpha, a, b, 0.0, c, bias)) return;
  kernels::gemm_bias_composed(backend, a_dt, b_dt, c_dt, trans_b, m, n, k, alpha, a, b, c, bias_dt, bias);
}

void gemm_bias_relu(Backend& backend, DType a_dt, DType b_dt, DType c_dt, int64_t m, int64_t n, int64_t k,
                    const void* a, const void* b, void* c, DType bias_dt, const void* bias) {
  const GemmShape shape{a_dt, b_dt, c_dt, false, true, m, n, k, Epilogue::kReluBias, bias_dt};
  if (as_cuda(backend).gemm_epilogue(shape, 1.0, a, b, 0.0, c, bias)) return;
  kernels::gemm_bias_relu_composed(backend, a_dt, b_dt, c_dt, m, n, k, a, b, c, bias_dt, bias);
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::bias_add, DeviceKind::kCuda, OnStream<bias_add>::run},
    {kernels::gemm_bias, DeviceKind::kCuda, gemm_bias},
    {kernels::gemm_bias_relu, DeviceKind::kCuda, gemm_bias_relu},
};

}  // namespace tk::cuda
