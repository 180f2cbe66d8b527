// Learning-rate schedules as a pure function of the optimizer step (0-based).
#pragma once

#include <cstdint>

#include "core/backend/step_control.h"

namespace tk {

// Values mirror tk_schedule in capi/trainkit.h.
enum class ScheduleKind : int32_t { kConstant = 0, kStep = 1, kCosine = 2 };

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kConstant;
  int64_t warmup_steps = 0;  // linear ramp from lr/warmup to lr
  int64_t step_size = 1;     // kStep: multiply by gamma every step_size steps
  double gamma = 0.1;
  int64_t total_steps = 0;   // kCosine: steps (warm-up included) to reach min_lr
  double min_lr = 0.0;
};

// Throws kInvalidArgument naming the first bad field.
void validate(const ScheduleConfig& config);
// The same schedule as the device evaluates it (core/backend/step_control.h).
ScheduleRules schedule_rules(const ScheduleConfig& config, double base_lr);
double scheduled_learning_rate(const ScheduleConfig& config, double base_lr, int64_t step);

}  // namespace tk
