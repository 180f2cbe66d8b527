#include "core/backend/cuda/cuda_status.h"

#include "core/base/error.h"

namespace tk::cuda {

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear the sticky-free error state so later calls report their own
  const ErrorCode code =
      status == cudaErrorMemoryAllocation ? ErrorCode::kOutOfMemory
      : status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice || status == cudaErrorInvalidDevice
          ? ErrorCode::kUnsupported
          : ErrorCode::kInternal;
  fail(code, what, ": ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
}

void check(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  const ErrorCode code = status == CUBLAS_STATUS_ALLOC_FAILED    ? ErrorCode::kOutOfMemory
                         : status == CUBLAS_STATUS_NOT_SUPPORTED ? ErrorCode::kUnsupported
                                                                 : ErrorCode::kInternal;
  fail(code, what, ": ", cublasGetStatusName(status), " (", cublasGetStatusString(status), ")");
}

}  // namespace tk::cuda
