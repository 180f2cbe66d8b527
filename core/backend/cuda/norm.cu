// Normalization kernels: batch norm with one block per channel, layer norm
// with one block per row. Sums run in double, in a fixed order, as on the CPU.
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/kernels.h"

namespace tk::cuda {
namespace {

template <typename S>
__device__ inline double value_at(const S* x, int64_t channels, int64_t spatial, int64_t c, int64_t i) {
  return static_cast<double>(load(x[((i / spatial) * channels + c) * spatial + i % spatial]));
}

template <typename S, typename P>
__global__ void bn_statistics_kernel(int64_t batch, int64_t channels, int64_t spatial, const S* x, P* mean, P* var) {
  __shared__ double shared[kThreads];
  const int64_t c = blockIdx.x, count = batch * spatial;
  double total = 0;
  for (int64_t i = threadIdx.x; i < count; i += kThreads) total += value_at(x, channels, spatial, c, i);
  const double m = block_sum(total, shared) / static_cast<double>(count);
  double squares = 0;
  for (int64_t i = threadIdx.x; i < count; i += kThreads) {
    const double d = value_at(x, channels, spatial, c, i) - m;
    squares += d * d;
  }
  squares = block_sum(squares, shared);
  if (threadIdx.x == 0) {
    mean[c] = static_cast<P>(m);
    var[c] = static_cast<P>(squares / static_cast<double>(count));
  }
}

template <typename S, typename P>
__global__ void bn_apply_kernel(int64_t n, int64_t channels, int64_t spatial, double eps, const S* x, const P* mean,
                                const P* var, const P* gamma, const P* beta, S* y) {
  using T = compute_t<S>;
  TK_GRID_STRIDE(i, n) {
    const int64_t c = (i / spatial) % channels;
    const double scale = static_cast<double>(gamma[c]) / sqrt(static_cast<double>(var[c]) + eps);
    const double shift = static_cast<double>(beta[c]) - static_cast<double>(mean[c]) * scale;
    y[i] = store<S>(load(x[i]) * static_cast<T>(scale) + static_cast<T>(shift));
  }
}

template <typename S, typename P>
__global__ void bn_backward_kernel(int64_t batch, int64_t channels, int64_t spatial, double eps, bool batch_statistics,
                                   const S* x, const S* dy, const P* mean, const P* var, const P* gamma, S* dx,
                                   bool accumulate, P* dgamma, P* dbeta) {
  __shared__ double shared[kThreads];
  const int64_t c = blockIdx.x, count = batch * spatial;
  const double m = static_cast<double>(mean[c]);
  const double inv_std = 1.0 / sqrt(static_cast<double>(var[c]) + eps);
  double sum_dy = 0, sum_dy_xhat = 0;
  for (int64_t i = threadIdx.x; i < count; i += kThreads) {
    const double d = value_at(dy, channels, spatial, c, i);
    sum_dy += d;
    sum_dy_xhat += d * (value_at(x, channels, spatial, c, i) - m) * inv_std;
  }
  sum_dy = block_sum(sum_dy, shared);
  sum_dy_xhat = block_sum(sum_dy_xhat, shared);
  if (threadIdx.x == 0) {
    dbeta[c] = static_cast<P>(sum_dy);
    dgamma[c] = static_cast<P>(sum_dy_xhat);
  }
  if (!dx) return;
  const double scale = static_cast<double>(gamma[c]) * inv_std;
  const double mean_dy = batch_statistics ? sum_dy / static_cast<double>(count) : 0.0;
  const double mean_dy_xhat = batch_statistics ? sum_dy_xhat / static_cast<double>(count) : 0.0;
  for (int64_t i = threadIdx.x; i < count; i += kThreads) {
    const int64_t at = ((i / spatial) * channels + c) * spatial + i % spatial;
    const double x_hat = (static_cast<double>(load(x[at])) - m) * inv_std;
    double v = scale * (static_cast<double>(load(dy[at])) - mean_dy - x_hat * mean_dy_xhat);
    if (accumulate) v += static_cast<double>(load(dx[at]));
    dx[at] = store<S>(v);
  }
}

// Mean and 1/std of row r, computed by the whole block.
template <typename S>
__device__ inline void row_statistics(const S* row, int64_t cols, double eps, double* shared, double* mean,
                                      double* inv_std) {
  double total = 0;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) total += static_cast<double>(load(row[j]));
  const double m = block_sum(total, shared) / static_cast<double>(cols);
  double squares = 0;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const double d = static_cast<double>(load(row[j])) - m;
    squares += d * d;
  }
  *mean = m;
  *inv_std = 1.0 / sqrt(block_sum(squares, shared) / static_cast<double>(cols) + eps);
}

template <typename S, typename P>
__global__ void ln_forward_kernel(int64_t cols, double eps, const S* x, const P* gamma, const P* beta, S* y) {
  __shared__ double shared[kThreads];
  const S* row = x + blockIdx.x * cols;
  double m, inv_std;
  row_statistics(row, cols, eps, shared, &m, &inv_std);
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const double x_hat = (static_cast<double>(load(row[j])) - m) * inv_std;
    y[blockIdx.x * cols + j] = store<S>(x_hat * static_cast<double>(gamma[j]) + static_cast<double>(beta[j]));
  }
}

template <typename S, typename P>
__global__ void ln_backward_input_kernel(int64_t cols, double eps, const S* x, const S* dy, const P* gamma, S* dx,
                                         bool accumulate, double* row_stats) {
  __shared__ double shared[kThreads];
  const int64_t r = blockIdx.x;
  const S* row = x + r * cols;
  const S* grad_row = dy + r * cols;
  double m, inv_std;
  row_statistics(row, cols, eps, shared, &m, &inv_std);
  if (threadIdx.x == 0) {
    row_stats[2 * r] = m;
    row_stats[2 * r + 1] = inv_std;
  }
  if (!dx) return;
  // dx = inv_std * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)), g_hat = dy * gamma.
  double sum_g = 0, sum_g_xhat = 0;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const double gh = static_cast<double>(load(grad_row[j])) * static_cast<double>(gamma[j]);
    sum_g += gh;
    sum_g_xhat += gh * (static_cast<double>(load(row[j])) - m) * inv_std;
  }
  const double n = static_cast<double>(cols);
  sum_g = block_sum(sum_g, shared) / n;
  sum_g_xhat = block_sum(sum_g_xhat, shared) / n;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const double x_hat = (static_cast<double>(load(row[j])) - m) * inv_std;
    const double gh = static_cast<double>(load(grad_row[j])) * static_cast<double>(gamma[j]);
    double v = inv_std * (gh - sum_g - x_hat * sum_g_xhat);
    if (accumulate) v += static_cast<double>(load(dx[r * cols + j]));
    dx[r * cols + j] = store<S>(v);
  }
}

template <typename S, typename P>
__global__ void ln_backward_params_kernel(int64_t rows, int64_t cols, const S* x, const S* dy,
                                          const double* row_stats, P* dgamma, P* dbeta) {
  TK_GRID_STRIDE(j, cols) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double d = static_cast<double>(load(dy[r * cols + j]));
      sum_dy += d;
      sum_dy_xhat += d * (static_cast<double>(load(x[r * cols + j])) - row_stats[2 * r]) * row_stats[2 * r + 1];
    }
    dbeta[j] = static_cast<P>(sum_dy);
    dgamma[j] = static_cast<P>(sum_dy_xhat);
  }
}

template <typename Fn>
void dispatch_norm(DType dt, DType param_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s) { dispatch_float(param_dt, [&](auto p) { fn(s, p); }); });
}

}  // namespace

void batch_norm_statistics(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels,
                           int64_t spatial, const void* x, void* mean, void* var) {
  if (channels <= 0) return;
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    bn_statistics_kernel<S, P><<<static_cast<unsigned>(channels), kThreads, 0, s>>>(
        batch, channels, spatial, static_cast<const S*>(x), static_cast<P*>(mean), static_cast<P*>(var));
  });
  check_launch("batch_norm_statistics");
}

void batch_norm_apply(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                      double eps, const void* x, const void* mean, const void* var, const void* gamma,
                      const void* beta, void* y) {
  const int64_t n = batch * channels * spatial;
  if (n <= 0) return;
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    bn_apply_kernel<S, P><<<blocks_for(n), kThreads, 0, s>>>(
        n, channels, spatial, eps, static_cast<const S*>(x), static_cast<const P*>(mean), static_cast<const P*>(var),
        static_cast<const P*>(gamma), static_cast<const P*>(beta), static_cast<S*>(y));
  });
  check_launch("batch_norm_apply");
}

void batch_norm_backward(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels,
                         int64_t spatial, double eps, bool batch_statistics, const void* x, const void* dy,
                         const void* mean, const void* var, const void* gamma, void* dx, bool accumulate,
                         void* dgamma, void* dbeta) {
  if (channels <= 0) return;
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    bn_backward_kernel<S, P><<<static_cast<unsigned>(channels), kThreads, 0, s>>>(
        batch, channels, spatial, eps, batch_statistics, static_cast<const S*>(x), static_cast<const S*>(dy),
        static_cast<const P*>(mean), static_cast<const P*>(var), static_cast<const P*>(gamma), static_cast<S*>(dx),
        accumulate, static_cast<P*>(dgamma), static_cast<P*>(dbeta));
  });
  check_launch("batch_norm_backward");
}

void layer_norm_forward(cudaStream_t s, DType dt, DType param_dt, int64_t rows, int64_t cols, double eps,
                        const void* x, const void* gamma, const void* beta, void* y) {
  if (rows <= 0) return;
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    ln_forward_kernel<S, P><<<static_cast<unsigned>(rows), kThreads, 0, s>>>(
        cols, eps, static_cast<const S*>(x), static_cast<const P*>(gamma), static_cast<const P*>(beta),
        static_cast<S*>(y));
  });
  check_launch("layer_norm_forward");
}

void layer_norm_backward(cudaStream_t s, DType dt, DType param_dt, int64_t rows, int64_t cols, double eps,
                         const void* x, const void* dy, const void* gamma, void* dx, bool accumulate, void* dgamma,
                         void* dbeta, double* row_stats) {
  if (rows <= 0) return;
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    ln_backward_input_kernel<S, P><<<static_cast<unsigned>(rows), kThreads, 0, s>>>(
        cols, eps, static_cast<const S*>(x), static_cast<const S*>(dy), static_cast<const P*>(gamma),
        static_cast<S*>(dx), accumulate, row_stats);
    ln_backward_params_kernel<S, P><<<blocks_for(cols), kThreads, 0, s>>>(
        rows, cols, static_cast<const S*>(x), static_cast<const S*>(dy), row_stats, static_cast<P*>(dgamma),
        static_cast<P*>(dbeta));
  });
  check_launch("layer_norm_backward");
}

}  // namespace tk::cuda
