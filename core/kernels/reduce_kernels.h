// Reductions several op families and the trainer share. Each is
// deterministic for a given n, whatever the thread count.
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"

namespace tk::kernels {

inline const Kernel<double(DType dt, int64_t n, const void* x)> sum{"sum"};
inline const Kernel<double(DType dt, int64_t n, const void* x)> sum_squares{"sum_squares"};
inline const Kernel<bool(DType dt, int64_t n, const void* x)> all_finite{"all_finite"};
// The sum (or sum of squares) written to `out` in backend memory, without waiting.
inline const Kernel<void(DType dt, int64_t n, const void* x, bool squares, double* out)> sum_into{"sum_into"};
// out[c] = (accumulate ? out[c] : 0) + sum_r x[r, c]
inline const Kernel<void(DType x_dt, DType out_dt, int64_t rows, int64_t cols, const void* x, void* out,
                         bool accumulate)>
    column_sum{"column_sum"};
// out[c] = (accumulate ? out[c] : 0) + sum over n, s of x[n, c, s], over [batch, channels, spatial].
inline const Kernel<void(DType x_dt, DType out_dt, int64_t batch, int64_t channels, int64_t spatial, const void* x,
                         void* out, bool accumulate)>
    channel_sum{"channel_sum"};

// The same sums queued, so that a training step waits for the device once:
// each returns a ticket into Backend::read_queued().
inline int queue_sum_into(Backend& backend, DType dt, int64_t n, const void* x, bool squares) {
  double* slot = nullptr;
  const int ticket = backend.queue_result(&slot);
  sum_into(backend, dt, n, x, squares, slot);
  return ticket;
}
inline int queue_sum(Backend& backend, DType dt, int64_t n, const void* x) {
  return queue_sum_into(backend, dt, n, x, false);
}
inline int queue_sum_squares(Backend& backend, DType dt, int64_t n, const void* x) {
  return queue_sum_into(backend, dt, n, x, true);
}

}  // namespace tk::kernels
