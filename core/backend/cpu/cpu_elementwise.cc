// Elementwise kernels: activations, add, axpy, dropout. Each runs over one
// storage type S and computes in compute_t<S> (f32 for half storage).
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/base/rng.h"

namespace tk::cpu {
namespace {

constexpr int64_t kGrain = 16384;

template <Activation A, typename T>
T activate(T x) {
  if constexpr (A == Activation::kRelu) return x > T(0) ? x : T(0);
  if constexpr (A == Activation::kGelu) return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2)));
  if constexpr (A == Activation::kTanh) return std::tanh(x);
  if constexpr (A == Activation::kSigmoid) return T(1) / (T(1) + std::exp(-x));
}

// d(activation)/dx given input x and output y (whichever is cheaper).
template <Activation A, typename T>
T activation_slope(T x, T y) {
  if constexpr (A == Activation::kRelu) return x > T(0) ? T(1) : T(0);
  if constexpr (A == Activation::kGelu) {
    T cdf = T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
    T pdf = std::exp(T(-0.5) * x * x) * T(0.3989422804014327);
    return cdf + x * pdf;
  }
  if constexpr (A == Activation::kTanh) return T(1) - y * y;
  if constexpr (A == Activation::kSigmoid) return y * (T(1) - y);
}

// Calls fn(std::integral_constant<Activation, A>) so loops specialize per activation.
template <typename Fn>
void dispatch_activation(Activation act, const Fn& fn) {
  switch (act) {
    case Activation::kRelu: fn(std::integral_constant<Activation, Activation::kRelu>{}); return;
    case Activation::kGelu: fn(std::integral_constant<Activation, Activation::kGelu>{}); return;
    case Activation::kTanh: fn(std::integral_constant<Activation, Activation::kTanh>{}); return;
    case Activation::kSigmoid: fn(std::integral_constant<Activation, Activation::kSigmoid>{}); return;
  }
}

template <Activation A, typename S>
void activation_forward_range(int64_t begin, int64_t end, const S* __restrict x, S* __restrict y) {
  for (int64_t i = begin; i < end; ++i) y[i] = store<S>(activate<A>(load(x[i])));
}

template <Activation A, typename S>
void activation_backward_range(int64_t begin, int64_t end, const S* __restrict x, const S* __restrict y,
                               const S* __restrict dy, S* __restrict dx, bool accumulate) {
  using T = compute_t<S>;
  for (int64_t i = begin; i < end; ++i) {
    T g = load(dy[i]) * activation_slope<A>(load(x[i]), load(y[i]));
    dx[i] = store<S>(accumulate ? load(dx[i]) + g : g);
  }
}

}  // namespace

void CpuBackend::activation_forward(DType dt, Activation act, int64_t n, const void* x, void* y) {
  dispatch_storage(dt, [&](auto tag) {
    dispatch_activation(act, [&](auto kind) {
      using S = decltype(tag);
      parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
        activation_forward_range<decltype(kind)::value>(begin, end, static_cast<const S*>(x), static_cast<S*>(y));
      });
    });
  });
}

void CpuBackend::activation_backward(DType dt, Activation act, int64_t n, const void* x, const void* y,
                                     const void* dy, void* dx, bool accumulate) {
  dispatch_storage(dt, [&](auto tag) {
    dispatch_activation(act, [&](auto kind) {
      using S = decltype(tag);
      parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
        activation_backward_range<decltype(kind)::value>(begin, end, static_cast<const S*>(x),
                                                         static_cast<const S*>(y), static_cast<const S*>(dy),
                                                         static_cast<S*>(dx), accumulate);
      });
    });
  });
}

void CpuBackend::add(DType dt, int64_t n, const void* a, const void* b, void* y) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    const S* lhs = static_cast<const S*>(a);
    const S* rhs = static_cast<const S*>(b);
    S* out = static_cast<S*>(y);
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = store<S>(load(lhs[i]) + load(rhs[i]));
    });
  });
}

void CpuBackend::axpy(DType dt, int64_t n, double alpha, const void* src, void* dst, bool accumulate) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(src);
    S* out = static_cast<S*>(dst);
    const T scale = static_cast<T>(alpha);
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = store<S>((accumulate ? load(out[i]) : T(0)) + scale * load(in[i]));
    });
  });
}

void CpuBackend::dropout(DType dt, int64_t n, double p, uint64_t seed, uint64_t stream, const void* x, void* y,
                         bool accumulate) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T v = hash_uniform(seed, stream, static_cast<uint64_t>(i)) >= p ? load(in[i]) * keep_scale : T(0);
        out[i] = store<S>(accumulate ? load(out[i]) + v : v);
      }
    });
  });
}

}  // namespace tk::cpu
