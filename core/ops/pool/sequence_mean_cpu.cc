// Masked mean pooling over a sequence on the CPU, one sample per iteration.
#include <algorithm>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/ops/pool/pool_kernels.h"

namespace tk::cpu {
namespace {

constexpr double kMinCount = 1e-9;  // sentence-transformers' clamp of the token count

template <typename S>
compute_t<S> mask_at(const void* mask, int64_t i) {
  return mask ? load(static_cast<const S*>(mask)[i]) : compute_t<S>(1);
}

void sequence_mean_forward(Backend& backend, DType dt, int64_t batch, int64_t seq, int64_t dim, const void* x,
                           const void* mask, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    parallel_for(threads, batch, 1, [&](int64_t begin, int64_t end) {
      std::vector<T> sum(dim);
      for (int64_t b = begin; b < end; ++b) {
        std::fill(sum.begin(), sum.end(), T(0));
        T count = 0;
        for (int64_t s = 0; s < seq; ++s) {
          const T m = mask_at<S>(mask, b * seq + s);
          count += m;
          if (m == T(0)) continue;
          const S* row = static_cast<const S*>(x) + (b * seq + s) * dim;
          for (int64_t d = 0; d < dim; ++d) sum[d] += m * load(row[d]);
        }
        const T inv = T(1) / std::max(count, static_cast<T>(kMinCount));
        S* out = static_cast<S*>(y) + b * dim;
        for (int64_t d = 0; d < dim; ++d) out[d] = store<S>(sum[d] * inv);
      }
    });
  });
}

void sequence_mean_backward(Backend& backend, DType dt, int64_t batch, int64_t seq, int64_t dim, const void* x,
                            const void* mask, const void* y, const void* dy, void* dx, bool accumulate_dx, void* dmask,
                            bool accumulate_dmask) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    parallel_for(threads, batch, 1, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        T count = 0;
        for (int64_t s = 0; s < seq; ++s) count += mask_at<S>(mask, b * seq + s);
        const bool clamped = count < static_cast<T>(kMinCount);
        const T inv = T(1) / std::max(count, static_cast<T>(kMinCount));
        const S* g = static_cast<const S*>(dy) + b * dim;
        for (int64_t s = 0; s < seq; ++s) {
          const T m = mask_at<S>(mask, b * seq + s);
          const S* row = static_cast<const S*>(x) + (b * seq + s) * dim;
          if (dx) {
            S* out = static_cast<S*>(dx) + (b * seq + s) * dim;
            for (int64_t d = 0; d < dim; ++d) {
              const T grad = m * inv * load(g[d]);
              out[d] = store<S>(accumulate_dx ? load(out[d]) + grad : grad);
            }
          }
          if (dmask) {
            // d y / d m_s = (x_s - y) / count (x_s / clamp once clamped).
            const S* pooled = static_cast<const S*>(y) + b * dim;
            T grad = 0;
            for (int64_t d = 0; d < dim; ++d)
              grad += load(g[d]) * (load(row[d]) - (clamped ? T(0) : load(pooled[d])));
            grad *= inv;
            S* out = static_cast<S*>(dmask) + b * seq + s;
            *out = store<S>(accumulate_dmask ? load(*out) + grad : grad);
          }
        }
      }
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::sequence_mean_forward, DeviceKind::kCpu, sequence_mean_forward},
    {kernels::sequence_mean_backward, DeviceKind::kCpu, sequence_mean_backward},
};

}  // namespace tk::cpu
