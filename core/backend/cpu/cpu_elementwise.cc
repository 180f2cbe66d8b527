// Elementwise kernels: activations, add, axpy, dropout.
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/base/rng.h"

namespace tk::cpu {
namespace {

constexpr int64_t kGrain = 16384;

template <typename T>
T activate(Activation act, T x) {
  switch (act) {
    case Activation::kRelu: return x > T(0) ? x : T(0);
    case Activation::kGelu: return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2)));
    case Activation::kTanh: return std::tanh(x);
    case Activation::kSigmoid: return T(1) / (T(1) + std::exp(-x));
  }
  return x;
}

// d(activation)/dx given input x and output y (whichever is cheaper).
template <typename T>
T activation_slope(Activation act, T x, T y) {
  switch (act) {
    case Activation::kRelu: return x > T(0) ? T(1) : T(0);
    case Activation::kGelu: {
      T cdf = T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2)));
      T pdf = std::exp(T(-0.5) * x * x) * T(0.3989422804014327);
      return cdf + x * pdf;
    }
    case Activation::kTanh: return T(1) - y * y;
    case Activation::kSigmoid: return y * (T(1) - y);
  }
  return T(1);
}

}  // namespace

void CpuBackend::activation_forward(DType dt, Activation act, int64_t n, const void* x, void* y) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x);
    T* out = static_cast<T*>(y);
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = activate(act, in[i]);
    });
  });
}

void CpuBackend::activation_backward(DType dt, Activation act, int64_t n, const void* x,
                                     const void* y, const void* dy, void* dx, bool accumulate) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x);
    const T* out = static_cast<const T*>(y);
    const T* grad_out = static_cast<const T*>(dy);
    T* grad_in = static_cast<T*>(dx);
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T g = grad_out[i] * activation_slope(act, in[i], out[i]);
        grad_in[i] = accumulate ? grad_in[i] + g : g;
      }
    });
  });
}

void CpuBackend::add(DType dt, int64_t n, const void* a, const void* b, void* y) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* lhs = static_cast<const T*>(a);
    const T* rhs = static_cast<const T*>(b);
    T* out = static_cast<T*>(y);
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = lhs[i] + rhs[i];
    });
  });
}

void CpuBackend::axpy(DType dt, int64_t n, double alpha, const void* src, void* dst,
                      bool accumulate) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(src);
    T* out = static_cast<T*>(dst);
    const T scale = static_cast<T>(alpha);
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = (accumulate ? out[i] : T(0)) + scale * in[i];
    });
  });
}

void CpuBackend::dropout(DType dt, int64_t n, double p, uint64_t seed, uint64_t stream,
                         const void* x, void* y, bool accumulate) {
  dispatch_float(dt, [&](auto tag) {
    using T = decltype(tag);
    const T* in = static_cast<const T*>(x);
    T* out = static_cast<T*>(y);
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
    parallel_for(threads_, n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        T v = hash_uniform(seed, stream, static_cast<uint64_t>(i)) >= p ? in[i] * keep_scale : T(0);
        out[i] = accumulate ? out[i] + v : v;
      }
    });
  });
}

}  // namespace tk::cpu
