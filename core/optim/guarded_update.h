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
#include "core/optim/update_shard.h"

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

  // From now on the optimizer updates this replica's share (the caller set
  // the same range on it): every replica measures and checks its own slice
  // of the moments, the replicas agree on the outcome, and an applied update
  // ends with the weights gathered, so that each decision is the group's.
  void set_shard(UpdateShard shard) {
    shard_ = std::move(shard);
    sharded_ = true;
  }

 private:
  // The moments' elements this replica measures and checks, and its weights.
  int64_t state_begin() const { return sharded_ ? shard_.grad_begin : 0; }
  int64_t state_end() const { return sharded_ ? shard_.grad_end : state_count_; }
  int64_t params_begin() const { return sharded_ ? shard_.param_begin : 0; }
  int64_t params_end() const { return sharded_ ? shard_.param_end : param_count_; }
  // Every replica's weights (and their half copy) in every replica.
  void gather(void* params, const HalfCopy& half) const;
  MagnitudeBounds measure(Optimizer& optimizer, const void* params) const;
  bool within_limit(const MagnitudeBounds& bounds, const HalfCopy& half) const;
  bool all_finite(Optimizer& optimizer, const void* params, const HalfCopy& half) const;

  Backend* backend_;
  DType dtype_;
  int64_t param_count_, state_count_;
  MagnitudeBounds bounds_;  // unknown (infinite) until first measured
  UpdateShard shard_;
  bool sharded_ = false;
};

}  // namespace tk
