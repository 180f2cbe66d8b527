// An optimizer update that never leaves a weight or a moment non-finite: a
// step whose update would (a learning rate of 1e38, weights near the float
// limit, a gradient whose square overflows) is refused with nothing changed.
// Under mixed precision with an f16 copy, weights must also stay within f16
// (65504): beyond it the f32 weights are finite but the copy the matrix
// products read is Inf.
//
// Most updates are proven finite without touching memory: upper bounds of
// every buffer's magnitudes are carried from step to step and advanced by the
// optimizer's own arithmetic (Optimizer::bounds_after). Only when the bounds
// cannot prove it are they measured, and only when the measured ones cannot
// either is the update applied to a kept copy and checked element by element.
#pragma once

#include <cstdint>

#include "core/backend/tensor.h"
#include "core/optim/optimizer.h"

namespace tk {

class GuardedUpdate {
 public:
  // Over `param_count` weights and state buffers of `state_count` elements
  // (the gradients' layout, which leaves frozen tensors out).
  GuardedUpdate(Backend* backend, DType dtype, int64_t param_count, int64_t state_count)
      : backend_(backend), dtype_(dtype), param_count_(param_count), state_count_(state_count) {}

  // optimizer.step(params, grads, grad_scale, lr, half) if that leaves every
  // weight and moment finite, and true; otherwise nothing changes (the
  // optimizer's step count included) and false. grad_bound bounds the
  // magnitude of every gradient after grad_scale (their L2 norm does).
  bool apply(Optimizer& optimizer, void* params, const void* grads, double grad_scale, double grad_bound, double lr,
             const HalfCopy& half);

  // The weights or the optimizer's state were written from outside (a
  // checkpoint, set_parameter): the bounds are measured again before use.
  void forget() { bounds_ = MagnitudeBounds{}; }

 private:
  MagnitudeBounds measure(Optimizer& optimizer, const void* params) const;
  bool within_limit(const MagnitudeBounds& bounds, const HalfCopy& half) const;
  bool all_finite(Optimizer& optimizer, const void* params, const HalfCopy& half) const;

  Backend* backend_;
  DType dtype_;
  int64_t param_count_, state_count_;
  MagnitudeBounds bounds_;  // unknown (infinite) until first measured
};

}  // namespace tk
