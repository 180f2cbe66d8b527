#include "core/optim/schedule.h"

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

ScheduleRules schedule_rules(const ScheduleConfig& c, double base_lr) {
  ScheduleRules rules;
  rules.kind = static_cast<int32_t>(c.kind);
  rules.warmup_steps = c.warmup_steps;
  rules.step_size = c.step_size;
  rules.total_steps = c.total_steps;
  rules.gamma = c.gamma;
  rules.min_lr = c.min_lr;
  rules.base_lr = base_lr;
  return rules;
}

double scheduled_learning_rate(const ScheduleConfig& c, double base_lr, int64_t step) {
  return scheduled_rate(schedule_rules(c, base_lr), step);
}

}  // namespace tk
