// Softmax and log-softmax on the CPU, one row per iteration: the row's
// maximum, the sum of exponentials around it, then the output.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/backend/cpu/vector_math.h"
#include "core/ops/softmax/softmax_kernels.h"

namespace tk::cpu {
namespace {

void softmax_forward(Backend& backend, DType dt, bool log, int64_t rows, int64_t cols, const void* x, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    parallel_for(threads, rows, std::max<int64_t>(1, 4096 / cols), [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t r = begin; r < end; ++r) {
        const S* in = static_cast<const S*>(x) + r * cols;
        S* out = static_cast<S*>(y) + r * cols;
        T top = -std::numeric_limits<T>::infinity();
        for (int64_t c = 0; c < cols; ++c) top = std::max(top, load(in[c]));
        const T sum = vector_math::sum_exp(in, cols, top);
        if (log) {
          const T lse = top + std::log(sum);
          for (int64_t c = 0; c < cols; ++c) out[c] = store<S>(load(in[c]) - lse);
        } else {
          const T inv = T(1) / sum;
          for (int64_t c = 0; c < cols; ++c) out[c] = store<S>(vector_math::exp_of(load(in[c]) - top) * inv);
        }
      }
    });
  });
}

void softmax_backward(Backend& backend, DType dt, bool log, int64_t rows, int64_t cols, const void* y, const void* dy,
                      void* dx, bool accumulate) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    parallel_for(threads, rows, std::max<int64_t>(1, 4096 / cols), [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t r = begin; r < end; ++r) {
        const S* out = static_cast<const S*>(y) + r * cols;
        const S* g = static_cast<const S*>(dy) + r * cols;
        S* in = static_cast<S*>(dx) + r * cols;
        T sum = 0;  // sum(dy * y), or sum(dy) for log_softmax
        for (int64_t c = 0; c < cols; ++c) sum += log ? load(g[c]) : load(g[c]) * load(out[c]);
        for (int64_t c = 0; c < cols; ++c) {
          const T grad = log ? load(g[c]) - vector_math::exp_of(load(out[c])) * sum : load(out[c]) * (load(g[c]) - sum);
          in[c] = store<S>(accumulate ? load(in[c]) + grad : grad);
        }
      }
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::softmax_forward, DeviceKind::kCpu, softmax_forward},
    {kernels::softmax_backward, DeviceKind::kCpu, softmax_backward},
};

}  // namespace tk::cpu
