// A step whose update would leave a weight or a moment non-finite is refused
// (TK_NONFINITE_ERROR) or skipped (TK_NONFINITE_SKIP) with nothing changed;
// ordinary updates go through exactly as before.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/api/trainer.h"
#include "core/backend/cpu/cpu_backend.h"
#include "core/base/error.h"
#include "core/base/half.h"
#include "core/optim/guarded_update.h"
#include "core/base/rng.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

constexpr int64_t kFeatures = 5, kClasses = 3, kRows = 8;

Graph mlp() {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(6, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kTanh), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Batch {
  std::vector<float> x = std::vector<float>(kRows * kFeatures);
  std::vector<int32_t> y = std::vector<int32_t>(kRows);
  Batch() {
    Rng rng(4);
    for (float& v : x) v = static_cast<float>(2 * rng.uniform() - 1);
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % kClasses);
  }
  HostView inputs() { return {x.data(), DType::kF32, {kRows, kFeatures}, {}}; }
  HostView targets() { return {y.data(), DType::kI32, {kRows}, {}}; }
};

// Weights and optimizer state, byte for byte.
std::vector<char> everything(Trainer& t) {
  TrainerSnapshot s = t.snapshot();
  std::vector<char> all;
  for (const auto& p : s.params) all.insert(all.end(), p.begin(), p.end());
  for (const auto& [name, tensors] : s.optimizer_state)
    for (const auto& p : tensors) all.insert(all.end(), p.begin(), p.end());
  return all;
}

bool all_finite(Trainer& t) {
  TrainerSnapshot s = t.snapshot();
  auto finite = [](const std::vector<uint8_t>& bytes) {
    std::vector<float> values(bytes.size() / sizeof(float));
    std::memcpy(values.data(), bytes.data(), bytes.size());
    for (float v : values)
      if (!std::isfinite(v)) return false;
    return true;
  };
  for (const auto& p : s.params)
    if (!finite(p)) return false;
  for (const auto& [name, tensors] : s.optimizer_state)
    for (const auto& p : tensors)
      if (!finite(p)) return false;
  return true;
}

TEST(GuardedUpdateTest, AnUpdateThatOverflowsIsRefusedWithNothingChanged) {
  for (OptimizerKind kind : {OptimizerKind::kSgd, OptimizerKind::kAdam, OptimizerKind::kAdamW}) {
    TrainerConfig config;
    config.threads = 1;
    config.optimizer.kind = kind;
    config.optimizer.momentum = kind == OptimizerKind::kSgd ? 0.9 : 0.0;
    config.optimizer.learning_rate = 1e39;  // finite as a setting, beyond f32 in the update
    Trainer t(mlp(), config);
    Batch batch;
    const std::vector<char> before = everything(t);
    try {
      t.step(batch.inputs(), batch.targets());
      ADD_FAILURE() << "an update at learning rate 1e39 was applied";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kNonFinite);
      EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
    }
    EXPECT_EQ(everything(t), before);
    EXPECT_EQ(t.optimizer_steps(), 0);
  }
}

// Adam at 1e38 moves weights by about 1e38: applied only where every result
// stays finite, refused where one does not; never left non-finite.
TEST(GuardedUpdateTest, AdamAtLearningRate1e38NeverLeavesNonFiniteWeights) {
  for (int seed = 0; seed < 8; ++seed) {
    TrainerConfig config;
    config.threads = 1;
    config.seed = static_cast<uint64_t>(seed);
    config.optimizer.kind = OptimizerKind::kAdam;
    config.optimizer.learning_rate = 1e38;
    Trainer t(mlp(), config);
    Batch batch;
    try {
      t.step(batch.inputs(), batch.targets());
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kNonFinite);
    }
    EXPECT_TRUE(all_finite(t)) << "seed " << seed;
  }
}

TEST(GuardedUpdateTest, UnderTheSkipPolicyTheStepIsSkippedAndCounted) {
  TrainerConfig config;
  config.threads = 1;
  config.optimizer.kind = OptimizerKind::kAdam;
  config.optimizer.learning_rate = 1e39;
  config.nonfinite = NonFinitePolicy::kSkip;
  Trainer t(mlp(), config);
  Batch batch;
  const std::vector<char> before = everything(t);
  StepResult r = t.step(batch.inputs(), batch.targets());
  EXPECT_TRUE(r.skipped);
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(everything(t), before);
  EXPECT_EQ(t.optimizer_steps(), 0);
  EXPECT_EQ(t.skipped_steps(), 1);
}

// Weights set near the float limit, where the weight decay's term overflows
// (lr 1, decay 3: p - (g + 3 p)): the guard, whose bounds were measured anew
// after set_parameter, refuses the update.
TEST(GuardedUpdateTest, WeightsNearTheLimitAreCaughtAfterSetParameter) {
  TrainerConfig config;
  config.threads = 1;
  config.optimizer.learning_rate = 1;
  config.optimizer.weight_decay = 3;
  config.decay_bias_and_norm = true;  // the decay of the huge bias is what overflows
  Trainer t(mlp(), config);
  Batch batch;
  t.step(batch.inputs(), batch.targets());
  const ParamTensor& bias = t.plan().params()[1];
  std::vector<float> huge(static_cast<size_t>(bias.count), 2e38f);
  t.set_parameter(1, {huge.data(), DType::kF32, bias.spec.shape, {}});
  const std::vector<char> before = everything(t);
  EXPECT_THROW(t.step(batch.inputs(), batch.targets()), Error);
  EXPECT_EQ(everything(t), before);
  EXPECT_EQ(t.optimizer_steps(), 1);
}

TEST(GuardedUpdateTest, OrdinaryTrainingIsUnchangedAndStaysFinite) {
  TrainerConfig config;
  config.threads = 1;
  config.optimizer.kind = OptimizerKind::kAdam;
  config.optimizer.learning_rate = 0.05;
  Trainer t(mlp(), config);
  Batch batch;
  double first = t.step(batch.inputs(), batch.targets()).loss, last = first;
  for (int i = 0; i < 100; ++i) last = t.step(batch.inputs(), batch.targets()).loss;
  EXPECT_LT(last, first / 2);
  EXPECT_EQ(t.optimizer_steps(), 101);
  EXPECT_TRUE(all_finite(t));
}

// Mixed precision with an f16 copy: an update that takes a weight past
// 65504 keeps the f32 weight finite but makes the copy Inf, so it is refused
// (the weights unchanged); one that stays within f16 goes through.
TEST(GuardedUpdateTest, AnUpdatePastTheF16LimitOfTheHalfCopyIsRefused) {
  cpu::CpuBackend backend(1);
  OptimizerConfig sgd;
  sgd.learning_rate = 1;
  for (const float start : {65000.0f, -65000.0f}) {
    auto optimizer = make_optimizer(sgd, &backend, DType::kF32, 4);
    GuardedUpdate guard(&backend, DType::kF32, 4, 4);
    std::vector<float> params(4, start), grads(4, start > 0 ? -1000.0f : 1000.0f);
    std::vector<Half> half(4, float_to_half(start));
    const HalfCopy copy{half.data(), DType::kF16};
    EXPECT_FALSE(guard.apply(*optimizer, params.data(), grads.data(), 1.0, 2000.0, 1.0, copy)) << start;
    for (float p : params) EXPECT_EQ(p, start);
    EXPECT_EQ(optimizer->steps(), 0);
    // Within f16 (and with bf16, whose range is f32's), the update is applied.
    EXPECT_TRUE(guard.apply(*optimizer, params.data(), grads.data(), 1.0, 2000.0, 0.1, copy));
    EXPECT_EQ(params[0], start + (start > 0 ? 100.0f : -100.0f));
    EXPECT_TRUE(std::isfinite(half_to_float(half[0])));
    std::vector<BFloat16> bf16(4);
    EXPECT_TRUE(guard.apply(*optimizer, params.data(), grads.data(), 1.0, 2000.0, 1.0, {bf16.data(), DType::kBF16}));
    EXPECT_EQ(params[0], start + (start > 0 ? 1100.0f : -1100.0f));
  }
}

// Under f16 mixed precision a weight set or restored beyond f16 is refused:
// the copy the matrix products read would be Inf.
TEST(GuardedUpdateTest, WeightsBeyondF16AreRefusedUnderF16MixedPrecision) {
  TrainerConfig config;
  config.threads = 1;
  config.precision = Precision::kFp16;
  Trainer t(mlp(), config);
  const ParamTensor& bias = t.plan().params()[1];
  std::vector<float> big(static_cast<size_t>(bias.count), 70000.0f);
  try {
    t.set_parameter(1, {big.data(), DType::kF32, bias.spec.shape, {}});
    ADD_FAILURE() << "a weight of 70000 was set under f16";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("f16"), std::string::npos) << e.what();
  }
  std::fill(big.begin(), big.end(), 60000.0f);
  EXPECT_NO_THROW(t.set_parameter(1, {big.data(), DType::kF32, bias.spec.shape, {}}));
  // A snapshot of an f32 trainer with such a weight is refused, nothing changed.
  TrainerConfig f32 = config;
  f32.precision = Precision::kFp32;
  Trainer plain(mlp(), f32);
  std::fill(big.begin(), big.end(), 70000.0f);
  plain.set_parameter(1, {big.data(), DType::kF32, bias.spec.shape, {}});
  const std::vector<char> before = everything(t);
  EXPECT_THROW(t.restore(plain.snapshot()), Error);
  EXPECT_EQ(everything(t), before);
}

}  // namespace
}  // namespace tk
