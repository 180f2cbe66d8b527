// Elementwise kernels. The activation and dropout math is the CPU backend's
// own (core/backend/elementwise_math.h).
#include "core/backend/cuda/cuda_common.cuh"
#include "core/backend/cuda/kernels.h"
#include "core/backend/elementwise_math.h"

namespace tk::cuda {
namespace {

template <typename From, typename To>
__global__ void convert_kernel(int64_t n, const From* src, To* dst) {
  TK_GRID_STRIDE(i, n) { dst[i] = store<To>(static_cast<double>(load(src[i]))); }
}

// fn(S{}) for every dtype a conversion reads or writes.
template <typename Fn>
void dispatch_any(DType dt, const Fn& fn) {
  switch (dt) {
    case DType::kI32: fn(int32_t{}); return;
    case DType::kU8: fn(uint8_t{}); return;
    default: dispatch_storage(dt, fn);
  }
}

template <Activation A, typename S>
__global__ void activation_forward_kernel(int64_t n, const S* x, S* y) {
  TK_GRID_STRIDE(i, n) { y[i] = store<S>(math::activate<A>(load(x[i]))); }
}

template <Activation A, typename S>
__global__ void activation_backward_kernel(int64_t n, const S* x, const S* y, const S* dy, S* dx, bool accumulate) {
  using T = compute_t<S>;
  TK_GRID_STRIDE(i, n) {
    const T g = load(dy[i]) * math::activation_slope<A>(load(x[i]), load(y[i]));
    dx[i] = store<S>(accumulate ? load(dx[i]) + g : g);
  }
}

template <typename S>
__global__ void add_kernel(int64_t n, const S* a, const S* b, S* y) {
  TK_GRID_STRIDE(i, n) { y[i] = store<S>(load(a[i]) + load(b[i])); }
}

template <typename S>
__global__ void axpy_kernel(int64_t n, compute_t<S> alpha, const S* src, S* dst, bool accumulate) {
  using T = compute_t<S>;
  TK_GRID_STRIDE(i, n) { dst[i] = store<S>((accumulate ? load(dst[i]) : T(0)) + alpha * load(src[i])); }
}

template <typename S>
__global__ void dropout_kernel(int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream,
                               compute_t<S> keep_scale, const S* x, S* y, bool accumulate) {
  TK_GRID_STRIDE(i, n) {
    const compute_t<S> v = load(x[i]) * math::dropout_factor(p, seed, stream, i, block, keep_scale);
    y[i] = store<S>(accumulate ? load(y[i]) + v : v);
  }
}

// y[i] += bias[(i / inner) % period]: Linear's bias (inner 1) and a channel's (inner = spatial).
template <typename S, typename B>
__global__ void bias_kernel(int64_t n, int64_t inner, int64_t period, const B* bias, S* y) {
  TK_GRID_STRIDE(i, n) { y[i] = store<S>(load(y[i]) + static_cast<compute_t<S>>(load(bias[(i / inner) % period]))); }
}

template <typename T>
__global__ void moving_average_kernel(int64_t n, double momentum, const T* running, const T* value,
                                      double value_scale, T* next) {
  TK_GRID_STRIDE(i, n) {
    next[i] = static_cast<T>((1.0 - momentum) * static_cast<double>(running[i]) +
                             momentum * value_scale * static_cast<double>(value[i]));
  }
}

void bias(cudaStream_t s, DType y_dt, DType bias_dt, int64_t n, int64_t inner, int64_t period, const void* b,
          void* y) {
  dispatch_storage(y_dt, [&](auto y_tag) {
    dispatch_storage(bias_dt, [&](auto b_tag) {
      using S = decltype(y_tag);
      using B = decltype(b_tag);
      bias_kernel<S, B><<<blocks_for(n), kThreads, 0, s>>>(n, inner, period, static_cast<const B*>(b),
                                                            static_cast<S*>(y));
    });
  });
  check_launch("bias_add");
}

}  // namespace

void convert(cudaStream_t s, DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst) {
  if (n <= 0) return;
  dispatch_any(src_dt, [&](auto from) {
    dispatch_any(dst_dt, [&](auto to) {
      using From = decltype(from);
      using To = decltype(to);
      convert_kernel<From, To><<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const From*>(src),
                                                                   static_cast<To*>(dst));
    });
  });
  check_launch("convert");
}

void activation_forward(cudaStream_t s, DType dt, Activation act, int64_t n, const void* x, void* y) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    math::dispatch_activation(act, [&](auto kind) {
      using S = decltype(tag);
      activation_forward_kernel<decltype(kind)::value, S>
          <<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const S*>(x), static_cast<S*>(y));
    });
  });
  check_launch("activation_forward");
}

void activation_backward(cudaStream_t s, DType dt, Activation act, int64_t n, const void* x, const void* y,
                         const void* dy, void* dx, bool accumulate) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    math::dispatch_activation(act, [&](auto kind) {
      using S = decltype(tag);
      activation_backward_kernel<decltype(kind)::value, S><<<blocks_for(n), kThreads, 0, s>>>(
          n, static_cast<const S*>(x), static_cast<const S*>(y), static_cast<const S*>(dy), static_cast<S*>(dx),
          accumulate);
    });
  });
  check_launch("activation_backward");
}

void add(cudaStream_t s, DType dt, int64_t n, const void* a, const void* b, void* y) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    add_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<const S*>(a), static_cast<const S*>(b),
                                                      static_cast<S*>(y));
  });
  check_launch("add");
}

void axpy(cudaStream_t s, DType dt, int64_t n, double alpha, const void* src, void* dst, bool accumulate) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    axpy_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(n, static_cast<compute_t<S>>(alpha),
                                                       static_cast<const S*>(src), static_cast<S*>(dst), accumulate);
  });
  check_launch("axpy");
}

void dropout(cudaStream_t s, DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream,
             const void* x, void* y, bool accumulate) {
  if (n <= 0) return;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    dropout_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(n, block, p, seed, stream,
                                                          static_cast<compute_t<S>>(1.0 / (1.0 - p)),
                                                          static_cast<const S*>(x), static_cast<S*>(y), accumulate);
  });
  check_launch("dropout");
}

void bias_add(cudaStream_t s, DType y_dt, DType bias_dt, int64_t rows, int64_t cols, const void* b, void* y) {
  if (rows * cols > 0) bias(s, y_dt, bias_dt, rows * cols, 1, cols, b, y);
}

void channel_bias_add(cudaStream_t s, DType y_dt, DType bias_dt, int64_t batch, int64_t channels, int64_t spatial,
                      const void* b, void* y) {
  if (batch * channels * spatial > 0) bias(s, y_dt, bias_dt, batch * channels * spatial, spatial, channels, b, y);
}

void moving_average(cudaStream_t s, DType dt, int64_t n, double momentum, const void* running, const void* value,
                    double value_scale, void* next) {
  if (n <= 0) return;
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    moving_average_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(n, momentum, static_cast<const T*>(running),
                                                                 static_cast<const T*>(value), value_scale,
                                                                 static_cast<T*>(next));
  });
  check_launch("moving_average");
}

}  // namespace tk::cuda
