#include "core/amp/loss_scaler.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

void LossScaler::update(bool found_nonfinite) {
  if (!config_.enabled) return;
  if (found_nonfinite) {
    // Unlike GradScaler, stop at the smallest normal float: data that is
    // non-finite on every step must not drive the scale to 0 (a division by
    // zero when unscaling).
    scale_ = std::max(static_cast<float>(scale_ * config_.backoff_factor), std::numeric_limits<float>::min());
    growth_tracker_ = 0;
    return;
  }
  const int64_t successful = growth_tracker_ + 1;
  if (successful == config_.growth_interval) {
    const float grown = static_cast<float>(scale_ * config_.growth_factor);
    if (std::isfinite(grown)) scale_ = grown;
    growth_tracker_ = 0;
  } else {
    growth_tracker_ = successful;
  }
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
