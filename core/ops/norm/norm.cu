// Normalization kernels: batch norm in chunked two-stage channel sums, layer
// norm with one block per row. Sums run in double, in a fixed order, as on the CPU.
#include <algorithm>

#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/convert.h"
#include "core/backend/cuda/cuda_kernel.h"
#include "core/ops/norm/norm_kernels.h"

namespace tk::cuda {
namespace {

// Batch norm sums each channel in chunks of about this many values.
constexpr int64_t kBatchNormChunkElements = 4096;

template <typename T>
__global__ void moving_average_kernel(int64_t n, double momentum, const T* running, const T* value, double value_scale,
                                      T* next) {
  TK_GRID_STRIDE(i, n) {
    next[i] = static_cast<T>((1.0 - momentum) * static_cast<double>(running[i]) +
                             momentum * value_scale * static_cast<double>(value[i]));
  }
}

// Batch norm reduces each channel over [batch, spatial] in two stages, as
// the column sums do: blocks of (channel, chunk of images) write partial sums,
// then one thread per channel adds them in chunk order. Elementwise passes go
// plane by plane ([image, channel] planes of `spatial` values), so no thread
// divides by `spatial`.
enum class BnSum { kValues, kSquaredDeviations, kGradients };

template <typename S, typename P>
__global__ void bn_partials_kernel(BnSum what, int64_t batch, int64_t channels, int64_t spatial, int64_t images,
                                   double eps, const S* x, const S* dy, const double* mean, const P* var,
                                   double* partials) {
  __shared__ double shared[kThreads];
  const int64_t c = blockIdx.x, first = static_cast<int64_t>(blockIdx.y) * images;
  const int64_t last = min(batch, first + images);
  const double m = what == BnSum::kValues ? 0.0 : mean[c];
  const double inv_std = what == BnSum::kGradients ? 1.0 / sqrt(static_cast<double>(var[c]) + eps) : 0.0;
  double a = 0, b = 0;
  for (int64_t n = first; n < last; ++n) {
    const int64_t plane = (n * channels + c) * spatial;
    for (int64_t i = threadIdx.x; i < spatial; i += kThreads) {
      const double v = static_cast<double>(load(x[plane + i]));
      if (what == BnSum::kValues) {
        a += v;
      } else if (what == BnSum::kSquaredDeviations) {
        a += (v - m) * (v - m);
      } else {
        const double g = static_cast<double>(load(dy[plane + i]));
        a += g;
        b += g * (v - m) * inv_std;
      }
    }
  }
  a = block_sum(a, shared);
  if (what == BnSum::kGradients) b = block_sum(b, shared);
  if (threadIdx.x == 0) {
    double* out = partials + 2 * (static_cast<int64_t>(blockIdx.y) * channels + c);
    out[0] = a;
    out[1] = b;
  }
}

// Per channel, the chunks' partial sums in order: `totals` gets both sums.
__global__ void bn_totals_kernel(int64_t chunks, int64_t channels, const double* partials, double* totals) {
  TK_GRID_STRIDE(c, channels) {
    double a = 0, b = 0;
    for (int64_t chunk = 0; chunk < chunks; ++chunk) {
      a += partials[2 * (chunk * channels + c)];
      b += partials[2 * (chunk * channels + c) + 1];
    }
    totals[2 * c] = a;
    totals[2 * c + 1] = b;
  }
}

// mean (kept in f64 for the second pass, and in P) from the sums of values.
template <typename P>
__global__ void bn_mean_kernel(int64_t channels, double count, double* totals, double* exact_mean, P* mean) {
  TK_GRID_STRIDE(c, channels) {
    exact_mean[c] = totals[2 * c] / count;
    mean[c] = static_cast<P>(exact_mean[c]);
  }
}

template <typename P>
__global__ void bn_var_kernel(int64_t channels, double count, const double* totals, P* var) {
  TK_GRID_STRIDE(c, channels) { var[c] = static_cast<P>(totals[2 * c] / count); }
}

template <typename P>
__global__ void bn_param_grads_kernel(int64_t channels, const double* totals, P* dgamma, P* dbeta) {
  TK_GRID_STRIDE(c, channels) {
    dbeta[c] = static_cast<P>(totals[2 * c]);
    dgamma[c] = static_cast<P>(totals[2 * c + 1]);
  }
}

// Planes [image, channel] over the grid's y (strided), their values over x.
#define TK_FOR_EACH_PLANE(plane, planes) for (int64_t plane = blockIdx.y; plane < (planes); plane += gridDim.y)

inline dim3 plane_grid(int64_t planes, int64_t spatial) {
  const int64_t x = std::min<int64_t>((spatial + kThreads - 1) / kThreads, 64);
  const int64_t y = std::min<int64_t>(planes, 65535);
  return dim3(static_cast<unsigned>(std::max<int64_t>(x, 1)), static_cast<unsigned>(std::max<int64_t>(y, 1)));
}

template <typename S, typename P>
__global__ void bn_apply_kernel(int64_t planes, int64_t channels, int64_t spatial, double eps, const S* x,
                                const P* mean, const P* var, const P* gamma, const P* beta, S* y) {
  using T = compute_t<S>;
  TK_FOR_EACH_PLANE(plane, planes) {
    const int64_t c = plane % channels;
    const double scale = static_cast<double>(gamma[c]) / sqrt(static_cast<double>(var[c]) + eps);
    const double shift = static_cast<double>(beta[c]) - static_cast<double>(mean[c]) * scale;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < spatial;
         i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
      const int64_t at = plane * spatial + i;
      y[at] = store<S>(load(x[at]) * static_cast<T>(scale) + static_cast<T>(shift));
    }
  }
}

template <typename S, typename P>
__global__ void bn_input_grad_kernel(int64_t planes, int64_t channels, int64_t spatial, double count, double eps,
                                     bool batch_statistics, const S* x, const S* dy, const P* mean, const P* var,
                                     const P* gamma, const double* totals, S* dx, bool accumulate) {
  TK_FOR_EACH_PLANE(plane, planes) {
    const int64_t c = plane % channels;
    const double m = static_cast<double>(mean[c]);
    const double inv_std = 1.0 / sqrt(static_cast<double>(var[c]) + eps);
    const double scale = static_cast<double>(gamma[c]) * inv_std;
    const double mean_dy = batch_statistics ? totals[2 * c] / count : 0.0;
    const double mean_dy_xhat = batch_statistics ? totals[2 * c + 1] / count : 0.0;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < spatial;
         i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
      const int64_t at = plane * spatial + i;
      const double x_hat = (static_cast<double>(load(x[at])) - m) * inv_std;
      double v = scale * (static_cast<double>(load(dy[at])) - mean_dy - x_hat * mean_dy_xhat);
      if (accumulate) v += static_cast<double>(load(dx[at]));
      dx[at] = store<S>(v);
    }
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
__global__ void ln_backward_params_kernel(int64_t rows, int64_t cols, const S* x, const S* dy, const double* row_stats,
                                          P* dgamma, P* dbeta) {
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

int64_t batch_norm_images_per_chunk(int64_t spatial) {
  return std::max<int64_t>(1, kBatchNormChunkElements / std::max<int64_t>(spatial, 1));
}

namespace {

int64_t batch_norm_chunks(int64_t batch, int64_t spatial) {
  const int64_t images = batch_norm_images_per_chunk(spatial);
  return (batch + images - 1) / images;
}

// The scratch holds the (chunk, channel) partials, then two totals per channel.
double* totals_of(double* scratch, int64_t batch, int64_t channels, int64_t spatial) {
  return scratch + 2 * batch_norm_chunks(batch, spatial) * channels;
}

// Stage 1 and 2 of one channel reduction: totals[2c], totals[2c + 1].
template <typename S, typename P>
void channel_totals(cudaStream_t s, BnSum what, int64_t batch, int64_t channels, int64_t spatial, double eps,
                    const S* x, const S* dy, const double* mean, const P* var, double* scratch) {
  const int64_t chunks = batch_norm_chunks(batch, spatial);
  bn_partials_kernel<S, P><<<dim3(static_cast<unsigned>(channels), static_cast<unsigned>(chunks)), kThreads, 0, s>>>(
      what, batch, channels, spatial, batch_norm_images_per_chunk(spatial), eps, x, dy, mean, var, scratch);
  bn_totals_kernel<<<blocks_for(channels), kThreads, 0, s>>>(chunks, channels, scratch,
                                                             totals_of(scratch, batch, channels, spatial));
}

}  // namespace

int64_t batch_norm_scratch(int64_t batch, int64_t channels, int64_t spatial) {
  return 2 * batch_norm_chunks(batch, spatial) * channels + 3 * channels;  // partials, totals, the exact means
}

void batch_norm_statistics(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                           const void* x, void* mean, void* var, double* scratch) {
  if (channels <= 0) return;
  const double count = static_cast<double>(batch * spatial);
  double* totals = totals_of(scratch, batch, channels, spatial);
  double* exact_mean = totals + 2 * channels;
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    const S* xs = static_cast<const S*>(x);
    channel_totals<S, P>(s, BnSum::kValues, batch, channels, spatial, 0.0, xs, nullptr, nullptr, nullptr, scratch);
    bn_mean_kernel<P>
        <<<blocks_for(channels), kThreads, 0, s>>>(channels, count, totals, exact_mean, static_cast<P*>(mean));
    channel_totals<S, P>(s, BnSum::kSquaredDeviations, batch, channels, spatial, 0.0, xs, nullptr, exact_mean, nullptr,
                         scratch);
    bn_var_kernel<P><<<blocks_for(channels), kThreads, 0, s>>>(channels, count, totals, static_cast<P*>(var));
  });
  check_launch("batch_norm_statistics");
}

void batch_norm_apply(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                      double eps, const void* x, const void* mean, const void* var, const void* gamma, const void* beta,
                      void* y) {
  const int64_t planes = batch * channels;
  if (planes <= 0 || spatial <= 0) return;
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    bn_apply_kernel<S, P><<<plane_grid(planes, spatial), kThreads, 0, s>>>(
        planes, channels, spatial, eps, static_cast<const S*>(x), static_cast<const P*>(mean),
        static_cast<const P*>(var), static_cast<const P*>(gamma), static_cast<const P*>(beta), static_cast<S*>(y));
  });
  check_launch("batch_norm_apply");
}

void batch_norm_backward(cudaStream_t s, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                         double eps, bool batch_statistics, const void* x, const void* dy, const void* mean,
                         const void* var, const void* gamma, void* dx, bool accumulate, void* dgamma, void* dbeta,
                         double* scratch) {
  if (channels <= 0) return;
  double* totals = totals_of(scratch, batch, channels, spatial);
  double* exact_mean = totals + 2 * channels;
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    // The saved mean, widened: the same value the CPU subtracts.
    convert(s, param_dt, DType::kF64, channels, mean, exact_mean);
    channel_totals<S, P>(s, BnSum::kGradients, batch, channels, spatial, eps, static_cast<const S*>(x),
                         static_cast<const S*>(dy), exact_mean, static_cast<const P*>(var), scratch);
    bn_param_grads_kernel<P>
        <<<blocks_for(channels), kThreads, 0, s>>>(channels, totals, static_cast<P*>(dgamma), static_cast<P*>(dbeta));
    if (dx && spatial > 0)
      bn_input_grad_kernel<S, P><<<plane_grid(batch * channels, spatial), kThreads, 0, s>>>(
          batch * channels, channels, spatial, static_cast<double>(batch * spatial), eps, batch_statistics,
          static_cast<const S*>(x), static_cast<const S*>(dy), static_cast<const P*>(mean), static_cast<const P*>(var),
          static_cast<const P*>(gamma), totals, static_cast<S*>(dx), accumulate);
  });
  check_launch("batch_norm_backward");
}

void layer_norm_forward(cudaStream_t s, DType dt, DType param_dt, int64_t rows, int64_t cols, double eps, const void* x,
                        const void* gamma, const void* beta, void* y) {
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
    ln_backward_params_kernel<S, P>
        <<<blocks_for(cols), kThreads, 0, s>>>(rows, cols, static_cast<const S*>(x), static_cast<const S*>(dy),
                                               row_stats, static_cast<P*>(dgamma), static_cast<P*>(dbeta));
  });
  check_launch("layer_norm_backward");
}

void moving_average(cudaStream_t s, DType dt, int64_t n, double momentum, const void* running, const void* value,
                    double value_scale, void* next) {
  if (n <= 0) return;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    moving_average_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(
        n, momentum, static_cast<const T*>(running), static_cast<const T*>(value), value_scale, static_cast<T*>(next));
  });
  check_launch("moving_average");
}

void statistics(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                const void* x, void* mean, void* var) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  batch_norm_statistics(cuda.stream(), dt, param_dt, batch, channels, spatial, x, mean, var,
                        cuda.partial_sums(batch_norm_scratch(batch, channels, spatial)));
}

void norm_backward(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                   double eps, bool batch_statistics, const void* x, const void* dy, const void* mean, const void* var,
                   const void* gamma, void* dx, bool accumulate, void* dgamma, void* dbeta) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  batch_norm_backward(cuda.stream(), dt, param_dt, batch, channels, spatial, eps, batch_statistics, x, dy, mean, var,
                      gamma, dx, accumulate, dgamma, dbeta,
                      cuda.partial_sums(batch_norm_scratch(batch, channels, spatial)));
}

void layer_backward(Backend& backend, DType dt, DType param_dt, int64_t rows, int64_t cols, double eps, const void* x,
                    const void* dy, const void* gamma, void* dx, bool accumulate, void* dgamma, void* dbeta) {
  CudaBackend& cuda = as_cuda(backend);
  cuda.activate();
  double* row_stats = static_cast<double*>(cuda.device_scratch(static_cast<size_t>(2 * rows) * sizeof(double)));
  layer_norm_backward(cuda.stream(), dt, param_dt, rows, cols, eps, x, dy, gamma, dx, accumulate, dgamma, dbeta,
                      row_stats);
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::batch_norm_statistics, DeviceKind::kCuda, statistics},
    {kernels::batch_norm_apply, DeviceKind::kCuda, OnStream<batch_norm_apply>::run},
    {kernels::batch_norm_backward, DeviceKind::kCuda, norm_backward},
    {kernels::moving_average, DeviceKind::kCuda, OnStream<moving_average>::run},
    {kernels::layer_norm_forward, DeviceKind::kCuda, OnStream<layer_norm_forward>::run},
    {kernels::layer_norm_backward, DeviceKind::kCuda, layer_backward},
};

}  // namespace tk::cuda
