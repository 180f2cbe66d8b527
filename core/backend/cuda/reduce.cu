// Reductions. Every one has a fixed launch shape and a fixed summation order,
// so results depend on n only, never on timing (as on the CPU).
#include <cmath>

#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/kernels.h"

namespace tk::cuda {
namespace {

// out[c] = (accumulate ? out[c] : 0) + sum_r x[r, c]: one thread per column,
// rows in order (consecutive threads read consecutive addresses).
template <typename S, typename O>
__global__ void column_sum_kernel(int64_t rows, int64_t cols, const S* x, O* out, bool accumulate) {
  TK_GRID_STRIDE(c, cols) {
    double total = accumulate ? static_cast<double>(load(out[c])) : 0.0;
    for (int64_t r = 0; r < rows; ++r) total += static_cast<double>(load(x[r * cols + c]));
    out[c] = store<O>(total);
  }
}

// One block per channel over [batch, channels, spatial].
template <typename S, typename O>
__global__ void channel_sum_kernel(int64_t batch, int64_t channels, int64_t spatial, const S* x, O* out,
                                   bool accumulate) {
  __shared__ double shared[kThreads];
  const int64_t c = blockIdx.x;
  double total = 0;
  for (int64_t i = threadIdx.x; i < batch * spatial; i += kThreads) {
    const int64_t n = i / spatial, s = i % spatial;
    total += static_cast<double>(load(x[(n * channels + c) * spatial + s]));
  }
  total = block_sum(total, shared);
  if (threadIdx.x == 0) out[c] = store<O>((accumulate ? static_cast<double>(load(out[c])) : 0.0) + total);
}

// Stage 1: kReduceBlocks partial results; stage 2: one block adds them.
template <typename S>
__global__ void reduce_partials_kernel(int kind, int64_t n, const S* x, double* partials) {
  __shared__ double shared[kThreads];
  double total = 0;
  TK_GRID_STRIDE(i, n) {
    const double v = static_cast<double>(load(x[i]));
    total += kind == 0 ? v : (kind == 1 ? v * v : (isfinite(v) ? 0.0 : 1.0));
  }
  total = block_sum(total, shared);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void reduce_final_kernel(const double* partials, double* result) {
  __shared__ double shared[kThreads];
  double total = 0;
  for (int i = threadIdx.x; i < kReduceBlocks; i += kThreads) total += partials[i];
  total = block_sum(total, shared);
  if (threadIdx.x == 0) *result = total;
}

template <typename S>
__global__ void argmax_kernel(int64_t rows, int64_t classes, const S* x, const int32_t* labels,
                              unsigned long long* count) {
  TK_GRID_STRIDE(r, rows) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (load(x[r * classes + c]) > load(x[r * classes + best])) best = c;
    if (best == labels[r]) atomicAdd(count, 1ull);
  }
}

template <typename S, typename V>
__global__ void binary_kernel(int64_t n, const S* x, const V* t, unsigned long long* count) {
  TK_GRID_STRIDE(i, n) {
    if ((load(x[i]) > 0) == (t[i] > V(0.5))) atomicAdd(count, 1ull);
  }
}

}  // namespace

void column_sum(cudaStream_t s, DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                bool accumulate) {
  if (cols <= 0) return;
  dispatch_storage(x_dt, [&](auto x_tag) {
    dispatch_storage(out_dt, [&](auto o_tag) {
      using S = decltype(x_tag);
      using O = decltype(o_tag);
      column_sum_kernel<S, O><<<blocks_for(cols), kThreads, 0, s>>>(rows, cols, static_cast<const S*>(x),
                                                                     static_cast<O*>(out), accumulate);
    });
  });
  check_launch("column_sum");
}

void channel_sum(cudaStream_t s, DType x_dt, DType out_dt, int64_t batch, int64_t channels, int64_t spatial,
                 const void* x, void* out, bool accumulate) {
  if (channels <= 0) return;
  dispatch_storage(x_dt, [&](auto x_tag) {
    dispatch_storage(out_dt, [&](auto o_tag) {
      using S = decltype(x_tag);
      using O = decltype(o_tag);
      channel_sum_kernel<S, O><<<static_cast<unsigned>(channels), kThreads, 0, s>>>(
          batch, channels, spatial, static_cast<const S*>(x), static_cast<O*>(out), accumulate);
    });
  });
  check_launch("channel_sum");
}

void reduce(cudaStream_t s, DType dt, int kind, int64_t n, const void* x, double* partials, double* result) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    reduce_partials_kernel<S><<<kReduceBlocks, kThreads, 0, s>>>(kind, n, static_cast<const S*>(x), partials);
  });
  check_launch("reduce");
  reduce_final_kernel<<<1, kThreads, 0, s>>>(partials, result);
  check_launch("reduce_final");
}

void count_correct_argmax(cudaStream_t s, DType dt, int64_t rows, int64_t classes, const void* logits,
                          const int32_t* labels, unsigned long long* count) {
  if (rows <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    argmax_kernel<S><<<blocks_for(rows), kThreads, 0, s>>>(rows, classes, static_cast<const S*>(logits), labels,
                                                            count);
  });
  check_launch("count_correct_argmax");
}

void count_correct_binary(cudaStream_t s, DType dt, DType value_dt, int64_t n, const void* logits,
                          const void* target, unsigned long long* count) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto s_tag) {
    dispatch_float(value_dt, [&](auto v_tag) {
      using S = decltype(s_tag);
      using V = decltype(v_tag);
      binary_kernel<S, V><<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const S*>(logits),
                                                              static_cast<const V*>(target), count);
    });
  });
  check_launch("count_correct_binary");
}

}  // namespace tk::cuda
