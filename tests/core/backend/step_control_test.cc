// The one step decision (core/backend/step_control.h) used as the host uses
// it (a StepControl in host memory, the host's finiteness verdict) and as the
// device does (a StepControl in backend memory, decided by the backend from
// its sums): on crafted sums both give the same bits, and the bits the rules
// say: overflow skips and back-off, growth after N clean steps, clipping,
// schedules, halting under the error policy, accumulation windows.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/backend/buffer.h"
#include "core/backend/cpu/cpu_backend.h"
#include "core/backend/step_control.h"
#include "core/optim/optim_kernels.h"

namespace tk {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void expect_same_bits(const StepControl& host, const StepControl& device) {
  EXPECT_EQ(std::memcmp(&host, &device, sizeof host), 0)
      << "host: applied " << host.applied << " accepted " << host.accepted << " scale " << host.loss_scale
      << " tracker " << host.growth_tracker << " skipped " << host.skipped_steps << " halted " << host.halted
      << "; device: applied " << device.applied << " accepted " << device.accepted << " scale " << device.loss_scale
      << " tracker " << device.growth_tracker << " skipped " << device.skipped_steps << " halted " << device.halted;
}

// Decides every step twice, on the host and on the backend, from the same sums.
class TwoDeciders {
 public:
  explicit TwoDeciders(const StepRules& rules, double initial_scale = 1) : rules_(rules), backend_(1) {
    host_.loss_scale = initial_scale;
    device_ = Buffer(&backend_, sizeof(StepControl));
    backend_.copy_from_host(device_.data(), &host_, sizeof host_);
  }

  // One step with these sums; returns the host's decision after checking
  // that the device's has the same bits.
  StepControl decide(double loss_sum, double grad_sum_squares) {
    host_.loss_sum = loss_sum;
    host_.grad_sum_squares = grad_sum_squares;
    // The host's verdict, as Trainer::step makes it for f32 gradients alone.
    decide_step(host_, rules_, std::isfinite(loss_sum) && std::isfinite(grad_sum_squares));
    StepControl device;
    backend_.copy_to_host(&device, device_.data(), sizeof device);
    device.loss_sum = loss_sum;  // as the device's reductions write them
    device.grad_sum_squares = grad_sum_squares;
    backend_.copy_from_host(device_.data(), &device, sizeof device);
    kernels::decide_step(backend_, static_cast<StepControl*>(device_.data()), rules_);
    backend_.copy_to_host(&device, device_.data(), sizeof device);
    expect_same_bits(host_, device);
    return host_;
  }

 private:
  StepRules rules_;
  cpu::CpuBackend backend_;
  StepControl host_;
  Buffer device_;
};

StepRules scaling_rules() {
  StepRules r;
  r.scaler.enabled = true;
  r.scaler.growth_factor = 2;
  r.scaler.backoff_factor = 0.5;
  r.scaler.growth_interval = 3;
  r.schedule.base_lr = 0.1;
  return r;
}

TEST(StepControlTest, AnOverflowSkipsTheStepAndBacksTheScaleOff) {
  TwoDeciders d(scaling_rules(), 65536);
  StepControl c = d.decide(2.0, kInf);
  EXPECT_FALSE(c.applied);
  EXPECT_FALSE(c.accepted);
  EXPECT_FALSE(c.halted) << "an overflow under loss scaling is expected now and then";
  EXPECT_EQ(c.used_scale, 65536);
  EXPECT_EQ(c.loss_scale, 32768);
  EXPECT_EQ(c.skipped_steps, 1);
  EXPECT_EQ(c.optimizer_steps, 0);
  EXPECT_EQ(c.micro_steps, 0);
  c = d.decide(NAN, 1.0);  // a NaN loss too
  EXPECT_EQ(c.loss_scale, 16384);
  EXPECT_EQ(c.skipped_steps, 2);
}

TEST(StepControlTest, TheScaleGrowsAfterGrowthIntervalCleanStepsAndNeverBelowTheSmallestNormal) {
  TwoDeciders d(scaling_rules(), 1024);
  d.decide(1.0, kInf);  // back off to 512, tracker reset
  for (int step = 1; step <= 2; ++step) {
    const StepControl c = d.decide(1.0, 4.0);
    EXPECT_TRUE(c.applied);
    EXPECT_EQ(c.loss_scale, 512) << step;
    EXPECT_EQ(c.growth_tracker, step);
  }
  StepControl c = d.decide(1.0, 4.0);
  EXPECT_EQ(c.used_scale, 512);
  EXPECT_EQ(c.loss_scale, 1024) << "the third clean step in a row grows the scale";
  EXPECT_EQ(c.growth_tracker, 0);
  EXPECT_EQ(c.optimizer_steps, 3);
  EXPECT_EQ(c.skipped_steps, 1);

  StepRules r = scaling_rules();
  TwoDeciders tiny(r, 2 * FLT_MIN);
  tiny.decide(1.0, kInf);
  EXPECT_EQ(tiny.decide(1.0, kInf).loss_scale, static_cast<float>(FLT_MIN));
}

TEST(StepControlTest, ALargeNormIsClippedAndTheUpdateUnscales) {
  StepRules r = scaling_rules();
  r.clip_norm = 1.0;
  TwoDeciders d(r, 8);
  // Scaled gradients of norm 32: unscaled 4, above the clip norm.
  StepControl c = d.decide(1.0, 32.0 * 32.0);
  EXPECT_TRUE(c.applied);
  EXPECT_EQ(c.grad_norm, 4.0);
  EXPECT_EQ(c.update_grad_scale, (1.0 / (4.0 + 1e-6)) / 8.0);
  EXPECT_EQ(c.learning_rate, 0.1);
  EXPECT_EQ(c.update_step, 1);
  // Below the clip norm only the scale is divided out.
  c = d.decide(1.0, 4.0 * 4.0);
  EXPECT_EQ(c.grad_norm, 0.5);
  EXPECT_EQ(c.update_grad_scale, 1.0 / 8.0);
  EXPECT_EQ(c.update_step, 2);
}

TEST(StepControlTest, TheLearningRateFollowsTheScheduleOfAppliedSteps) {
  StepRules r;
  r.skip_nonfinite = true;
  r.schedule.kind = 1;  // step
  r.schedule.step_size = 2;
  r.schedule.gamma = 0.5;
  r.schedule.base_lr = 0.8;
  TwoDeciders d(r);
  EXPECT_EQ(d.decide(1.0, 1.0).learning_rate, 0.8);
  EXPECT_EQ(d.decide(1.0, NAN).skipped_steps, 1);  // a skipped step does not advance the schedule
  EXPECT_EQ(d.decide(1.0, 1.0).learning_rate, 0.8);
  const StepControl c = d.decide(1.0, 1.0);
  EXPECT_EQ(c.learning_rate, 0.4);
  EXPECT_EQ(c.loss_scale, 1) << "no scaler: a skip leaves the scale alone";
}

TEST(StepControlTest, UnderTheErrorPolicyANonFiniteStepHaltsAndLaterStepsChangeNothing) {
  StepRules r;
  r.loss_divisor = 4;
  TwoDeciders d(r);
  d.decide(8.0, 1.0);
  StepControl c = d.decide(8.0, kInf);
  EXPECT_TRUE(c.halted);
  EXPECT_FALSE(c.applied);
  EXPECT_EQ(c.failed_loss, 2.0) << "the failed step's mean loss, for its message";
  EXPECT_EQ(c.skipped_steps, 0);
  c = d.decide(8.0, 1.0);
  EXPECT_TRUE(c.halted);
  EXPECT_FALSE(c.applied);
  EXPECT_EQ(c.optimizer_steps, 1);
  EXPECT_EQ(c.failed_loss, 2.0);
}

TEST(StepControlTest, AWindowOfMicroBatchesIsAppliedOnItsLastAndABackOffDropsIt) {
  StepRules r = scaling_rules();
  r.accumulation_steps = 3;
  TwoDeciders d(r, 64);
  StepControl c = d.decide(1.0, 1.0);
  EXPECT_TRUE(c.accepted);
  EXPECT_FALSE(c.applied);
  EXPECT_EQ(c.accumulated_count, 1);
  EXPECT_EQ(c.micro_steps, 1);
  c = d.decide(1.0, kInf);  // an overflow drops the window: its sums carry the old scale
  EXPECT_FALSE(c.accepted);
  EXPECT_EQ(c.accumulated_count, 0);
  EXPECT_EQ(c.loss_scale, 32);
  for (int i = 1; i <= 2; ++i) EXPECT_FALSE(d.decide(1.0, 1.0).applied) << i;
  c = d.decide(1.0, 64.0 * 64.0);
  EXPECT_TRUE(c.applied);
  EXPECT_EQ(c.accumulated_count, 0);
  EXPECT_EQ(c.micro_steps, 4);
  EXPECT_EQ(c.optimizer_steps, 1);
  EXPECT_EQ(c.grad_norm, 2.0);
  EXPECT_EQ(c.growth_tracker, 1) << "the scaler counts optimizer steps, not micro-batches";
}

// The host's own verdict wins over the sums: f64 gradients can all be finite
// while their sum of squares overflows, and replicas may agree a step is not
// finite though this one's sums are.
TEST(StepControlTest, TheHostVerdictDecidesFiniteness) {
  StepRules r;
  StepControl finite_overflow;
  decide_step(finite_overflow, r, /*finite=*/true);
  finite_overflow.grad_sum_squares = kInf;
  decide_step(finite_overflow, r, /*finite=*/true);
  EXPECT_TRUE(finite_overflow.applied);
  EXPECT_EQ(finite_overflow.grad_norm, kInf);
  StepControl peer_failed;
  r.skip_nonfinite = true;
  decide_step(peer_failed, r, /*finite=*/false);
  EXPECT_FALSE(peer_failed.accepted);
  EXPECT_EQ(peer_failed.skipped_steps, 1);
}

}  // namespace
}  // namespace tk
