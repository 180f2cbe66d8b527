// Steps decided on the device (core/backend/step_control.h) against steps
// decided on the host: the same rules, so the same bits, whatever happens
// (overflow skips, scale growth, clipping, schedules, running statistics);
// queued steps and their errors. The CPU backend runs the device path here;
// tests/cuda runs it on a GPU, recorded as a CUDA graph.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/api/trainer.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

constexpr int64_t kSide = 5, kClasses = 4, kBatch = 6;

Graph cnn(bool with_dropout = false) {
  Graph g;
  int h = g.add_input("x", {1, kSide, kSide});
  h = g.add(make_conv2d(3, 3, 1, 1, 1, 1, true, Init::kHeUniform), {h}, "conv");
  h = g.add(make_batch_norm(1e-5, 0.1), {h}, "bn");
  h = g.add(make_activation(Activation::kRelu), {h});
  if (with_dropout) h = g.add(make_dropout(0.2), {h});
  h = g.add(make_flatten(), {h});
  h = g.add(make_layer_norm(1, 1e-5), {h}, "ln");
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Batch {
  std::vector<float> x;
  std::vector<int32_t> y;
  Batch(uint64_t seed, float scale = 1) : x(kBatch * kSide * kSide), y(kBatch) {
    Rng rng(seed);
    for (float& v : x) v = scale * static_cast<float>(rng.normal());
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % kClasses);
  }
  HostView inputs() { return {x.data(), DType::kF32, {kBatch, 1, kSide, kSide}, {}}; }
  HostView targets() { return {y.data(), DType::kI32, {kBatch}, {}}; }
};

std::vector<std::vector<uint8_t>> everything(Trainer& t) {
  TrainerSnapshot s = t.snapshot();
  std::vector<std::vector<uint8_t>> all = s.params;
  all.insert(all.end(), s.state.begin(), s.state.end());
  for (auto& [name, tensors] : s.optimizer_state) all.insert(all.end(), tensors.begin(), tensors.end());
  return all;
}

void expect_same_result(const StepResult& host, const StepResult& device, int step) {
  SCOPED_TRACE(step);
  EXPECT_EQ(host.applied, device.applied);
  EXPECT_EQ(host.skipped, device.skipped);
  EXPECT_EQ(host.loss_scale, device.loss_scale);
  if (std::isfinite(host.loss)) EXPECT_EQ(host.loss, device.loss);
  else EXPECT_FALSE(std::isfinite(device.loss));
  EXPECT_EQ(host.learning_rate, device.learning_rate);
  EXPECT_EQ(host.grad_norm, device.grad_norm);
}

// Runs the same batches through a host-decided and a device-decided trainer.
void expect_same_training(TrainerConfig config, std::vector<Batch>& batches) {
  config.step_decision = StepDecision::kHost;
  Trainer host(cnn(), config);
  config.step_decision = StepDecision::kDevice;
  Trainer device(cnn(), config);
  ASSERT_FALSE(host.decides_on_device());
  ASSERT_TRUE(device.decides_on_device());
  for (size_t i = 0; i < batches.size(); ++i) {
    const StepResult a = host.step(batches[i].inputs(), batches[i].targets());
    const StepResult b = device.step(batches[i].inputs(), batches[i].targets());
    expect_same_result(a, b, static_cast<int>(i));
  }
  EXPECT_EQ(everything(host), everything(device));
  EXPECT_EQ(host.optimizer_steps(), device.optimizer_steps());
  EXPECT_EQ(host.micro_steps(), device.micro_steps());
  EXPECT_EQ(host.skipped_steps(), device.skipped_steps());
  EXPECT_EQ(host.loss_scaler().scale(), device.loss_scaler().scale());
  EXPECT_EQ(host.loss_scaler().growth_tracker(), device.loss_scaler().growth_tracker());
  EXPECT_EQ(host.last_grad_norm(), device.last_grad_norm());
  EXPECT_EQ(host.current_learning_rate(), device.current_learning_rate());
}

TEST(DeviceStepTest, Fp16ScalingSkipsGrowthClipAndCosineMatchTheHostBitForBit) {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kAdamW;
  c.optimizer.learning_rate = 3e-2;
  c.precision = Precision::kFp16;
  c.scaler.init_scale = 1 << 24;  // overflows f16 gradients: the first steps back off
  c.scaler.growth_interval = 2;
  c.clip_norm = 0.5;
  c.schedule.kind = ScheduleKind::kCosine;
  c.schedule.warmup_steps = 2;
  c.schedule.total_steps = 12;
  c.seed = 3;
  std::vector<Batch> batches;
  for (uint64_t i = 0; i < 14; ++i) batches.emplace_back(i, i == 9 ? 3e4f : 1.0f);  // batch 9 overflows again
  expect_same_training(c, batches);
}

TEST(DeviceStepTest, SgdNesterovStepScheduleAndSkippedNanBatchMatchTheHostBitForBit) {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kSgd;
  c.optimizer.learning_rate = 0.05;
  c.optimizer.momentum = 0.9;
  c.optimizer.nesterov = true;
  c.optimizer.weight_decay = 1e-3;
  c.schedule.kind = ScheduleKind::kStep;
  c.schedule.step_size = 3;
  c.schedule.gamma = 0.5;
  c.nonfinite = NonFinitePolicy::kSkip;
  c.seed = 5;
  std::vector<Batch> batches;
  for (uint64_t i = 0; i < 8; ++i) batches.emplace_back(100 + i);
  batches[0].x[3] = NAN;  // the very first step is dropped: SGD's first applied step still starts the momentum
  batches[4].x[7] = NAN;
  expect_same_training(c, batches);
}

TEST(DeviceStepTest, QueuedStepsEqualWaitedStepsAndWaitReportsTheLast) {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kAdam;
  c.optimizer.learning_rate = 1e-2;
  c.step_decision = StepDecision::kDevice;
  Trainer waited(cnn(), c), queued(cnn(), c);
  std::vector<Batch> batches;
  for (uint64_t i = 0; i < 5; ++i) batches.emplace_back(200 + i);
  StepResult last;
  for (Batch& b : batches) {
    last = waited.step(b.inputs(), b.targets());
    queued.step_async(b.inputs(), b.targets());
  }
  const StepResult reported = queued.wait();
  expect_same_result(last, reported, 4);
  EXPECT_EQ(queued.optimizer_steps(), 5);
  EXPECT_EQ(everything(waited), everything(queued));
}

TEST(DeviceStepTest, AQueuedNonFiniteStepFailsLaterWithNothingAfterTheLastGoodStepApplied) {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kSgd;
  c.optimizer.learning_rate = 0.1;
  c.step_decision = StepDecision::kDevice;
  Trainer reference(cnn(), c), queued(cnn(), c);
  Batch good1(1), bad(2), good2(3), good3(4);
  bad.x[0] = NAN;
  reference.step(good1.inputs(), good1.targets());
  queued.step_async(good1.inputs(), good1.targets());
  queued.step_async(bad.inputs(), bad.targets());
  queued.step_async(good2.inputs(), good2.targets());  // queued behind the failure: must not apply
  try {
    queued.wait();
    FAIL() << "a NaN loss under NonFinitePolicy::kError must fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNonFinite);
    EXPECT_NE(std::string(e.what()).find("not finite"), std::string::npos) << e.what();
  }
  EXPECT_EQ(queued.optimizer_steps(), 1);
  EXPECT_EQ(everything(queued), everything(reference));
  // The error was reported once; training goes on from the last good step.
  EXPECT_TRUE(queued.step(good3.inputs(), good3.targets()).applied);
  reference.step(good3.inputs(), good3.targets());
  EXPECT_EQ(everything(queued), everything(reference));
  // A synchronous step fails at once and changes nothing.
  EXPECT_THROW(queued.step(bad.inputs(), bad.targets()), Error);
  EXPECT_EQ(everything(queued), everything(reference));
}

TEST(DeviceStepTest, StepsAreDecidedOnTheDeviceOnlyWhereTheStepAllowsIt) {
  TrainerConfig c;
  c.step_decision = StepDecision::kDevice;
  EXPECT_TRUE(Trainer(cnn(), c).decides_on_device());
  EXPECT_FALSE(Trainer(cnn(/*with_dropout=*/true), c).decides_on_device()) << "dropout draws per step";
  TrainerConfig accumulating = c;
  accumulating.accumulation_steps = 2;
  EXPECT_FALSE(Trainer(cnn(), accumulating).decides_on_device());
  TrainerConfig f64 = c;
  f64.compute_dtype = DType::kF64;
  EXPECT_FALSE(Trainer(cnn(), f64).decides_on_device());
  TrainerConfig automatic;
  EXPECT_FALSE(Trainer(cnn(), automatic).decides_on_device()) << "the CPU backend records nothing";
  TrainerConfig bad = c;
  bad.step_decision = static_cast<StepDecision>(7);
  EXPECT_THROW(Trainer(cnn(), bad), Error);
}

TEST(DeviceStepTest, RestoredCheckpointsCarryOnDecidingOnTheDevice) {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kAdam;
  c.precision = Precision::kFp16;
  c.scaler.init_scale = 1 << 20;
  c.scaler.growth_interval = 3;
  c.step_decision = StepDecision::kDevice;
  Trainer straight(cnn(), c);
  std::vector<Batch> batches;
  for (uint64_t i = 0; i < 8; ++i) batches.emplace_back(300 + i);
  for (int i = 0; i < 4; ++i) straight.step_async(batches[i].inputs(), batches[i].targets());
  const TrainerSnapshot middle = straight.snapshot();
  for (int i = 4; i < 8; ++i) straight.step_async(batches[i].inputs(), batches[i].targets());
  straight.wait();
  Trainer resumed(cnn(), c);
  resumed.restore(middle);
  for (int i = 4; i < 8; ++i) resumed.step_async(batches[i].inputs(), batches[i].targets());
  resumed.wait();
  EXPECT_EQ(everything(resumed), everything(straight));
  EXPECT_EQ(resumed.loss_scaler().scale(), straight.loss_scaler().scale());
  EXPECT_EQ(resumed.skipped_steps(), straight.skipped_steps());
}

}  // namespace
}  // namespace tk
