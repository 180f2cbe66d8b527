// Dynamic loss scaling with PyTorch GradScaler semantics: the loss is
// multiplied by the scale before backward; a step whose gradients hold Inf or
// NaN is skipped and the scale backs off; after growth_interval clean steps
// in a row the scale grows (but never to Inf).
#pragma once

#include <cstdint>

#include "core/backend/step_control.h"

namespace tk {

struct LossScalerConfig {
  bool enabled = false;
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

// Throws kInvalidArgument naming the first bad field.
void validate(const LossScalerConfig& config);

class LossScaler {
 public:
  explicit LossScaler(const LossScalerConfig& config);

  bool enabled() const { return config_.enabled; }
  // The factor the loss is multiplied by (1 when disabled). Kept in f32 as
  // PyTorch does, so the same sequence of scales comes out.
  float scale() const { return scale_; }
  int64_t growth_tracker() const { return growth_tracker_; }

  // After an optimizer step (found_nonfinite = false) or a skipped one (true).
  void update(bool found_nonfinite);
  // The same rules as the device applies them (core/backend/step_control.h).
  ScalerRules rules() const;
  // Restores saved state (checkpoints).
  void restore(float scale, int64_t growth_tracker);

 private:
  LossScalerConfig config_;
  float scale_;
  int64_t growth_tracker_ = 0;
};

}  // namespace tk
