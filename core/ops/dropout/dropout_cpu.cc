// Dropout on the CPU: the mask bit of each run of `block` elements is
// math::dropout_factor, as on the GPU.

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/ops/dropout/dropout_kernels.h"

namespace tk::cpu {
namespace {

constexpr int64_t kGrain = 16384;

void dropout(Backend& backend, DType dt, int64_t n, int64_t block, double p, uint64_t seed, uint64_t stream,
             const void* x, void* y, bool accumulate) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(x);
    S* out = static_cast<S*>(y);
    const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
    parallel_for(threads, n, kGrain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t i = begin; i < end; ++i) {
        T v = load(in[i]) * math::dropout_factor(p, seed, stream, i, block, keep_scale);
        out[i] = store<S>(accumulate ? load(out[i]) + v : v);
      }
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::dropout, DeviceKind::kCpu, dropout},
};

}  // namespace tk::cpu
