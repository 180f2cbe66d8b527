// TK_HOST_DEVICE marks functions the CPU backend and the CUDA kernels share:
// the math is written once and the CPU tests cover it.
#pragma once

#if defined(__CUDACC__)
#define TK_HOST_DEVICE __host__ __device__
#else
#define TK_HOST_DEVICE
#endif
