// Kernels of the embedding family (embedding.cc, positions.cc). Rows of
// int32 indices pick rows of a table; their gradient adds each output row's
// gradient into the row it came from.
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"

namespace tk::kernels {

// out[r, :] = table[ids[r], :] for r < rows; out of activation dtype `dt`,
// the table of `param_dt`.
inline const Kernel<void(DType dt, DType param_dt, int64_t rows, int64_t dim, const int32_t* ids, const void* table,
                         void* out)>
    embedding_forward{"embedding_forward"};
// dtable (vocab x dim, of `grad_dt`) = sum over r of dout[r, :] into row
// ids[r], every other row zero; rows whose index is `padding` (-1: none) add nothing.
inline const Kernel<void(DType dt, DType grad_dt, int64_t rows, int64_t dim, int64_t vocab, int64_t padding,
                         const int32_t* ids, const void* dout, void* dtable)>
    embedding_backward{"embedding_backward"};

// y[b, s, :] = x[b, s, :] + p[s, :] over batch x seq rows of dim: p is the
// first seq rows of `table` (of param_dt), or the sinusoidal encoding of
// "Attention Is All You Need" when table is null.
inline const Kernel<void(DType dt, DType param_dt, int64_t batch, int64_t seq, int64_t dim, const void* x,
                         const void* table, void* y)>
    positions_forward{"positions_forward"};
// dtable's first seq rows = the sum of dy over the batch, the rest zero (of grad_dt).
inline const Kernel<void(DType dt, DType grad_dt, int64_t batch, int64_t seq, int64_t dim, int64_t table_rows,
                         const void* dy, void* dtable)>
    positions_table_backward{"positions_table_backward"};

}  // namespace tk::kernels
