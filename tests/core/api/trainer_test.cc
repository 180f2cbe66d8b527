// Trainer: determinism, clipping, accumulation, and all-or-nothing steps.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <limits>
#include <vector>

#include "core/api/trainer.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

constexpr int64_t kFeatures = 6, kClasses = 3;

Graph mlp(double dropout = 0.0) {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(8, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  if (dropout > 0) h = g.add(make_dropout(dropout), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Data {
  std::vector<float> x;
  std::vector<int32_t> y;
  explicit Data(int64_t n, uint64_t seed = 1) : x(n * kFeatures), y(n) {
    Rng rng(seed);
    for (float& v : x) v = static_cast<float>(2 * rng.uniform() - 1);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int32_t>(rng.next_u64() % kClasses);
  }
  HostView inputs(int64_t begin, int64_t count) { return {x.data() + begin * kFeatures, DType::kF32, {count, kFeatures}, {}}; }
  HostView targets(int64_t begin, int64_t count) { return {y.data() + begin, DType::kI32, {count}, {}}; }
};

// Everything a step must leave untouched when it fails.
struct Snapshot {
  std::vector<char> params;
  std::vector<std::vector<char>> optimizer_state;
  int64_t optimizer_steps, micro_steps, skipped;

  explicit Snapshot(Trainer& t) {
    const Tensor& p = t.flat_params();
    params.assign(p.as<char>(), p.as<char>() + p.bytes());
    for (const OptimizerState& s : t.optimizer().state())
      optimizer_state.emplace_back(s.tensor->as<char>(), s.tensor->as<char>() + s.tensor->bytes());
    optimizer_steps = t.optimizer_steps();
    micro_steps = t.micro_steps();
    skipped = t.skipped_steps();
  }
  bool operator==(const Snapshot& o) const {
    return params == o.params && optimizer_state == o.optimizer_state && optimizer_steps == o.optimizer_steps &&
           micro_steps == o.micro_steps && skipped == o.skipped;
  }
};

TrainerConfig adam_config() {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kAdam;
  c.optimizer.learning_rate = 0.01;
  c.seed = 5;
  return c;
}

TEST(TrainerTest, SameSeedGivesIdenticalWeights) {
  Data data(64);
  TrainerConfig c = adam_config();
  c.threads = 2;
  Trainer a(mlp(0.3), c), b(mlp(0.3), c);
  for (int s = 0; s < 8; ++s) {
    a.step(data.inputs(s * 8, 8), data.targets(s * 8, 8));
    b.step(data.inputs(s * 8, 8), data.targets(s * 8, 8));
  }
  EXPECT_TRUE(Snapshot(a) == Snapshot(b));
  c.seed = 6;
  Trainer other(mlp(0.3), c);
  EXPECT_FALSE(Snapshot(other).params == Snapshot(a).params);
}

TEST(TrainerTest, StepsAllocateNothingOnceTheBatchSizeIsSeen) {
  Data data(64);
  TrainerConfig c = adam_config();
  c.accumulation_steps = 2;
  c.clip_norm = 1.0;
  Trainer t(mlp(0.3), c);
  t.step(data.inputs(0, 16), data.targets(0, 16));
  const uint64_t allocations = t.backend().allocation_count();
  const size_t bytes = t.backend().bytes_in_use();
  for (int s = 0; s < 6; ++s) t.step(data.inputs(s * 8, s % 2 ? 16 : 8), data.targets(s * 8, s % 2 ? 16 : 8));
  t.evaluate(data.inputs(0, 16), data.targets(0, 16));
  EXPECT_EQ(t.backend().allocation_count(), allocations);
  EXPECT_EQ(t.backend().bytes_in_use(), bytes);
}

TEST(TrainerTest, LossFallsOnALearnableTask) {
  Data data(256);
  for (int64_t i = 0; i < 256; ++i) data.y[i] = data.x[i * kFeatures] > 0 ? 1 : 0;
  Trainer t(mlp(), adam_config());
  const double before = t.evaluate(data.inputs(0, 256), data.targets(0, 256)).loss;
  for (int epoch = 0; epoch < 20; ++epoch)
    for (int s = 0; s < 8; ++s) t.step(data.inputs(s * 32, 32), data.targets(s * 32, 32));
  Evaluation after = t.evaluate(data.inputs(0, 256), data.targets(0, 256));
  EXPECT_LT(after.loss, before * 0.5);
  EXPECT_GT(after.accuracy, 0.9);
}

TEST(TrainerTest, ClippingScalesTheUpdateToTheMaxNorm) {
  Data data(16);
  TrainerConfig c;
  c.optimizer.learning_rate = 1.0;  // plain SGD: the update is the clipped gradient
  c.compute_dtype = DType::kF64;
  c.clip_norm = 0.01;
  Trainer t(mlp(), c);
  Snapshot before(t);
  t.step(data.inputs(0, 16), data.targets(0, 16));
  ASSERT_GT(t.last_grad_norm(), 0.01);
  const double* p0 = reinterpret_cast<const double*>(before.params.data());
  const double* p1 = t.flat_params().as<double>();
  double moved = 0;
  for (int64_t i = 0; i < t.plan().flat_param_count(); ++i) moved += (p1[i] - p0[i]) * (p1[i] - p0[i]);
  // As torch.nn.utils.clip_grad_norm_: scale = max_norm / (norm + 1e-6).
  const double norm = t.last_grad_norm();
  EXPECT_NEAR(std::sqrt(moved), 0.01 * norm / (norm + 1e-6), 1e-12);
}

// k micro-batches of b rows must equal one batch of k * b rows (mean loss).
void check_accumulation(DType dtype, double tolerance) {
  Data data(32);
  TrainerConfig c = adam_config();
  c.compute_dtype = dtype;
  c.optimizer.kind = OptimizerKind::kSgd;
  c.optimizer.momentum = 0.9;
  c.optimizer.learning_rate = 0.1;
  c.clip_norm = 1.0;
  TrainerConfig accumulating = c;
  accumulating.accumulation_steps = 4;
  Trainer whole(mlp(), c), parts(mlp(), accumulating);
  for (int round = 0; round < 3; ++round) {
    whole.step(data.inputs(0, 32), data.targets(0, 32));
    for (int k = 0; k < 4; ++k) {
      StepResult r = parts.step(data.inputs(k * 8, 8), data.targets(k * 8, 8));
      EXPECT_EQ(r.applied, k == 3);
    }
  }
  EXPECT_EQ(parts.optimizer_steps(), 3);
  std::vector<double> a(64), b(64);
  for (size_t i = 0; i < whole.plan().params().size(); ++i) {
    Shape shape = whole.plan().params()[i].spec.shape;
    a.resize(shape_numel(shape));
    b.resize(shape_numel(shape));
    whole.get_parameter(i, {a.data(), DType::kF64, shape, {}});
    parts.get_parameter(i, {b.data(), DType::kF64, shape, {}});
    for (size_t j = 0; j < a.size(); ++j)
      EXPECT_NEAR(a[j], b[j], tolerance * std::max(1.0, std::abs(a[j]))) << whole.plan().params()[i].name << "[" << j << "]";
  }
}

TEST(TrainerTest, AccumulationEqualsOneLargeBatchF64) { check_accumulation(DType::kF64, 1e-12); }
TEST(TrainerTest, AccumulationEqualsOneLargeBatchF32) { check_accumulation(DType::kF32, 1e-5); }

// A failed step changes nothing, and training then goes on exactly as if the
// failed call had never happened.
// `prepare` runs on both trainers before the failing call.
void expect_atomic_failure(TrainerConfig config, ErrorCode expected,
                           const std::function<void(Trainer&, Data&)>& failing_call,
                           const std::function<void(Trainer&)>& prepare = nullptr,
                           const char* message_part = "") {
  Data data(64);
  Trainer t(mlp(0.2), config), reference(mlp(0.2), config);
  for (Trainer* x : {&t, &reference}) {
    for (int s = 0; s < 3; ++s) x->step(data.inputs(s * 8, 8), data.targets(s * 8, 8));
    if (prepare) prepare(*x);
  }
  Snapshot before(t);
  try {
    failing_call(t, data);
    FAIL() << "the step did not fail";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), expected) << e.what();
    EXPECT_NE(std::string(e.what()).find(message_part), std::string::npos) << e.what();
  }
  EXPECT_TRUE(Snapshot(t) == before);
  t.step(data.inputs(24, 8), data.targets(24, 8));
  reference.step(data.inputs(24, 8), data.targets(24, 8));
  EXPECT_TRUE(Snapshot(t) == Snapshot(reference));
}

TEST(TrainerAtomicityTest, WrongInputShape) {
  expect_atomic_failure(adam_config(), ErrorCode::kShapeMismatch, [](Trainer& t, Data& d) {
    t.step(HostView{d.x.data(), DType::kF32, {4, kFeatures + 1}, {}}, d.targets(0, 4));
  });
}

TEST(TrainerAtomicityTest, WrongTargetDtype) {
  expect_atomic_failure(adam_config(), ErrorCode::kDtypeMismatch, [](Trainer& t, Data& d) {
    t.step(d.inputs(0, 4), {d.x.data(), DType::kF32, {4}, {}});
  });
}

TEST(TrainerAtomicityTest, LabelOutOfRange) {
  expect_atomic_failure(adam_config(), ErrorCode::kInvalidArgument, [](Trainer& t, Data& d) {
    std::vector<int32_t> labels = {0, 1, kClasses, 0};
    t.step(d.inputs(0, 4), {labels.data(), DType::kI32, {4}, {}});
  });
}

TEST(TrainerAtomicityTest, NonFiniteLoss) {
  // The NaN passes the ReLU (fused into the first Linear) and reaches the loss.
  expect_atomic_failure(adam_config(), ErrorCode::kNonFinite, [](Trainer& t, Data& d) {
    std::vector<float> x(d.x.begin(), d.x.begin() + 4 * kFeatures);
    x[5] = std::numeric_limits<float>::quiet_NaN();
    t.step(HostView{x.data(), DType::kF32, {4, kFeatures}, {}}, d.targets(0, 4));
  }, nullptr, "the loss is not finite");
}

TEST(TrainerAtomicityTest, NonFiniteLossIsNamed) {
  expect_atomic_failure(adam_config(), ErrorCode::kNonFinite, [](Trainer& t, Data& d) {
    std::vector<float> x(4 * kFeatures, std::numeric_limits<float>::infinity());
    t.step(HostView{x.data(), DType::kF32, {4, kFeatures}, {}}, d.targets(0, 4));
  }, nullptr, "the loss is not finite");
}

TEST(TrainerAtomicityTest, NonFiniteGradientWithFiniteLoss) {
  // First-layer weights 0 and biases 1 keep the forward finite for inputs near
  // FLT_MAX, but the weight gradient sums 64 rows of (gradient x 3e38): Inf in
  // f32 (with a summed loss, so the rows' gradients are not divided by 64).
  auto zero_first_layer = [](Trainer& t) {
    std::vector<float> weight(8 * kFeatures, 0.0f), bias(8, 1.0f);
    t.set_parameter(0, {weight.data(), DType::kF32, {8, kFeatures}, {}});
    t.set_parameter(1, {bias.data(), DType::kF32, {8}, {}});
  };
  TrainerConfig config = adam_config();
  config.reduction = Reduction::kSum;
  expect_atomic_failure(config, ErrorCode::kNonFinite, [](Trainer& t, Data&) {
    std::vector<float> x(64 * kFeatures, 3e38f);
    std::vector<int32_t> labels(64, 0);
    t.step(HostView{x.data(), DType::kF32, {64, kFeatures}, {}}, {labels.data(), DType::kI32, {64}, {}});
  }, zero_first_layer, "a gradient is not finite");
}

TEST(TrainerAtomicityTest, OutOfMemoryForALargerBatch) {
  TrainerConfig c = adam_config();
  c.memory_limit = 64 * 1024;  // room for small batches only
  expect_atomic_failure(c, ErrorCode::kOutOfMemory, [](Trainer& t, Data&) {
    Data big(4096);
    t.step(big.inputs(0, 4096), big.targets(0, 4096));
  });
}

TEST(TrainerAtomicityTest, AccumulatedGradientsSurviveAFailedMicroBatch) {
  TrainerConfig c = adam_config();
  c.accumulation_steps = 2;
  Data data(64);
  Trainer t(mlp(), c), reference(mlp(), c);
  t.step(data.inputs(0, 8), data.targets(0, 8));
  reference.step(data.inputs(0, 8), data.targets(0, 8));
  std::vector<float> x(data.x.begin(), data.x.begin() + 8 * kFeatures);
  x[0] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(t.step(HostView{x.data(), DType::kF32, {8, kFeatures}, {}}, data.targets(8, 8)), Error);
  t.step(data.inputs(8, 8), data.targets(8, 8));
  reference.step(data.inputs(8, 8), data.targets(8, 8));
  EXPECT_TRUE(Snapshot(t) == Snapshot(reference));
}

TEST(TrainerTest, SkipPolicyDropsNonFiniteBatches) {
  TrainerConfig c = adam_config();
  c.nonfinite = NonFinitePolicy::kSkip;
  Data data(16);
  Trainer t(mlp(), c);
  t.step(data.inputs(0, 8), data.targets(0, 8));
  Snapshot before(t);
  std::vector<float> x(data.x.begin(), data.x.begin() + 8 * kFeatures);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  StepResult r = t.step(HostView{x.data(), DType::kF32, {8, kFeatures}, {}}, data.targets(0, 8));
  EXPECT_TRUE(r.skipped);
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(t.skipped_steps(), 1);
  EXPECT_TRUE(Snapshot(t).params == before.params);
  EXPECT_EQ(t.optimizer_steps(), before.optimizer_steps);
}

TEST(TrainerTest, PredictGivesProbabilitiesThatAgreeWithEvaluate) {
  Data data(32);
  Trainer t(mlp(), adam_config());
  for (int s = 0; s < 4; ++s) t.step(data.inputs(s * 8, 8), data.targets(s * 8, 8));
  std::vector<float> probs(32 * kClasses), logits(32 * kClasses);
  t.predict(data.inputs(0, 32), true, {probs.data(), DType::kF32, {32, kClasses}, {}});
  t.predict(data.inputs(0, 32), false, {logits.data(), DType::kF32, {32, kClasses}, {}});
  int64_t correct = 0;
  for (int r = 0; r < 32; ++r) {
    float total = 0;
    int best = 0;
    for (int k = 0; k < kClasses; ++k) {
      total += probs[r * kClasses + k];
      if (logits[r * kClasses + k] > logits[r * kClasses + best]) best = k;
      EXPECT_EQ(probs[r * kClasses + k] > probs[r * kClasses + best], false);
    }
    EXPECT_NEAR(total, 1.0f, 1e-5f);
    correct += best == data.y[r];
  }
  EXPECT_DOUBLE_EQ(t.evaluate(data.inputs(0, 32), data.targets(0, 32)).accuracy, correct / 32.0);
  std::vector<float> wrong(10);
  EXPECT_THROW(t.predict(data.inputs(0, 32), false, {wrong.data(), DType::kF32, {10}, {}}), Error);
}

TEST(TrainerTest, DatasetEvaluationWeighsBatchesBySize) {
  Data data(50);
  Trainer t(mlp(), adam_config());
  Dataset ds = Dataset::from_views(data.inputs(0, 50), data.targets(0, 50));
  Evaluation whole = t.evaluate(data.inputs(0, 50), data.targets(0, 50));
  Evaluation batched = t.evaluate(ds, 16);  // 16, 16, 16, 2
  EXPECT_NEAR(batched.loss, whole.loss, 1e-6);
  EXPECT_DOUBLE_EQ(batched.accuracy, whole.accuracy);
  EXPECT_EQ(batched.samples, 50);
}

TEST(TrainerTest, RegressionWithMseLearns) {
  Graph g;
  int h = g.add_input("x", {2});
  h = g.add(make_linear(1, true, Init::kXavierUniform), {h});
  g.set_output(h, "y");
  TrainerConfig c;
  c.loss = LossKind::kMse;
  c.optimizer.learning_rate = 0.1;
  Trainer t(g, c);
  std::vector<float> x = {1, 0, 0, 1, 1, 1, -1, 2}, y = {3, -1, 2, -5};  // y = 3a - b
  for (int i = 0; i < 500; ++i) t.step(HostView{x.data(), DType::kF32, {4, 2}, {}}, {y.data(), DType::kF32, {4, 1}, {}});
  Evaluation e = t.evaluate(HostView{x.data(), DType::kF32, {4, 2}, {}}, {y.data(), DType::kF32, {4, 1}, {}});
  EXPECT_LT(e.loss, 1e-6);
  EXPECT_TRUE(std::isnan(e.accuracy));
}

}  // namespace
}  // namespace tk
