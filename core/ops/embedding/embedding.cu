// The embedding family on CUDA GPUs. The gradient's scatter-add gives each
// thread one column of the table and walks the rows in order, as the CPU's
// bands do: no atomics, so sums are the same from run to run.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/ops/embedding/embedding_kernels.h"

namespace tk::cuda {
namespace {

template <typename Fn>
void dispatch_pair(DType dt, DType other_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s_tag) { dispatch_float(other_dt, [&](auto p_tag) { fn(s_tag, p_tag); }); });
}

template <typename S, typename P>
__global__ void embedding_forward_kernel(int64_t rows, int64_t dim, const int32_t* ids, const P* table, S* out) {
  TK_GRID_STRIDE(i, rows * dim) {
    const int64_t r = i / dim, d = i % dim;
    out[i] = store<S>(static_cast<compute_t<S>>(table[static_cast<int64_t>(ids[r]) * dim + d]));
  }
}

template <typename G>
__global__ void zero_kernel(int64_t n, G* x) {
  TK_GRID_STRIDE(i, n) { x[i] = G(0); }
}

template <typename S, typename G>
__global__ void embedding_backward_kernel(int64_t rows, int64_t dim, int64_t padding, const int32_t* ids,
                                          const S* dout, G* dtable) {
  TK_GRID_STRIDE(d, dim) {
    for (int64_t r = 0; r < rows; ++r) {
      if (ids[r] == padding) continue;
      dtable[static_cast<int64_t>(ids[r]) * dim + d] += static_cast<G>(load(dout[r * dim + d]));
    }
  }
}

void embedding_forward(cudaStream_t s, DType dt, DType param_dt, int64_t rows, int64_t dim, const int32_t* ids,
                       const void* table, void* out) {
  if (rows * dim <= 0) return;
  dispatch_pair(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    embedding_forward_kernel<S, P><<<blocks_for(rows * dim), kThreads, 0, s>>>(
        rows, dim, ids, static_cast<const P*>(table), static_cast<S*>(out));
  });
  check_launch("embedding_forward");
}

void embedding_backward(cudaStream_t s, DType dt, DType grad_dt, int64_t rows, int64_t dim, int64_t vocab,
                        int64_t padding, const int32_t* ids, const void* dout, void* dtable) {
  dispatch_pair(dt, grad_dt, [&](auto s_tag, auto g_tag) {
    using S = decltype(s_tag);
    using G = decltype(g_tag);
    zero_kernel<G><<<blocks_for(vocab * dim), kThreads, 0, s>>>(vocab * dim, static_cast<G*>(dtable));
    if (rows > 0)
      embedding_backward_kernel<S, G><<<blocks_for(dim), kThreads, 0, s>>>(
          rows, dim, padding, ids, static_cast<const S*>(dout), static_cast<G*>(dtable));
  });
  check_launch("embedding_backward");
}

// The sinusoidal encoding's element (s, d), in f64 as on the CPU.
__device__ double sinusoid(int64_t s, int64_t d, int64_t dim) {
  const double w = pow(10000.0, -static_cast<double>(d - d % 2) / static_cast<double>(dim));
  return d % 2 == 0 ? sin(static_cast<double>(s) * w) : cos(static_cast<double>(s) * w);
}

template <typename S, typename P>
__global__ void positions_forward_kernel(int64_t batch, int64_t seq, int64_t dim, const S* x, const P* table, S* y) {
  TK_GRID_STRIDE(i, batch * seq * dim) {
    const int64_t d = i % dim, s = (i / dim) % seq;
    const double p = table ? static_cast<double>(table[s * dim + d]) : sinusoid(s, d, dim);
    y[i] = store<S>(load(x[i]) + static_cast<compute_t<S>>(p));
  }
}

template <typename S, typename G>
__global__ void positions_backward_kernel(int64_t batch, int64_t seq, int64_t dim, int64_t table_rows, const S* dy,
                                          G* dtable) {
  TK_GRID_STRIDE(i, table_rows * dim) {
    const int64_t s = i / dim, d = i % dim;
    G sum = 0;
    if (s < seq)
      for (int64_t b = 0; b < batch; ++b) sum += static_cast<G>(load(dy[(b * seq + s) * dim + d]));
    dtable[i] = sum;
  }
}

void positions_forward(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t seq, int64_t dim,
                       const void* x, const void* table, void* y) {
  if (batch * seq * dim <= 0) return;
  dispatch_pair(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    positions_forward_kernel<S, P><<<blocks_for(batch * seq * dim), kThreads, 0, s>>>(
        batch, seq, dim, static_cast<const S*>(x), static_cast<const P*>(table), static_cast<S*>(y));
  });
  check_launch("positions_forward");
}

void positions_table_backward(cudaStream_t s, DType dt, DType grad_dt, int64_t batch, int64_t seq, int64_t dim,
                              int64_t table_rows, const void* dy, void* dtable) {
  if (table_rows * dim <= 0) return;
  dispatch_pair(dt, grad_dt, [&](auto s_tag, auto g_tag) {
    using S = decltype(s_tag);
    using G = decltype(g_tag);
    positions_backward_kernel<S, G><<<blocks_for(table_rows * dim), kThreads, 0, s>>>(
        batch, seq, dim, table_rows, static_cast<const S*>(dy), static_cast<G*>(dtable));
  });
  check_launch("positions_table_backward");
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::embedding_forward, DeviceKind::kCuda, OnStream<embedding_forward>::run},
    {kernels::embedding_backward, DeviceKind::kCuda, OnStream<embedding_backward>::run},
    {kernels::positions_forward, DeviceKind::kCuda, OnStream<positions_forward>::run},
    {kernels::positions_table_backward, DeviceKind::kCuda, OnStream<positions_table_backward>::run},
};

}  // namespace tk::cuda
