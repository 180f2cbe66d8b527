// The shared reductions on the CPU. The split into blocks depends only on n,
// so a sum is bit-identical whatever the thread count; column and channel sums
// run each sum in order on one thread.
#include <algorithm>
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"
#include "core/kernels/reduce_kernels.h"

namespace tk::cpu {
namespace {

constexpr int64_t kMaxBlocks = 256;
constexpr int64_t kMinBlock = 4096;

template <typename S, typename Term>
double blocked_sum(int threads, int64_t n, const S* x, const Term& term) {
  if (n <= 0) return 0.0;
  int64_t blocks = (n + kMinBlock - 1) / kMinBlock;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  int64_t block_size = (n + blocks - 1) / blocks;
  double partial[kMaxBlocks];
  parallel_for(threads, blocks, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
    for (int64_t b = begin; b < end; ++b) {
      // Eight independent lanes in a fixed pattern: vectorizable, and still
      // the same order of additions for a given n.
      double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const int64_t start = b * block_size;
      const int64_t stop = (b + 1) * block_size < n ? (b + 1) * block_size : n;
      int64_t i = start;
      for (; i + 8 <= stop; i += 8)
        for (int lane = 0; lane < 8; ++lane) lanes[lane] += term(static_cast<double>(load(x[i + lane])));
      for (; i < stop; ++i) lanes[0] += term(static_cast<double>(load(x[i])));
      partial[b] = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    }
  });
  double total = 0;
  for (int64_t b = 0; b < blocks; ++b) total += partial[b];
  return total;
}

double sum(Backend& backend, DType dt, int64_t n, const void* x) {
  const int threads = as_cpu(backend).threads();
  double result = 0;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    result = blocked_sum(threads, n, static_cast<const S*>(x), [](double v) { return v; });
  });
  return result;
}

double sum_squares(Backend& backend, DType dt, int64_t n, const void* x) {
  const int threads = as_cpu(backend).threads();
  double result = 0;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    result = blocked_sum(threads, n, static_cast<const S*>(x), [](double v) { return v * v; });
  });
  return result;
}

bool all_finite(Backend& backend, DType dt, int64_t n, const void* x) {
  const int threads = as_cpu(backend).threads();
  // Any Inf or NaN makes the sum of zeros NaN: x - x is 0 only for finite x.
  double result = 0;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    result = blocked_sum(threads, n, static_cast<const S*>(x), [](double v) { return v - v; });
  });
  return result == 0.0;
}

void sum_into(Backend& backend, DType dt, int64_t n, const void* x, bool squares, double* out) {
  *out = squares ? sum_squares(backend, dt, n, x) : sum(backend, dt, n, x);
}

void column_sum(Backend& backend, DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                bool accumulate) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(x_dt, [&](auto x_tag) {
    dispatch_storage(out_dt, [&](auto o_tag) {
      using S = decltype(x_tag);
      using O = decltype(o_tag);
      using T = compute_t<O>;
      const S* in = static_cast<const S*>(x);
      O* sums = static_cast<O*>(out);
      // Split over columns so each sum runs rows in order: deterministic. A
      // band of columns is summed a row at a time (contiguous reads, one SIMD
      // add per band of lanes), not a column at a time down the rows.
      constexpr int64_t kBand = 256;
      parallel_for(threads, cols, 64, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        T totals[kBand];
        for (int64_t band = begin; band < end; band += kBand) {
          const int64_t width = std::min(kBand, end - band);
          for (int64_t j = 0; j < width; ++j) totals[j] = accumulate ? load(sums[band + j]) : T(0);
          for (int64_t r = 0; r < rows; ++r) {
            const S* row = in + r * cols + band;
            for (int64_t j = 0; j < width; ++j) totals[j] += static_cast<T>(load(row[j]));
          }
          for (int64_t j = 0; j < width; ++j) sums[band + j] = store<O>(totals[j]);
        }
      });
    });
  });
}

void channel_sum(Backend& backend, DType x_dt, DType out_dt, int64_t batch, int64_t channels, int64_t spatial,
                 const void* x, void* out, bool accumulate) {
  const int threads = as_cpu(backend).threads();
  dispatch_storage(x_dt, [&](auto x_tag) {
    dispatch_storage(out_dt, [&](auto o_tag) {
      using S = decltype(x_tag);
      using O = decltype(o_tag);
      using T = compute_t<O>;
      const S* in = static_cast<const S*>(x);
      O* sums = static_cast<O*>(out);
      parallel_for(threads, channels, 1, [&](int64_t begin, int64_t end) TK_CPU_CLONES {
        for (int64_t c = begin; c < end; ++c) {
          T total = accumulate ? load(sums[c]) : T(0);
          for (int64_t n = 0; n < batch; ++n)
            for (int64_t s = 0; s < spatial; ++s) total += static_cast<T>(load(in[(n * channels + c) * spatial + s]));
          sums[c] = store<O>(total);
        }
      });
    });
  });
}

}  // namespace

const KernelRegistration kRegistrations[] = {
    {kernels::sum, DeviceKind::kCpu, sum},
    {kernels::sum_squares, DeviceKind::kCpu, sum_squares},
    {kernels::all_finite, DeviceKind::kCpu, all_finite},
    {kernels::sum_into, DeviceKind::kCpu, sum_into},
    {kernels::column_sum, DeviceKind::kCpu, column_sum},
    {kernels::channel_sum, DeviceKind::kCpu, channel_sum},
};

}  // namespace tk::cpu
