// L2 normalization on the CPU, one row per iteration; norms in double.
#include <algorithm>
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/ops/norm/norm_kernels.h"

namespace tk::cpu {
namespace {

template <typename S>
double row_norm(const S* row, int64_t cols) {
  double squares = 0;
  for (int64_t c = 0; c < cols; ++c) squares += static_cast<double>(load(row[c])) * static_cast<double>(load(row[c]));
  return std::sqrt(squares);
}

void l2_normalize_forward(Backend& backend, DType dt, int64_t rows, int64_t cols, double eps, const void* x, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    parallel_for(threads, rows, std::max<int64_t>(1, 4096 / cols), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const S* in = static_cast<const S*>(x) + r * cols;
        S* out = static_cast<S*>(y) + r * cols;
        const T inv = static_cast<T>(1.0 / std::max(row_norm(in, cols), eps));
        for (int64_t c = 0; c < cols; ++c) out[c] = store<S>(load(in[c]) * inv);
      }
    });
  });
}

void l2_normalize_backward(Backend& backend, DType dt, int64_t rows, int64_t cols, double eps, const void* x,
                           const void* y, const void* dy, void* dx, bool accumulate) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    parallel_for(threads, rows, std::max<int64_t>(1, 4096 / cols), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const S* out = static_cast<const S*>(y) + r * cols;
        const S* g = static_cast<const S*>(dy) + r * cols;
        S* in_grad = static_cast<S*>(dx) + r * cols;
        const double norm = row_norm(static_cast<const S*>(x) + r * cols, cols);
        const bool clamped = norm < eps;
        const T inv = static_cast<T>(1.0 / std::max(norm, eps));
        T along = 0;  // y . dy
        if (!clamped)
          for (int64_t c = 0; c < cols; ++c) along += load(out[c]) * load(g[c]);
        for (int64_t c = 0; c < cols; ++c) {
          const T grad = (load(g[c]) - load(out[c]) * along) * inv;
          in_grad[c] = store<S>(accumulate ? load(in_grad[c]) + grad : grad);
        }
      }
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::l2_normalize_forward, DeviceKind::kCpu, l2_normalize_forward},
    {kernels::l2_normalize_backward, DeviceKind::kCpu, l2_normalize_backward},
};

}  // namespace tk::cpu
