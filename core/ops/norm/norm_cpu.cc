// Normalization kernels: batch norm per channel over [batch, channels,
// spatial], layer norm per row, and the moving average of running statistics.
// Sums run in double across planes and rows whatever the storage, so
// statistics of large batches lose nothing to accumulation order; within one
// plane (a channel of one image) half storage sums in f32 lanes, 64 terms a
// lane at a time, whose error is two orders of magnitude below bf16's or
// f16's resolution.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/ops/activation/activation_math.h"
#include "core/ops/norm/norm_kernels.h"

namespace tk::cpu {
namespace {

// Calls fn(S{}, P{}): S the activation storage type, P the parameter type.
template <typename Fn>
void dispatch_norm(DType dt, DType param_dt, const Fn& fn) {
  dispatch_storage(dt, [&](auto s_tag) { dispatch_float(param_dt, [&](auto p_tag) { fn(s_tag, p_tag); }); });
}

// The sum of term(i) over [0, n) in independent lanes of A (double, or f32
// for a plane of half storage): one running sum is bound by the adder's
// latency, while lanes vectorize. f32 lanes go into a double every 1024
// terms, so each lane's rounding is that of 64 terms whatever the plane's size.
template <typename A = double, typename Term>
double lane_sum(int64_t n, const Term& term) {
  constexpr int kLanes = 64 / sizeof(A);
  constexpr bool kFlushes = !std::is_same_v<A, double>;
  const int64_t blocks_end = n / kLanes * kLanes;
  const int64_t flush_every = kFlushes ? 1024 : std::max<int64_t>(blocks_end, 1);
  A lanes[kLanes] = {};
  double flushed = 0;
  for (int64_t chunk = 0; chunk < blocks_end; chunk += flush_every) {
    const int64_t end = std::min(blocks_end, chunk + flush_every);
    for (int64_t i = chunk; i < end; i += kLanes)
      for (int j = 0; j < kLanes; ++j) lanes[j] += term(i + j);
    if constexpr (kFlushes)
      for (int j = 0; j < kLanes; ++j) {
        flushed += static_cast<double>(lanes[j]);
        lanes[j] = A(0);
      }
  }
  double total = 0;
  for (int64_t i = blocks_end; i < n; ++i) total += static_cast<double>(term(i));
  for (int j = 0; j < kLanes; ++j) total += static_cast<double>(lanes[j]);
  if constexpr (kFlushes) total += flushed;
  return total;
}

// What a plane's sums and the per-element arithmetic of half storage run in:
// f32 (PyTorch's CPU kernels for bf16 do the same); f32 and f64 storage keep double.
template <typename S>
using plane_t = std::conditional_t<std::is_same_v<S, compute_t<S>>, double, float>;

// Mean and 1 / sqrt(variance + eps) of one row, two passes in double.
template <typename S>
void row_statistics(const S* row, int64_t cols, double eps, double* mean, double* inv_std) {
  const double total = lane_sum(cols, [&](int64_t j) { return static_cast<double>(load(row[j])); });
  const double m = total / static_cast<double>(cols);
  const double squares = lane_sum(cols, [&](int64_t j) {
    const double d = static_cast<double>(load(row[j])) - m;
    return d * d;
  });
  *mean = m;
  *inv_std = 1.0 / std::sqrt(squares / static_cast<double>(cols) + eps);
}

void batch_norm_statistics(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                           const void* x, void* mean, void* var) {
  const int threads = as_cpu(backend).threads();
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    const S* in = static_cast<const S*>(x);
    const double count = static_cast<double>(batch * spatial);
    using A = plane_t<S>;
    parallel_for(threads, channels, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t c = begin; c < end; ++c) {
        // Two passes: the mean first, then squares around it (no cancellation).
        double total = 0;
        for (int64_t n = 0; n < batch; ++n) {
          const S* plane = in + (n * channels + c) * spatial;
          total += lane_sum<A>(spatial, [&](int64_t s) { return static_cast<A>(load(plane[s])); });
        }
        const double m = total / count;
        const A m_a = static_cast<A>(m);
        double squares = 0;
        for (int64_t n = 0; n < batch; ++n) {
          const S* plane = in + (n * channels + c) * spatial;
          squares += lane_sum<A>(spatial, [&](int64_t s) {
            const A d = static_cast<A>(load(plane[s])) - m_a;
            return d * d;
          });
        }
        static_cast<P*>(mean)[c] = static_cast<P>(m);
        static_cast<P*>(var)[c] = static_cast<P>(squares / count);
      }
    });
  });
}

// y = (x - mean) / sqrt(var + eps) * gamma + beta, then ReLU when kRelu: one pass.
template <bool kRelu>
void apply_batch_norm(int threads, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                      double eps, const void* x, const void* mean, const void* var, const void* gamma, const void* beta,
                      void* y) {
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    const P *mu = static_cast<const P*>(mean), *sigma2 = static_cast<const P*>(var);
    const P *g = static_cast<const P*>(gamma), *b = static_cast<const P*>(beta);
    parallel_for(threads, batch * channels, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t plane = begin; plane < end; ++plane) {
        const int64_t c = plane % channels;
        // y = x * scale + shift, folded once per plane.
        const double scale = static_cast<double>(g[c]) / std::sqrt(static_cast<double>(sigma2[c]) + eps);
        const double shift = static_cast<double>(b[c]) - static_cast<double>(mu[c]) * scale;
        const T scale_t = static_cast<T>(scale), shift_t = static_cast<T>(shift);
        const S* src = in + plane * spatial;
        S* dst = out + plane * spatial;
        for (int64_t s = 0; s < spatial; ++s) {
          const T v = load(src[s]) * scale_t + shift_t;
          dst[s] = store<S>(kRelu ? math::activate<Activation::kRelu>(v) : v);
        }
      }
    });
  });
}

// Per-channel sums of the norm's output gradient over more rows than a
// kernel sees (sync batch norm's, over every replica): sum(dz), sum(dz * x_hat)
// of the master dtype, over `count` values per channel.
struct GivenSums {
  const void* dz;
  const void* dz_xhat;
  double count;
};

// Gradients of apply_batch_norm<kRelu>; with kRelu, dy is the ReLU's output
// gradient and relu_y its output, so the norm's own gradient is
// dy * relu'(relu_y). That is formed once per channel into a thread's buffer
// of batch x spatial values (in cache for the CNNs measured), which both
// passes then read. With `given` sums, only dx is written, from those.
template <bool kRelu>
void batch_norm_gradients(int threads, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                          double eps, bool batch_statistics, const void* x, const void* relu_y, const void* dy,
                          const void* mean, const void* var, const void* gamma, void* dx, bool accumulate, void* dgamma,
                          void* dbeta, const GivenSums* given = nullptr) {
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    using T = compute_t<S>;
    const S *in = static_cast<const S*>(x), *grad_out = static_cast<const S*>(dy);
    const S* relu_out = static_cast<const S*>(relu_y);
    S* grad_in = static_cast<S*>(dx);
    const P *mu = static_cast<const P*>(mean), *sigma2 = static_cast<const P*>(var), *g = static_cast<const P*>(gamma);
    const double count = given ? given->count : static_cast<double>(batch * spatial);
    using A = plane_t<S>;
    // Channel c's gradients, given plane_grad(n): the norm's output gradient
    // on image n's plane of channel c (storage S, or T when formed here).
    auto channel_gradients = [&](int64_t c, const auto& plane_grad) {
      const double m = static_cast<double>(mu[c]);
      const double inv_std = 1.0 / std::sqrt(static_cast<double>(sigma2[c]) + eps);
      // sum(dy) and sum(dy * x_hat): dbeta and dgamma.
      double sum_dy = 0, sum_dy_xhat = 0;
      if (given) {
        sum_dy = static_cast<double>(static_cast<const P*>(given->dz)[c]);
        sum_dy_xhat = static_cast<double>(static_cast<const P*>(given->dz_xhat)[c]);
      } else {
        const A m_a = static_cast<A>(m), inv_std_a = static_cast<A>(inv_std);
        for (int64_t n = 0; n < batch; ++n) {
          const auto* dy_plane = plane_grad(n);
          const S* x_plane = in + (n * channels + c) * spatial;
          sum_dy += lane_sum<A>(spatial, [&](int64_t s) { return static_cast<A>(load(dy_plane[s])); });
          sum_dy_xhat += lane_sum<A>(spatial, [&](int64_t s) {
            return static_cast<A>(load(dy_plane[s])) * (static_cast<A>(load(x_plane[s])) - m_a) * inv_std_a;
          });
        }
        static_cast<P*>(dbeta)[c] = static_cast<P>(sum_dy);
        static_cast<P*>(dgamma)[c] = static_cast<P>(sum_dy_xhat);
      }
      if (!grad_in) return;
      // With batch statistics: dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy * x_hat)).
      const double scale = static_cast<double>(g[c]) * inv_std;
      const double mean_dy = batch_statistics ? sum_dy / count : 0.0;
      const double mean_dy_xhat = batch_statistics ? sum_dy_xhat / count : 0.0;
      const A m_a = static_cast<A>(m), inv_std_a = static_cast<A>(inv_std), scale_a = static_cast<A>(scale);
      const A mean_dy_a = static_cast<A>(mean_dy), mean_dy_xhat_a = static_cast<A>(mean_dy_xhat);
      for (int64_t n = 0; n < batch; ++n) {
        const auto* dy_plane = plane_grad(n);
        const int64_t base = (n * channels + c) * spatial;
        for (int64_t s = 0; s < spatial; ++s) {
          const A x_hat = (static_cast<A>(load(in[base + s])) - m_a) * inv_std_a;
          A v = scale_a * (static_cast<A>(load(dy_plane[s])) - mean_dy_a - x_hat * mean_dy_xhat_a);
          if (accumulate) v += static_cast<A>(load(grad_in[base + s]));
          grad_in[base + s] = store<S>(static_cast<compute_t<S>>(v));
        }
      }
    };
    parallel_for(threads, channels, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      std::vector<T> masked(kRelu ? static_cast<size_t>(batch * spatial) : 0);
      for (int64_t c = begin; c < end; ++c) {
        if constexpr (kRelu) {
          for (int64_t n = 0; n < batch; ++n) {
            const int64_t base = (n * channels + c) * spatial;
            T* __restrict dst = masked.data() + n * spatial;
            for (int64_t s = 0; s < spatial; ++s) {
              const T slope = math::activation_slope<Activation::kRelu>(T(0), load(relu_out[base + s]));
              dst[s] = load(grad_out[base + s]) * slope;
            }
          }
          channel_gradients(c, [&](int64_t n) { return static_cast<const T*>(masked.data() + n * spatial); });
        } else {
          channel_gradients(c, [&](int64_t n) { return grad_out + (n * channels + c) * spatial; });
        }
      }
    });
  });
}

void batch_norm_apply(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                      double eps, const void* x, const void* mean, const void* var, const void* gamma, const void* beta,
                      void* y) {
  const int threads = as_cpu(backend).threads();
  apply_batch_norm<false>(threads, dt, param_dt, batch, channels, spatial, eps, x, mean, var, gamma, beta, y);
}

void batch_norm_apply_relu(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                           double eps, const void* x, const void* mean, const void* var, const void* gamma,
                           const void* beta, void* y) {
  const int threads = as_cpu(backend).threads();
  apply_batch_norm<true>(threads, dt, param_dt, batch, channels, spatial, eps, x, mean, var, gamma, beta, y);
}

void batch_norm_backward(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels, int64_t spatial,
                         double eps, bool batch_statistics, const void* x, const void* dy, const void* mean,
                         const void* var, const void* gamma, void* dx, bool accumulate, void* dgamma, void* dbeta) {
  const int threads = as_cpu(backend).threads();
  batch_norm_gradients<false>(threads, dt, param_dt, batch, channels, spatial, eps, batch_statistics, x, nullptr, dy,
                              mean, var, gamma, dx, accumulate, dgamma, dbeta);
}

// One pass fewer than the default: the ReLU's gradient is never stored.
void batch_norm_relu_backward(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels,
                              int64_t spatial, double eps, bool batch_statistics, const void* x, const void* y,
                              const void* dy, void* dz, const void* mean, const void* var, const void* gamma, void* dx,
                              bool accumulate, void* dgamma, void* dbeta) {
  const int threads = as_cpu(backend).threads();
  (void)dz;
  batch_norm_gradients<true>(threads, dt, param_dt, batch, channels, spatial, eps, batch_statistics, x, y, dy, mean,
                             var, gamma, dx, accumulate, dgamma, dbeta);
}

void batch_norm_input_gradient(Backend& backend, DType dt, DType param_dt, int64_t batch, int64_t channels,
                               int64_t spatial, double eps, const void* x, const void* relu_y, const void* dy,
                               const void* mean, const void* var, const void* gamma, const void* sum_dz,
                               const void* sum_dz_xhat, double count, void* dx, bool accumulate) {
  const int threads = as_cpu(backend).threads();
  const GivenSums given{sum_dz, sum_dz_xhat, count};
  if (relu_y)
    batch_norm_gradients<true>(threads, dt, param_dt, batch, channels, spatial, eps, true, x, relu_y, dy, mean, var,
                               gamma, dx, accumulate, nullptr, nullptr, &given);
  else
    batch_norm_gradients<false>(threads, dt, param_dt, batch, channels, spatial, eps, true, x, nullptr, dy, mean, var,
                                gamma, dx, accumulate, nullptr, nullptr, &given);
}

void moving_average(Backend& /*backend*/, DType dt, int64_t n, double momentum, const void* running, const void* value,
                    double value_scale, void* next) {
  dispatch_float(dt, [&](auto tag) {
    using P = decltype(tag);
    const P *old_values = static_cast<const P*>(running), *batch_values = static_cast<const P*>(value);
    P* out = static_cast<P*>(next);
    for (int64_t i = 0; i < n; ++i)
      out[i] = static_cast<P>((1.0 - momentum) * static_cast<double>(old_values[i]) +
                              momentum * value_scale * static_cast<double>(batch_values[i]));
  });
}

void layer_norm_forward(Backend& backend, DType dt, DType param_dt, int64_t rows, int64_t cols, double eps,
                        const void* x, const void* gamma, const void* beta, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    const P *g = static_cast<const P*>(gamma), *b = static_cast<const P*>(beta);
    parallel_for(threads, rows, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t r = begin; r < end; ++r) {
        const S* row = in + r * cols;
        double m, inv_std;
        row_statistics(row, cols, eps, &m, &inv_std);
        for (int64_t j = 0; j < cols; ++j) {
          const double x_hat = (static_cast<double>(load(row[j])) - m) * inv_std;
          out[r * cols + j] =
              store<S>(static_cast<compute_t<S>>(x_hat * static_cast<double>(g[j]) + static_cast<double>(b[j])));
        }
      }
    });
  });
}

void layer_norm_backward(Backend& backend, DType dt, DType param_dt, int64_t rows, int64_t cols, double eps,
                         const void* x, const void* dy, const void* gamma, void* dx, bool accumulate, void* dgamma,
                         void* dbeta) {
  const int threads = as_cpu(backend).threads();
  dispatch_norm(dt, param_dt, [&](auto s_tag, auto p_tag) {
    using S = decltype(s_tag);
    using P = decltype(p_tag);
    const S *in = static_cast<const S*>(x), *grad_out = static_cast<const S*>(dy);
    S* grad_in = static_cast<S*>(dx);
    const P* g = static_cast<const P*>(gamma);
    P *dg = static_cast<P*>(dgamma), *db = static_cast<P*>(dbeta);
    const double n = static_cast<double>(cols);
    // Each row's statistics once, for both passes.
    std::vector<double> row_mean(static_cast<size_t>(rows)), row_inv_std(static_cast<size_t>(rows));
    parallel_for(threads, rows, 16, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t r = begin; r < end; ++r) row_statistics(in + r * cols, cols, eps, &row_mean[r], &row_inv_std[r]);
    });
    // The input gradient is per row (parallel over rows).
    if (grad_in) {
      parallel_for(threads, rows, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        for (int64_t r = begin; r < end; ++r) {
          const double m = row_mean[r], inv_std = row_inv_std[r];
          // dx = inv_std * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)), g_hat = dy * gamma.
          double sum_g = 0, sum_g_xhat = 0;
          for (int64_t j = 0; j < cols; ++j) {
            const double gh = static_cast<double>(load(grad_out[r * cols + j])) * static_cast<double>(g[j]);
            sum_g += gh;
            sum_g_xhat += gh * (static_cast<double>(load(in[r * cols + j])) - m) * inv_std;
          }
          for (int64_t j = 0; j < cols; ++j) {
            const double x_hat = (static_cast<double>(load(in[r * cols + j])) - m) * inv_std;
            const double gh = static_cast<double>(load(grad_out[r * cols + j])) * static_cast<double>(g[j]);
            double v = inv_std * (gh - sum_g / n - x_hat * sum_g_xhat / n);
            if (accumulate) v += static_cast<double>(load(grad_in[r * cols + j]));
            grad_in[r * cols + j] = store<S>(static_cast<compute_t<S>>(v));
          }
        }
      });
    }
    // The parameter gradients sum over rows: each thread owns a block of
    // columns and walks the rows in order (f64 sums, a fixed order, no two
    // threads writing one element).
    parallel_for(threads, cols, 64, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      std::vector<double> sum_dy(static_cast<size_t>(end - begin)), sum_dy_xhat(static_cast<size_t>(end - begin));
      for (int64_t r = 0; r < rows; ++r) {
        const double m = row_mean[r], inv_std = row_inv_std[r];
        for (int64_t j = begin; j < end; ++j) {
          const double d = static_cast<double>(load(grad_out[r * cols + j]));
          sum_dy[j - begin] += d;
          sum_dy_xhat[j - begin] += d * (static_cast<double>(load(in[r * cols + j])) - m) * inv_std;
        }
      }
      for (int64_t j = begin; j < end; ++j) {
        db[j] = static_cast<P>(sum_dy[j - begin]);
        dg[j] = static_cast<P>(sum_dy_xhat[j - begin]);
      }
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::batch_norm_statistics, DeviceKind::kCpu, batch_norm_statistics},
    {kernels::batch_norm_apply, DeviceKind::kCpu, batch_norm_apply},
    {kernels::batch_norm_apply_relu, DeviceKind::kCpu, batch_norm_apply_relu},
    {kernels::batch_norm_backward, DeviceKind::kCpu, batch_norm_backward},
    {kernels::batch_norm_relu_backward, DeviceKind::kCpu, batch_norm_relu_backward},
    {kernels::batch_norm_input_gradient, DeviceKind::kCpu, batch_norm_input_gradient},
    {kernels::moving_average, DeviceKind::kCpu, moving_average},
    {kernels::layer_norm_forward, DeviceKind::kCpu, layer_norm_forward},
    {kernels::layer_norm_backward, DeviceKind::kCpu, layer_norm_backward},
};

}  // namespace tk::cpu
