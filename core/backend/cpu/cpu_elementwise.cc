// Elementwise kernels: activations, add, axpy, dropout. Each runs over one
// storage type S and computes in compute_t<S> (f32 for half storage).
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/backend/elementwise_math.h"
#include "core/base/rng.h"

namespace tk::cpu {
namespace {

constexpr int64_t kGrain = 16384;

template <Activation A, typename S>
void activation_forward_range(int64_t begin, int64_t end, const S* __restrict x, S* __restrict y) {
  for (int64_t i = begin; i < end; ++i) y[i] = store<S>(math::activate<A>(load(x[i])));
}

template <Activation A, typename S>
void activation_backward_range(int64_t begin, int64_t end, const S* __restrict x, const S* __restrict y,
                               const S* __restrict dy, S* __restrict dx, bool accumulate) {
  using T = compute_t<S>;
  for (int64_t i = begin; i < end; ++i) {
    T g = load(dy[i]) * math::activation_slope<A>(load(x[i]), load(y[i]));
    dx[i] = store<S>(accumulate ? load(dx[i]) + g : g);
  }
}

}  // namespace

void CpuBackend::activation_forward(DType dt, Activation act, int64_t n, const void* x, void* y) {
  dispatch_storage(dt, [&](auto tag) {
    math::dispatch_activation(act, [&](auto kind) {
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
    math::dispatch_activation(act, [&](auto kind) {
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

void CpuBackend::dropout(DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream, const void* x, void* y,
                         bool accumulate) {
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T v = load(in[i]) * math::dropout_factor(p, seed, stream, i, block, keep_scale);
        out[i] = store<S>(accumulate ? load(out[i]) + v : v);
      }
    });
  });
}

}  // namespace tk::cpu
