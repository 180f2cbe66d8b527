// Batch norm's running statistics through the trainer: updated only by
// committed training steps, used by evaluation, saved and restored by
// checkpoints and exported weights, and shared from rank 0 on join.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/api/checkpoint.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

constexpr int64_t kChannels = 2, kSide = 4, kClasses = 3, kBatch = 8;

std::string temp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

Graph cnn() {
  Graph g;
  int h = g.add_input("x", {1, kSide, kSide});
  h = g.add(make_conv2d(kChannels, 3, 1, 1, 1, 1, false, Init::kHeUniform), {h}, "conv");
  h = g.add(make_batch_norm(1e-5, 0.1), {h}, "bn");
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_dropout2d(0.1), {h});
  h = g.add(make_flatten(), {h});
  h = g.add(make_layer_norm(1, 1e-5), {h}, "ln");
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Batch {
  std::vector<float> x;
  std::vector<int32_t> y;
  Batch(uint64_t seed, float offset) : x(kBatch * kSide * kSide), y(kBatch) {
    Rng rng(seed);
    for (float& v : x) v = offset + static_cast<float>(rng.normal());
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % kClasses);
  }
  HostView inputs() { return {x.data(), DType::kF32, {kBatch, 1, kSide, kSide}, {}}; }
  HostView targets() { return {y.data(), DType::kI32, {kBatch}, {}}; }
};

std::vector<float> state(const Trainer& t, size_t index) {
  std::vector<float> v(t.plan().states()[index].count);
  t.get_state(index, {v.data(), DType::kF32, t.plan().states()[index].spec.shape, {}});
  return v;
}

TrainerConfig config() {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kAdam;
  c.optimizer.learning_rate = 1e-2;
  c.seed = 4;
  return c;
}

TEST(NormalizationStateTest, RunningStatisticsStartAtZeroMeanUnitVarianceAndAreNotParameters) {
  Trainer t(cnn(), config());
  ASSERT_EQ(t.plan().states().size(), 2u);
  EXPECT_EQ(t.plan().states()[0].name, "bn.running_mean");
  EXPECT_EQ(t.plan().states()[1].name, "bn.running_var");
  for (const ParamTensor& p : t.plan().params()) EXPECT_EQ(p.name.find("running"), std::string::npos) << p.name;
  EXPECT_EQ(state(t, 0), std::vector<float>(kChannels, 0.0f));
  EXPECT_EQ(state(t, 1), std::vector<float>(kChannels, 1.0f));
}

TEST(NormalizationStateTest, OnlyCommittedTrainingStepsMoveRunningStatistics) {
  Trainer t(cnn(), config());
  Batch batch(1, 3.0f);  // conv of inputs near 3 has a clearly nonzero mean
  t.step(batch.inputs(), batch.targets());
  const std::vector<float> mean = state(t, 0), var = state(t, 1);
  for (int64_t c = 0; c < kChannels; ++c) EXPECT_NE(mean[c], 0.0f) << c;

  // Evaluation reads them and changes nothing.
  t.evaluate(batch.inputs(), batch.targets());
  EXPECT_EQ(state(t, 0), mean);

  // A failed step (a NaN input makes the loss non-finite) leaves them as they were.
  Batch bad(2, 0.0f);
  bad.x[5] = std::nanf("");
  EXPECT_THROW(t.step(bad.inputs(), bad.targets()), Error);
  EXPECT_EQ(state(t, 0), mean);
  EXPECT_EQ(state(t, 1), var);

  t.step(batch.inputs(), batch.targets());
  EXPECT_NE(state(t, 0), mean);
}

TEST(NormalizationStateTest, EvaluationUsesRunningStatisticsNotTheBatch) {
  // A model that is only batch norm over features: in evaluation with the
  // initial running statistics (0, 1) it is the identity.
  Graph g;
  int h = g.add_input("x", {kClasses});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  g.set_output(h, "logits");
  Trainer t(g, config());
  std::vector<float> x = {1, 2, 3, 4, 5, 7}, out(6);
  t.predict(HostView{x.data(), DType::kF32, {2, kClasses}, {}}, false, {out.data(), DType::kF32, {2, kClasses}, {}});
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(out[i], x[i] / std::sqrt(1 + 1e-5), 1e-5) << i;
}

TEST(NormalizationStateTest, CheckpointsAndExportedWeightsCarryRunningStatistics) {
  Trainer a(cnn(), config());
  Batch batch(1, 3.0f);
  for (int i = 0; i < 3; ++i) a.step(batch.inputs(), batch.targets());
  const std::string path = temp("bn.safetensors");
  save_checkpoint(a, path, nullptr);
  Trainer b(cnn(), config());
  load_checkpoint(b, path, nullptr);
  EXPECT_EQ(state(b, 0), state(a, 0));
  EXPECT_EQ(state(b, 1), state(a, 1));
  // Resumed training goes on bit for bit.
  a.step(batch.inputs(), batch.targets());
  b.step(batch.inputs(), batch.targets());
  EXPECT_EQ(state(b, 0), state(a, 0));

  const std::string weights = temp("bn-weights.safetensors");
  export_weights(a, weights, DType::kF32);
  Trainer c(cnn(), config());
  import_weights(c, weights);
  EXPECT_EQ(state(c, 1), state(a, 1));
  std::vector<float> pa(kBatch * kClasses), pc(pa.size());
  a.predict(batch.inputs(), false, {pa.data(), DType::kF32, {kBatch, kClasses}, {}});
  c.predict(batch.inputs(), false, {pc.data(), DType::kF32, {kBatch, kClasses}, {}});
  EXPECT_EQ(pa, pc);
}

TEST(NormalizationStateTest, TrainingWithOneValuePerChannelIsRefused) {
  Graph g;
  int h = g.add_input("x", {kClasses});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  g.set_output(h, "logits");
  Trainer t(g, config());
  std::vector<float> x = {1, 2, 3};
  std::vector<int32_t> y = {0};
  try {
    t.step(HostView{x.data(), DType::kF32, {1, kClasses}, {}}, {y.data(), DType::kI32, {1}, {}});
    FAIL() << "a batch of one trained batch norm";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(std::string(e.what()).find("more than one value per channel"), std::string::npos) << e.what();
  }
  EXPECT_EQ(state(t, 0), std::vector<float>(kClasses, 0.0f));
}

TEST(NormalizationStateTest, MixedPrecisionTrainsThroughNormalization) {
  for (Precision precision : {Precision::kFp16, Precision::kBf16}) {
    TrainerConfig c = config();
    c.precision = precision;
    Trainer t(cnn(), c);
    Batch batch(1, 0.5f);
    double first = 0, last = 0;
    for (int i = 0; i < 30; ++i) {
      StepResult r = t.step(batch.inputs(), batch.targets());
      if (i == 0) first = r.loss;
      last = r.loss;
    }
    EXPECT_LT(last, 0.5 * first) << precision_name(precision);
  }
}

}  // namespace
}  // namespace tk
