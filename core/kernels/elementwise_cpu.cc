// The shared elementwise kernels on the CPU.
#include <cstring>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/kernels/elementwise_kernels.h"
#include "core/kernels/window_range.h"

namespace tk::cpu {
namespace {

constexpr int64_t kGrain = 16384;

void add(Backend& backend, DType dt, int64_t n, const void* a, const void* b, void* y) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    const S* lhs = static_cast<const S*>(a);
    const S* rhs = static_cast<const S*>(b);
    S* out = static_cast<S*>(y);
    parallel_for(threads, n, kGrain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t i = begin; i < end; ++i) out[i] = store<S>(load(lhs[i]) + load(rhs[i]));
    });
  });
}

void axpy(Backend& backend, DType dt, int64_t n, double alpha, const void* src, void* dst, bool accumulate) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    using T = compute_t<S>;
    const S* in = static_cast<const S*>(src);
    S* out = static_cast<S*>(dst);
    const T scale = static_cast<T>(alpha);
    parallel_for(threads, n, kGrain, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
      for (int64_t i = begin; i < end; ++i) out[i] = store<S>((accumulate ? load(out[i]) : T(0)) + scale * load(in[i]));
    });
  });
}

void copy_2d(Backend& backend, DType dt, int64_t rows, int64_t cols, const void* src, int64_t src_stride, void* dst,
             int64_t dst_stride) {
  const size_t elem = dtype_size(dt), row_bytes = static_cast<size_t>(cols) * elem;
  const char* from = static_cast<const char*>(src);
  char* to = static_cast<char*>(dst);
  const int threads = rows * cols < kMinParallelElements ? 1 : as_cpu(backend).threads();
  parallel_for(threads, rows, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
    for (int64_t r = begin; r < end; ++r)
      std::memcpy(to + r * dst_stride * elem, from + r * src_stride * elem, row_bytes);
  });
}

void convert(Backend& backend, DType src_dt, DType dst_dt, int64_t n, const void* src, void* dst) {
  as_cpu(backend).convert(src_dt, dst_dt, n, src, dst);
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::convert, DeviceKind::kCpu, convert},
    {kernels::add, DeviceKind::kCpu, add},
    {kernels::axpy, DeviceKind::kCpu, axpy},
    {kernels::copy_2d, DeviceKind::kCpu, copy_2d},
};

}  // namespace tk::cpu
