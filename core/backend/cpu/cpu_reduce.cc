// Reductions over flat buffers. The split into blocks depends only on n, so a
// sum is bit-identical whatever the thread count.
#include <cmath>

#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/cpu/parallel.h"

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
  parallel_for(threads, blocks, 1, [&](int64_t begin, int64_t end) {
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

}  // namespace

double CpuBackend::sum(DType dt, int64_t n, const void* x) {
  double result = 0;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    result = blocked_sum(threads_, n, static_cast<const S*>(x), [](double v) { return v; });
  });
  return result;
}

double CpuBackend::sum_squares(DType dt, int64_t n, const void* x) {
  double result = 0;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    result = blocked_sum(threads_, n, static_cast<const S*>(x), [](double v) { return v * v; });
  });
  return result;
}

bool CpuBackend::all_finite(DType dt, int64_t n, const void* x) {
  // Any Inf or NaN makes the sum of zeros NaN: x - x is 0 only for finite x.
  double result = 0;
  dispatch_storage(dt, [&](auto tag) {
    using S = decltype(tag);
    result = blocked_sum(threads_, n, static_cast<const S*>(x), [](double v) { return v - v; });
  });
  return result == 0.0;
}

void CpuBackend::sum_into(DType dt, int64_t n, const void* x, bool squares, double* out) {
  *out = squares ? sum_squares(dt, n, x) : sum(dt, n, x);
}

}  // namespace tk::cpu
