// Optimizers and schedules against steps computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/error.h"
#include "core/optim/optimizer.h"
#include "core/optim/schedule.h"

namespace tk {
namespace {

// Runs `steps` updates on one scalar parameter starting at 1 with gradient 0.5.
std::vector<double> run(OptimizerConfig config, int steps, double grad_scale = 1.0) {
  cpu::CpuBackend backend(1);
  auto optimizer = make_optimizer(config, &backend, DType::kF64, 1);
  double param = 1.0, grad = 0.5;
  std::vector<double> trace;
  for (int i = 0; i < steps; ++i) {
    optimizer->step(&param, &grad, grad_scale, config.learning_rate);
    trace.push_back(param);
  }
  return trace;
}

TEST(SgdTest, PlainStepIsLrTimesGradient) {
  OptimizerConfig c;
  c.learning_rate = 0.1;
  auto trace = run(c, 2);
  EXPECT_DOUBLE_EQ(trace[0], 0.95);
  EXPECT_DOUBLE_EQ(trace[1], 0.90);
}

TEST(SgdTest, MomentumAndWeightDecayMatchHandComputedSteps) {
  OptimizerConfig c;
  c.learning_rate = 0.1;
  c.momentum = 0.9;
  c.weight_decay = 0.01;
  auto trace = run(c, 2);
  // d1 = 0.5 + 0.01 * 1 = 0.51, buf = 0.51, p = 1 - 0.051
  EXPECT_NEAR(trace[0], 0.949, 1e-12);
  // d2 = 0.5 + 0.01 * 0.949, buf = 0.9 * 0.51 + d2 = 0.96849, p = 0.949 - 0.096849
  EXPECT_NEAR(trace[1], 0.852151, 1e-12);
}

TEST(SgdTest, NesterovLooksAhead) {
  OptimizerConfig c;
  c.learning_rate = 0.1;
  c.momentum = 0.9;
  c.nesterov = true;
  c.weight_decay = 0.01;
  auto trace = run(c, 1);
  // d = 0.51, buf = 0.51, step = d + 0.9 * buf = 0.969
  EXPECT_NEAR(trace[0], 1 - 0.0969, 1e-12);
}

TEST(SgdTest, GradScaleMultipliesTheGradient) {
  OptimizerConfig c;
  c.learning_rate = 0.1;
  auto trace = run(c, 1, 0.5);
  EXPECT_DOUBLE_EQ(trace[0], 1 - 0.1 * 0.25);
}

TEST(AdamTest, ConstantGradientMovesByLearningRateEachStep) {
  OptimizerConfig c;
  c.kind = OptimizerKind::kAdam;
  c.learning_rate = 0.1;
  auto trace = run(c, 2);
  // Bias-corrected m / sqrt(v) is exactly 1 for a constant gradient.
  EXPECT_NEAR(trace[0], 0.9, 1e-7);
  EXPECT_NEAR(trace[1], 0.8, 1e-7);
}

TEST(AdamTest, L2WeightDecayIsAddedToTheGradient) {
  OptimizerConfig c;
  c.kind = OptimizerKind::kAdam;
  c.learning_rate = 0.1;
  c.weight_decay = 0.1;
  c.eps = 1e-8;
  auto trace = run(c, 2);
  EXPECT_NEAR(trace[0], 0.9, 1e-7);  // still a unit step on the first update
  // Second: g2 = 0.5 + 0.1 * p1, m = 0.9 * 0.06 + 0.1 * g2, v = 0.999 * 0.00036 + 0.001 * g2^2
  const double p1 = trace[0], g2 = 0.5 + 0.1 * p1;
  const double m = 0.9 * 0.06 + 0.1 * g2, v = 0.999 * 0.00036 + 0.001 * g2 * g2;
  const double expected = p1 - 0.1 / (1 - 0.81) * m / (std::sqrt(v) / std::sqrt(1 - 0.999 * 0.999) + 1e-8);
  EXPECT_NEAR(trace[1], expected, 1e-12);
}

TEST(AdamWTest, DecayIsDecoupledFromTheGradient) {
  OptimizerConfig c;
  c.kind = OptimizerKind::kAdamW;
  c.learning_rate = 0.1;
  c.weight_decay = 0.1;
  auto trace = run(c, 1);
  EXPECT_NEAR(trace[0], 1.0 * (1 - 0.01) - 0.1, 1e-7);
}

TEST(OptimizerConfigTest, WeightDecayDefaultsPerOptimizerUnlessSet) {
  OptimizerConfig c;
  EXPECT_EQ(effective_weight_decay(c), 0.0);
  c.kind = OptimizerKind::kAdamW;
  EXPECT_EQ(effective_weight_decay(c), 0.01);
  c.weight_decay = 0.0;  // an explicit zero stays zero
  EXPECT_EQ(effective_weight_decay(c), 0.0);
  c.kind = OptimizerKind::kSgd;
  c.weight_decay.reset();
  EXPECT_EQ(effective_weight_decay(c), 0.0);
}

TEST(OptimizerConfigTest, RejectsOutOfRangeValues) {
  OptimizerConfig c;
  c.learning_rate = -1;
  EXPECT_THROW(validate(c), Error);
  c = OptimizerConfig{};
  c.momentum = 1.0;
  EXPECT_THROW(validate(c), Error);
  c = OptimizerConfig{};
  c.nesterov = true;  // without momentum
  EXPECT_THROW(validate(c), Error);
  c = OptimizerConfig{};
  c.eps = 0;
  EXPECT_THROW(validate(c), Error);
  c = OptimizerConfig{};
  c.learning_rate = std::nan("");
  EXPECT_THROW(validate(c), Error);
}

TEST(ScheduleTest, Constant) {
  ScheduleConfig s;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 1000), 0.1);
}

TEST(ScheduleTest, StepDecaysEveryStepSize) {
  ScheduleConfig s;
  s.kind = ScheduleKind::kStep;
  s.step_size = 3;
  s.gamma = 0.5;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 0), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 2), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 3), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 6), 0.025);
}

TEST(ScheduleTest, CosineGoesFromBaseToMinimum) {
  ScheduleConfig s;
  s.kind = ScheduleKind::kCosine;
  s.total_steps = 10;
  s.min_lr = 0.01;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 0), 0.1);
  EXPECT_NEAR(scheduled_learning_rate(s, 0.1, 5), 0.055, 1e-15);
  EXPECT_NEAR(scheduled_learning_rate(s, 0.1, 10), 0.01, 1e-15);
  EXPECT_NEAR(scheduled_learning_rate(s, 0.1, 25), 0.01, 1e-15);
}

TEST(ScheduleTest, LinearWarmupThenSchedule) {
  ScheduleConfig s;
  s.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 0), 0.025);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 1), 0.05);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 3), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 4), 0.1);
  s.kind = ScheduleKind::kCosine;
  s.warmup_steps = 2;
  s.total_steps = 12;
  EXPECT_DOUBLE_EQ(scheduled_learning_rate(s, 0.1, 2), 0.1);
  EXPECT_NEAR(scheduled_learning_rate(s, 0.1, 7), 0.05, 1e-15);
  s.kind = ScheduleKind::kStep;
  s.step_size = 2;
  s.gamma = 0.1;
  EXPECT_NEAR(scheduled_learning_rate(s, 0.1, 4), 0.01, 1e-15);
}

TEST(ScheduleTest, RejectsBadConfigs) {
  ScheduleConfig s;
  s.kind = ScheduleKind::kCosine;
  s.total_steps = 0;
  EXPECT_THROW(validate(s), Error);
  s = ScheduleConfig{};
  s.kind = ScheduleKind::kStep;
  s.step_size = 0;
  EXPECT_THROW(validate(s), Error);
  s = ScheduleConfig{};
  s.warmup_steps = -1;
  EXPECT_THROW(validate(s), Error);
}

}  // namespace
}  // namespace tk
