// Every CUDA, cuBLAS and cuDNN return code goes through one of these: success
// passes, anything else becomes an Error naming the call and the library's
// own description (out-of-memory as kOutOfMemory).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

namespace tk::cuda {

void check(cudaError_t status, const char* what);
void check(cublasStatus_t status, const char* what);

}  // namespace tk::cuda
