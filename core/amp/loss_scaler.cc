#include "core/amp/loss_scaler.h"

#include <cmath>

#include "core/base/error.h"

namespace tk {

void validate(const LossScalerConfig& c) {
  if (!(std::isfinite(c.init_scale) && c.init_scale > 0 && c.init_scale <= 3.4e38))
    fail(ErrorCode::kInvalidArgument, "initial loss scale must be finite, > 0 and fit in f32, got ", c.init_scale);
  if (!(std::isfinite(c.growth_factor) && c.growth_factor > 1))
    fail(ErrorCode::kInvalidArgument, "loss-scale growth factor must be > 1, got ", c.growth_factor);
  if (!(c.backoff_factor > 0 && c.backoff_factor < 1))
    fail(ErrorCode::kInvalidArgument, "loss-scale backoff factor must be in (0, 1), got ", c.backoff_factor);
  if (c.growth_interval < 1)
    fail(ErrorCode::kInvalidArgument, "loss-scale growth interval must be >= 1, got ", c.growth_interval);
}

LossScaler::LossScaler(const LossScalerConfig& config)
    : config_(config), scale_(config.enabled ? static_cast<float>(config.init_scale) : 1.0f) {}

ScalerRules LossScaler::rules() const {
  ScalerRules rules;
  rules.enabled = config_.enabled;
  rules.growth_factor = config_.growth_factor;
  rules.backoff_factor = config_.backoff_factor;
  rules.growth_interval = config_.growth_interval;
  return rules;
}

void LossScaler::update(bool found_nonfinite) {
  if (!config_.enabled) return;
  if (found_nonfinite) scaler_back_off(rules(), &scale_, &growth_tracker_);
  else scaler_note_success(rules(), &scale_, &growth_tracker_);
}

void LossScaler::restore(float scale, int64_t growth_tracker) {
  if (!(std::isfinite(scale) && scale > 0))
    fail(ErrorCode::kInvalidArgument, "a restored loss scale must be finite and > 0, got ", scale);
  if (growth_tracker < 0 || growth_tracker >= config_.growth_interval)
    fail(ErrorCode::kInvalidArgument, "a restored growth tracker must be in [0, ", config_.growth_interval, "), got ",
         growth_tracker);
  scale_ = scale;
  growth_tracker_ = growth_tracker;
}

}  // namespace tk
