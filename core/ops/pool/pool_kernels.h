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

}  // namespace kernels
}  // namespace tk
