// The decision of a training step: apply or skip, gradient norm, clip,
// learning rate, loss scale and counters, written once for the host and the
// device. The loss scaler's state, the step counters and what each step
// decides live in one StepControl. A step decided on the device keeps it in
// backend memory, so a whole step (forward, backward, the decision, the
// update) runs without the host waiting for the device, and can be recorded
// once and replayed (CUDA graphs); a step decided on the host fills the same
// inputs on the host and calls the same function (core/api/trainer.cc).
#pragma once

#include <float.h>
#include <math.h>

#include <cstdint>

#include "core/base/host_device.h"

namespace tk {

struct StepControl {
  // Carried from step to step.
  double loss_scale = 1;        // an f32 value, as PyTorch's GradScaler keeps it
  int64_t growth_tracker = 0;   // clean steps since the scale last changed
  int64_t optimizer_steps = 0;
  int64_t micro_steps = 0;      // accepted micro-batches
  int64_t skipped_steps = 0;
  int64_t halted = 0;           // 1 once a step failed: later steps change nothing
  double failed_loss = 0;       // the failed step's loss, for its error message
  // This step's sums, written by reductions on the device (or by the host).
  double loss_sum = 0;          // of the rows' losses
  double grad_sum_squares = 0;  // of the (scaled) gradients
  // This step's decision, read by the optimizer update and reported.
  int64_t applied = 0;
  double used_scale = 1;        // the scale this step's backward used
  double grad_norm = 0;         // unscaled
  double learning_rate = 0;
  double update_grad_scale = 0;  // what the update multiplies gradients by (clip / scale)
  int64_t update_step = 0;       // the update's 1-based optimizer step
  // Gradient accumulation (host-decided steps; on the device a window is one
  // micro-batch). Last, so the device's fields keep their places.
  int64_t accumulated_count = 0;  // carried: micro-batches summed into the window so far
  int64_t accepted = 0;           // decided: this micro-batch is kept (applied, or summed into the window)
};

// Learning-rate schedules (values mirror ScheduleKind, core/optim/schedule.h).
struct ScheduleRules {
  int32_t kind = 0;  // 0 constant, 1 step, 2 cosine
  int64_t warmup_steps = 0, step_size = 1, total_steps = 0;
  double gamma = 0.1, min_lr = 0, base_lr = 0.01;
};

// The learning rate of optimizer step `step` (0-based).
TK_HOST_DEVICE inline double scheduled_rate(const ScheduleRules& s, int64_t step) {
  if (step < s.warmup_steps) return s.base_lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  const int64_t t = step - s.warmup_steps;
  if (s.kind == 1) return s.base_lr * pow(s.gamma, static_cast<double>(t / s.step_size));
  if (s.kind == 2) {
    const double span = static_cast<double>(s.total_steps - s.warmup_steps);
    const double progress = fmin(static_cast<double>(t), span) / span;
    return s.min_lr + (s.base_lr - s.min_lr) * 0.5 * (1.0 + cos(3.14159265358979323846 * progress));
  }
  return s.base_lr;
}

// Dynamic loss scaling (GradScaler semantics, in f32 as PyTorch computes it).
struct ScalerRules {
  bool enabled = false;
  double growth_factor = 2, backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

// After an overflow: back off, but never below the smallest normal float, so
// data that overflows every step cannot drive the scale to 0.
TK_HOST_DEVICE inline void scaler_back_off(const ScalerRules& r, float* scale, int64_t* tracker) {
  const float lowered = static_cast<float>(*scale * r.backoff_factor);
  *scale = lowered > FLT_MIN ? lowered : FLT_MIN;
  *tracker = 0;
}

// After a clean step: grow every growth_interval steps, unless that overflows.
TK_HOST_DEVICE inline void scaler_note_success(const ScalerRules& r, float* scale, int64_t* tracker) {
  const int64_t successful = *tracker + 1;
  if (successful == r.growth_interval) {
    const float grown = static_cast<float>(*scale * r.growth_factor);
    if (isfinite(grown)) *scale = grown;
    *tracker = 0;
  } else {
    *tracker = successful;
  }
}

struct StepRules {
  ScalerRules scaler;
  bool skip_nonfinite = false;  // NonFinitePolicy::kSkip; else a non-finite step halts
  double clip_norm = 0;         // 0: no clipping
  ScheduleRules schedule;
  double loss_divisor = 1;      // the batch's mean count (the loss is loss_sum / loss_divisor)
  int64_t accumulation_steps = 1;  // micro-batches per optimizer step
};

// Whether a step is finite, from its sums alone. A finite sum of squares of
// f32 gradients proves every one finite (f32's largest square times 2^63
// still fits in f64).
TK_HOST_DEVICE inline bool sums_finite(const StepControl& c) {
  return isfinite(c.loss_sum) && isfinite(c.grad_sum_squares);
}

// Decides one step, given whether its loss and gradients are finite: a
// non-finite step is skipped (backing the loss scale off) or halts; a finite
// one is kept, and the last micro-batch of a window is applied. The host
// passes its own verdict (agreed across replicas, or checked element by
// element where f64 squares overflow); the device's comes from the sums.
TK_HOST_DEVICE inline void decide_step(StepControl& c, const StepRules& r, bool finite) {
  c.used_scale = c.loss_scale;
  c.applied = 0;
  c.accepted = 0;
  if (c.halted) return;
  if (!finite) {
    if (r.scaler.enabled || r.skip_nonfinite) {
      if (r.scaler.enabled) {
        float scale = static_cast<float>(c.loss_scale);
        scaler_back_off(r.scaler, &scale, &c.growth_tracker);
        c.loss_scale = scale;
        // Micro-batches already summed carry the old scale; mixing them with
        // the new one would be wrong, so the whole window goes.
        c.accumulated_count = 0;
      }
      ++c.skipped_steps;
    } else {
      c.halted = 1;
      c.failed_loss = c.loss_sum / r.loss_divisor;
    }
    return;
  }
  c.accepted = 1;
  ++c.micro_steps;
  if (++c.accumulated_count < r.accumulation_steps) return;
  c.accumulated_count = 0;
  c.applied = 1;
  c.grad_norm = sqrt(c.grad_sum_squares) / c.used_scale;
  double clip = 1.0;
  if (r.clip_norm > 0 && c.grad_norm > r.clip_norm) clip = r.clip_norm / (c.grad_norm + 1e-6);  // as clip_grad_norm_
  c.learning_rate = scheduled_rate(r.schedule, c.optimizer_steps);
  c.update_grad_scale = clip / c.used_scale;
  c.update_step = c.optimizer_steps + 1;
  ++c.optimizer_steps;
  if (r.scaler.enabled) {
    float scale = static_cast<float>(c.loss_scale);
    scaler_note_success(r.scaler, &scale, &c.growth_tracker);
    c.loss_scale = scale;
  }
}

// The device's use: the verdict from the sums the device wrote.
TK_HOST_DEVICE inline void decide_step(StepControl& c, const StepRules& r) { decide_step(c, r, sums_finite(c)); }

}  // namespace tk
