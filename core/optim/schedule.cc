#include "core/optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace tk {

void validate(const ScheduleConfig& c) {
  if (c.kind != ScheduleKind::kConstant && c.kind != ScheduleKind::kStep && c.kind != ScheduleKind::kCosine)
    fail(ErrorCode::kInvalidArgument, "unknown schedule kind ", static_cast<int>(c.kind));
  if (c.warmup_steps < 0) fail(ErrorCode::kInvalidArgument, "warm-up steps must be >= 0, got ", c.warmup_steps);
  if (c.kind == ScheduleKind::kStep && c.step_size <= 0)
    fail(ErrorCode::kInvalidArgument, "step schedule needs step_size > 0, got ", c.step_size);
  if (c.kind == ScheduleKind::kStep && !(std::isfinite(c.gamma) && c.gamma > 0))
    fail(ErrorCode::kInvalidArgument, "step schedule needs gamma > 0, got ", c.gamma);
  if (c.kind == ScheduleKind::kCosine && c.total_steps <= c.warmup_steps)
    fail(ErrorCode::kInvalidArgument, "cosine schedule needs total_steps (", c.total_steps,
         ") greater than warm-up steps (", c.warmup_steps, ")");
  if (!(std::isfinite(c.min_lr) && c.min_lr >= 0))
    fail(ErrorCode::kInvalidArgument, "min_lr must be finite and >= 0, got ", c.min_lr);
}

double scheduled_learning_rate(const ScheduleConfig& c, double base_lr, int64_t step) {
  if (step < c.warmup_steps) return base_lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  const int64_t t = step - c.warmup_steps;
  switch (c.kind) {
    case ScheduleKind::kConstant: return base_lr;
    case ScheduleKind::kStep: return base_lr * std::pow(c.gamma, static_cast<double>(t / c.step_size));
    case ScheduleKind::kCosine: {
      const double span = static_cast<double>(c.total_steps - c.warmup_steps);
      const double progress = std::min(static_cast<double>(t), span) / span;
      return c.min_lr + (base_lr - c.min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
    }
  }
  return base_lr;
}

}  // namespace tk
