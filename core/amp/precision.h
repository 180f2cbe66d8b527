// Automatic mixed precision as a policy: which dtype each kind of buffer is
// stored in and which ops compute in half precision. The plan reads this; ops
// contain no precision branches of their own.
#pragma once

#include <cstdint>

#include "core/base/dtype.h"

namespace tk {

// Values mirror tk_precision in capi/trainkit.h.
enum class Precision : int32_t { kFp32 = 0, kFp16 = 1, kBf16 = 2 };

struct PrecisionPolicy {
  // Master weights, their gradients, optimizer state, losses and reductions.
  DType master = DType::kF32;
  // Activations and their gradients (f16/bf16 under AMP).
  DType activation = DType::kF32;

  bool mixed() const { return activation != master; }
  // The dtype of the weights an op reads: the half copy for an op that
  // computes in half (Op::computes_in_half: Linear, Conv2d) under AMP, else the
  // master weights. Other ops compute in f32 from half storage (softmax,
  // losses, norms, reductions).
  DType param_dtype(bool op_computes_in_half) const { return mixed() && op_computes_in_half ? activation : master; }
};

// fp32 gives master == activation == `master`; fp16/bf16 need an f32 master.
PrecisionPolicy make_precision_policy(Precision precision, DType master);
const char* precision_name(Precision precision);

}  // namespace tk
