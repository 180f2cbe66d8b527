// Kernels of scaled dot-product attention (attention.cc). Per sample, q is
// [seq_q, heads * head_dim] and k, v are [seq_k, heads * head_dim]: head h
// owns columns [h * head_dim, (h + 1) * head_dim), the layout a Linear
// projection gives, so no transposes are needed. out has q's shape.
#pragma once

#include <cstdint>

#include "core/kernels/kernel_table.h"

namespace tk::kernels {

struct AttentionShape {
  int64_t batch, heads, seq_q, seq_k, head_dim;
  double scale;  // multiplies q . k
  bool causal;   // key j is seen by query i only when j <= i (PyTorch's is_causal)
  // The mask holds 1 (attend) and 0 (padding: never seen) rather than
  // values added to the scores; it then has no gradient.
  bool keep_mask;
};

// out = softmax(scale q k^T + mask) v per head. mask (null: none) is
// [batch, seq_k] of dt, added to every query's scores (0 to attend, a large
// negative number to ignore a padding key). logsumexp (batch x heads x
// seq_q, of master_dt; null in inference) keeps each row's log of the
// softmax's sum for backward; a row that sees no key gives zeros.
inline const Kernel<void(DType dt, DType master_dt, const AttentionShape& shape, const void* q, const void* k,
                         const void* v, const void* mask, void* out, void* logsumexp)>
    attention_forward{"attention_forward"};

// Gradients from dout, out and the forward's logsumexp. Null outputs are
// skipped; accumulate[i] adds into dq, dk, dv, dmask (in that order, so they
// may be one buffer when q, k and v are one node).
struct AttentionGradients {
  void* dq;
  void* dk;
  void* dv;
  void* dmask;
  bool accumulate[4];
};
inline const Kernel<void(DType dt, DType master_dt, const AttentionShape& shape, const void* q, const void* k,
                         const void* v, const void* mask, const void* out, const void* dout, const void* logsumexp,
                         const AttentionGradients& grads)>
    attention_backward{"attention_backward"};

}  // namespace tk::kernels
