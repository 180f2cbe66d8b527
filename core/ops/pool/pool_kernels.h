// The pooling kernels (pool2d.cc, global_avg_pool.cc).
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"
#include "core/base/window2d.h"

namespace tk {

enum class Pool { kMax, kAverage };

namespace kernels {

// Pooling over `planes` planes of height x width (kernel windows, padding
// ignored by max and counted as zeros by average, as PyTorch's defaults).
inline const Kernel<void(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, void* y)>
    pool2d_forward{"pool2d_forward"};
inline const Kernel<void(DType dt, Pool pool, int64_t planes, const Window2d& w, const void* x, const void* dy,
                         void* dx, bool accumulate)>
    pool2d_backward{"pool2d_backward"};

// Mean over the seq axis of [batch, seq, dim], weighted by mask [batch, seq]
// (null: every position 1): y = sum_s m_s x_s / max(sum_s m_s, 1e-9), as
// sentence-transformers pools a sentence's tokens.
inline const Kernel<void(DType dt, int64_t batch, int64_t seq, int64_t dim, const void* x, const void* mask, void* y)>
    sequence_mean_forward{"sequence_mean_forward"};
// dx (and dmask, when not null) from dy; accumulate: add into dx, dmask.
inline const Kernel<void(DType dt, int64_t batch, int64_t seq, int64_t dim, const void* x, const void* mask,
                         const void* y, const void* dy, void* dx, bool accumulate_dx, void* dmask,
                         bool accumulate_dmask)>
    sequence_mean_backward{"sequence_mean_backward"};

}  // namespace kernels
}  // namespace tk
