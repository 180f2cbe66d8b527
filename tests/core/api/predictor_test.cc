// Predictor: the trainer's predictions from a forward-only plan, the same
// from four threads at once as from one, a smaller arena, and no change when
// the trainer trains on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

#include "core/api/predictor.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

constexpr int64_t kSide = 8, kClasses = 4;

// Batch norm (running statistics), dropout, layer norm: state and ops that
// behave differently in training.
Graph cnn() {
  Graph g;
  int h = g.add_input("x", {1, kSide, kSide});
  h = g.add(make_conv2d(6, 3, 1, 1, 1, 1, false, Init::kHeUniform), {h}, "conv");
  h = g.add(make_batch_norm(1e-5, 0.1), {h}, "bn");
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_dropout2d(0.2), {h});
  h = g.add(make_max_pool2d(2, 2, 0), {h});
  h = g.add(make_flatten(), {h});
  h = g.add(make_layer_norm(1, 1e-5), {h}, "ln");
  h = g.add(make_linear(32, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kGelu), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Data {
  std::vector<float> x;
  std::vector<int32_t> y;
  explicit Data(int64_t n) : x(n * kSide * kSide), y(n) {
    Rng rng(3);
    for (float& v : x) v = static_cast<float>(2 * rng.uniform() - 1);
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<int32_t>(rng.next_u64() % kClasses);
  }
  HostView inputs(int64_t begin, int64_t count) {
    return {x.data() + begin * kSide * kSide, DType::kF32, {count, 1, kSide, kSide}, {}};
  }
  HostView targets(int64_t begin, int64_t count) { return {y.data() + begin, DType::kI32, {count}, {}}; }
};

TrainerConfig config() {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kAdam;
  c.optimizer.learning_rate = 0.01;
  c.threads = 1;
  c.seed = 2;
  return c;
}

std::vector<float> predicted(Predictor& p, Data& data, int64_t begin, int64_t count, bool probabilities) {
  std::vector<float> out(count * kClasses);
  p.predict(data.inputs(begin, count), probabilities, {out.data(), DType::kF32, {count, kClasses}, {}});
  return out;
}

// The predictor's Linear layers multiply by weights packed once (oneDNN),
// the trainer's by the weights as stored (BLAS): the same products, summed
// in another order, so equal to float rounding, not bit for bit.
void expect_close(const std::vector<float>& got, const std::vector<float>& expected, const char* what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], expected[i], 1e-5f * std::max(1.0f, std::abs(expected[i]))) << what << " [" << i << "]";
}

TEST(PredictorTest, PredictsAsTheTrainerDoes) {
  Data data(64);
  Trainer trainer(cnn(), config());
  for (int s = 0; s < 8; ++s) trainer.step(data.inputs(s * 8, 8), data.targets(s * 8, 8));
  Predictor predictor(trainer, 1);
  for (bool probabilities : {false, true})
    for (int64_t rows : {1, 7, 64}) {
      std::vector<float> expected(rows * kClasses);
      trainer.predict(data.inputs(0, rows), probabilities, {expected.data(), DType::kF32, {rows, kClasses}, {}});
      expect_close(predicted(predictor, data, 0, rows, probabilities), expected,
                   probabilities ? "probabilities" : "logits");
    }
  EXPECT_GT(predictor.prepared_bytes(), 0u);  // the packed path ran
  // Later steps do not reach the predictor.
  const std::vector<float> before = predicted(predictor, data, 0, 16, false);
  trainer.step(data.inputs(0, 16), data.targets(0, 16));
  EXPECT_EQ(predicted(predictor, data, 0, 16, false), before);
}

// More batch sizes than a node keeps products for: the oldest are made
// again, still from the weights packed once.
TEST(PredictorTest, ManyBatchSizesStayCorrect) {
  Data data(64);
  Trainer trainer(cnn(), config());
  trainer.step(data.inputs(0, 16), data.targets(0, 16));
  Predictor predictor(trainer, 1);
  for (int round = 0; round < 2; ++round)
    for (int64_t rows = 1; rows <= 20; ++rows) {
      std::vector<float> expected(rows * kClasses);
      trainer.predict(data.inputs(0, rows), false, {expected.data(), DType::kF32, {rows, kClasses}, {}});
      expect_close(predicted(predictor, data, 0, rows, false), expected, "logits");
    }
}

TEST(PredictorTest, FourThreadsAtOnceGetWhatOneGetsAlone) {
  Data data(96);
  Trainer trainer(cnn(), config());
  for (int s = 0; s < 4; ++s) trainer.step(data.inputs(s * 16, 16), data.targets(s * 16, 16));
  Predictor predictor(trainer, 1);
  // Alone: each thread's batches (different sizes, so plans are re-laid out).
  std::vector<std::vector<float>> alone;
  for (int t = 0; t < 4; ++t) alone.push_back(predicted(predictor, data, t * 20, 5 + 5 * t, t % 2 == 1));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round)
        mismatches[t] += predicted(predictor, data, t * 20, 5 + 5 * t, t % 2 == 1) != alone[t];
    });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(PredictorTest, ItsForwardOnlyArenaIsUnderHalfTheTrainers) {
  Data data(256);
  Trainer trainer(cnn(), config());
  trainer.step(data.inputs(0, 256), data.targets(0, 256));
  const size_t training_arena = trainer.plan().arena_bytes();
  Predictor predictor(trainer, 1);
  predicted(predictor, data, 0, 256, false);
  const size_t weights = static_cast<size_t>(trainer.plan().flat_param_count() + trainer.plan().flat_state_count()) * 4;
  const size_t inference_arena = predictor.bytes() - weights - predictor.prepared_bytes();
  std::printf("arena at batch 256: training %zu bytes, forward only %zu bytes\n", training_arena, inference_arena);
  EXPECT_LT(inference_arena * 2, training_arena);
}

TEST(PredictorTest, RefusesBadInputs) {
  Data data(8);
  Trainer trainer(cnn(), config());
  Predictor predictor(trainer, 1);
  std::vector<float> out(8 * kClasses);
  EXPECT_THROW(predictor.predict(data.inputs(0, 8), false, {out.data(), DType::kF32, {8, kClasses + 1}, {}}), Error);
  EXPECT_THROW(predictor.predict(data.inputs(0, 8), false, {out.data(), DType::kI32, {8, kClasses}, {}}), Error);
  HostView wrong = data.inputs(0, 8);
  wrong.shape = {8, 1, kSide, kSide - 1};
  EXPECT_THROW(predictor.predict(wrong, false, {out.data(), DType::kF32, {8, kClasses}, {}}), Error);
  // And works after each refusal (the plan went back to the pool).
  EXPECT_NO_THROW(predicted(predictor, data, 0, 8, false));
  EXPECT_THROW(Predictor(trainer, -1), Error);
}

}  // namespace
}  // namespace tk
