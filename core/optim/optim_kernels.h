// The optimizers' fused update kernels over flat f32/f64 buffers, and the
// step decision they read when a step is decided on the device.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/backend/step_control.h"
#include "core/kernels/kernel_table.h"

namespace tk {

// What an optimizer update takes per step: host values, or, with `control`
// set, those of a step decided on the device (which also skips the update
// unless that step was applied).
struct UpdateStep {
  double grad_scale = 1;  // gradients are multiplied by this first (clipping, unscaling)
  double lr = 0;
  int64_t step = 1;  // 1-based optimizer step (Adam's bias correction, SGD's first step)
  const StepControl* control = nullptr;
};

// The half-precision copy of the weights that an optimizer update also writes
// (mixed precision: the weights half-precision ops read); none when data is null.
struct HalfCopy {
  void* data = nullptr;
  DType dtype = DType::kF16;
};

namespace kernels {

// Grads are multiplied by the step's grad_scale on the fly (gradient clipping
// and loss-scale unscaling), and the updated weights are also written to
// `half`, if set.
inline const Kernel<void(DType dt, int64_t n, void* params, const void* grads, void* momentum_buf,
                         const UpdateStep& step, double momentum, double weight_decay, bool nesterov,
                         const HalfCopy& half)>
    sgd_update{"sgd_update"};
inline const Kernel<void(DType dt, int64_t n, void* params, const void* grads, void* m, void* v, const UpdateStep& step,
                         double beta1, double beta2, double eps, double weight_decay, bool decoupled_weight_decay,
                         const HalfCopy& half)>
    adam_update{"adam_update"};

// Steps decided on the device (core/backend/step_control.h); `control` is
// backend memory. decide_step applies the rules to this step's sums.
inline const Kernel<void(StepControl* control, const StepRules& rules)> decide_step{"decide_step"};
// dst = src if the decided step was applied (running statistics' commit).
inline const Kernel<void(const StepControl* control, void* dst, const void* src, size_t bytes)> copy_if_applied{
    "copy_if_applied"};

}  // namespace kernels
}  // namespace tk
