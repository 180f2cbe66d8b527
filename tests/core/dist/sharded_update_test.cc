// CPU replicas split the optimizer's update (each updates its share of the
// weights and moments, then they exchange weights): the weights, moments and
// decisions are bit for bit those of replicas that each run the whole update,
// through freezing, restores, refused updates and mixed precision.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/api/checkpoint.h"
#include "core/api/replica_fanout.h"
#include "core/api/replicated_trainer.h"
#include "core/dist/local_group.h"
#include "core/ops/ops.h"
#include "tests/core/dist/classification_data.h"
#include "core/optim/update_shard.h"

namespace tk {
namespace {

constexpr int64_t kFeatures = 5, kClasses = 3;

Graph mlp(int64_t hidden) {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(hidden, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_linear(hidden, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Data : ClassificationData {
  explicit Data(int64_t n) : ClassificationData(n, kFeatures, kClasses, 11) {}
};

TrainerConfig config_for(OptimizerKind kind, bool shard) {
  TrainerConfig config;
  config.optimizer.kind = kind;
  config.optimizer.learning_rate = 0.01;
  config.optimizer.momentum = kind == OptimizerKind::kSgd ? 0.9 : 0.0;
  config.seed = 5;
  config.shard_update = shard;
  return config;
}

// Steps `steps` batches of `batch` rows from step `first` on.
void train(ReplicatedTrainer& group, Data& data, int first, int steps, int64_t batch) {
  for (int s = first; s < first + steps; ++s) group.step(data.inputs(s * batch, batch), data.targets(s * batch, batch));
}

std::vector<uint8_t> bytes_of(const Tensor& t) {
  const auto* p = static_cast<const uint8_t*>(t.data());
  return std::vector<uint8_t>(p, p + t.bytes());
}

// Every replica of `sharded` holds the weights of `whole`'s, and the
// snapshots (moments gathered whole) are the same, bit for bit.
void expect_identical(ReplicatedTrainer& sharded, ReplicatedTrainer& whole, const std::string& where) {
  const std::vector<uint8_t> expected = bytes_of(whole.primary().flat_params());
  int r = 0;
  sharded.for_each([&](Trainer& replica) {
    EXPECT_EQ(bytes_of(replica.flat_params()), expected) << where << ": replica " << r++ << "'s weights";
  });
  const TrainerSnapshot a = sharded.primary().snapshot(), b = whole.primary().snapshot();
  EXPECT_FALSE(sharded.primary().optimizer_state_stale());
  EXPECT_EQ(a.optimizer_steps, b.optimizer_steps) << where;
  EXPECT_EQ(a.params, b.params) << where;
  ASSERT_EQ(a.optimizer_state.size(), b.optimizer_state.size()) << where;
  for (const auto& [name, tensors] : b.optimizer_state) EXPECT_EQ(a.optimizer_state.at(name), tensors) << where << ": " << name;
  // Gathered, every replica's moments are whole, not only the primary's.
  const std::vector<OptimizerState> primary_state = sharded.primary().optimizer().state();
  sharded.for_each([&](Trainer& replica) {
    const std::vector<OptimizerState> state = replica.optimizer().state();
    for (size_t i = 0; i < state.size(); ++i)
      EXPECT_EQ(bytes_of(*state[i].tensor), bytes_of(*primary_state[i].tensor)) << where << ": " << state[i].name;
  });
}

struct Case {
  std::string name;
  int replicas;
  OptimizerKind optimizer;
  int64_t hidden;
  Precision precision;
};

class ShardedUpdateTest : public ::testing::TestWithParam<Case> {};

TEST_P(ShardedUpdateTest, MatchesReplicasThatRunTheWholeUpdate) {
  const Case& c = GetParam();
  TrainerConfig sharded_config = config_for(c.optimizer, true), whole_config = config_for(c.optimizer, false);
  sharded_config.precision = whole_config.precision = c.precision;
  ReplicatedTrainer sharded(mlp(c.hidden), sharded_config, c.replicas);
  ReplicatedTrainer whole(mlp(c.hidden), whole_config, c.replicas);
  Data data(16 * 12);
  train(sharded, data, 0, 4, 16);
  train(whole, data, 0, 4, 16);
  EXPECT_TRUE(sharded.primary().optimizer_state_stale()) << "the update was not sharded";
  EXPECT_FALSE(whole.primary().optimizer_state_stale());
  expect_identical(sharded, whole, "after 4 steps");
  // Moments read mid-run (the snapshot above) leave the run as it was.
  train(sharded, data, 4, 2, 16);
  train(whole, data, 4, 2, 16);
  expect_identical(sharded, whole, "after 6 steps");
  // Freezing the first tensor changes the layout and every share.
  const std::string first = sharded.primary().plan().params()[0].name;
  sharded.for_each([&](Trainer& t) { t.set_frozen(first, true); });
  whole.for_each([&](Trainer& t) { t.set_frozen(first, true); });
  train(sharded, data, 6, 3, 16);
  train(whole, data, 6, 3, 16);
  expect_identical(sharded, whole, "after freezing");
  sharded.for_each([&](Trainer& t) { t.set_frozen(first, false); });
  whole.for_each([&](Trainer& t) { t.set_frozen(first, false); });
  train(sharded, data, 9, 3, 16);
  train(whole, data, 9, 3, 16);
  expect_identical(sharded, whole, "after unfreezing");
}

INSTANTIATE_TEST_SUITE_P(
    Shares, ShardedUpdateTest,
    ::testing::Values(Case{"two_adam", 2, OptimizerKind::kAdam, 40, Precision::kFp32},
                      Case{"three_adamw", 3, OptimizerKind::kAdamW, 40, Precision::kFp32},
                      Case{"two_sgd_momentum", 2, OptimizerKind::kSgd, 40, Precision::kFp32},
                      // 3 x 3 + 3 ... : fewer weights than 64 per replica, so some shares are empty
                      Case{"four_tiny", 4, OptimizerKind::kAdam, 3, Precision::kFp32},
                      Case{"two_bf16", 2, OptimizerKind::kAdam, 40, Precision::kBf16}),
    [](const auto& info) { return info.param.name; });

TEST(ShardedUpdateTest, ARestoreContinuesAsTheWholeUpdateDoes) {
  ReplicatedTrainer sharded(mlp(40), config_for(OptimizerKind::kAdam, true), 2);
  ReplicatedTrainer whole(mlp(40), config_for(OptimizerKind::kAdam, false), 2);
  Data data(16 * 10);
  train(whole, data, 0, 5, 16);
  const TrainerSnapshot saved = whole.primary().snapshot();
  train(sharded, data, 0, 2, 16);  // a different state, replaced whole
  sharded.for_each([&](Trainer& t) { t.restore(saved); });
  EXPECT_FALSE(sharded.primary().optimizer_state_stale());
  train(sharded, data, 5, 4, 16);
  train(whole, data, 5, 4, 16);
  expect_identical(sharded, whole, "after a restore");
}

// An update that would overflow is refused by every replica, though each
// checks only its own share: nothing changes, and training goes on.
TEST(ShardedUpdateTest, ARefusedUpdateIsRefusedByTheWholeGroup) {
  TrainerConfig sharded_config = config_for(OptimizerKind::kAdam, true);
  TrainerConfig whole_config = config_for(OptimizerKind::kAdam, false);
  sharded_config.nonfinite = whole_config.nonfinite = NonFinitePolicy::kSkip;
  ReplicatedTrainer sharded(mlp(40), sharded_config, 2);
  ReplicatedTrainer whole(mlp(40), whole_config, 2);
  Data data(16 * 8);
  train(sharded, data, 0, 2, 16);
  train(whole, data, 0, 2, 16);
  const std::vector<uint8_t> before = bytes_of(sharded.primary().flat_params());
  for (ReplicatedTrainer* g : {&sharded, &whole}) g->for_each([](Trainer& t) { t.set_learning_rate(1e38); });
  const StepResult refused = sharded.step(data.inputs(32, 16), data.targets(32, 16));
  whole.step(data.inputs(32, 16), data.targets(32, 16));
  EXPECT_FALSE(refused.applied);
  EXPECT_TRUE(refused.skipped);
  EXPECT_EQ(bytes_of(sharded.primary().flat_params()), before);
  EXPECT_EQ(sharded.primary().skipped_steps(), 1);
  expect_identical(sharded, whole, "after a refused update");
  for (ReplicatedTrainer* g : {&sharded, &whole}) g->for_each([](Trainer& t) { t.set_learning_rate(0.01); });
  train(sharded, data, 3, 3, 16);
  train(whole, data, 3, 3, 16);
  expect_identical(sharded, whole, "after the refused update");
}

// A checkpoint saved from a sharded group holds the whole moments: loaded
// into a group that runs the whole update, and back into a sharded one,
// training goes on as if never interrupted.
TEST(ShardedUpdateTest, ACheckpointHoldsEveryShareOfTheMoments) {
  const std::string path = ::testing::TempDir() + "/sharded_update_test.safetensors";
  ReplicatedTrainer sharded(mlp(40), config_for(OptimizerKind::kAdam, true), 2);
  ReplicatedTrainer whole(mlp(40), config_for(OptimizerKind::kAdam, false), 2);
  Data data(16 * 10);
  train(sharded, data, 0, 5, 16);
  train(whole, data, 0, 5, 16);
  ASSERT_TRUE(sharded.primary().optimizer_state_stale());
  save_checkpoint(sharded.primary(), path, nullptr);
  ReplicatedTrainer from_sharded(mlp(40), config_for(OptimizerKind::kAdam, false), 2);
  ReplicatedTrainer sharded_again(mlp(40), config_for(OptimizerKind::kAdam, true), 2);
  load_checkpoint_on_all(from_sharded, path, nullptr);
  load_checkpoint_on_all(sharded_again, path, nullptr);
  for (ReplicatedTrainer* g : {&whole, &from_sharded, &sharded_again}) train(*g, data, 5, 3, 16);
  expect_identical(sharded_again, whole, "sharded, resumed");
  expect_identical(sharded_again, from_sharded, "sharded against whole, both resumed");
  std::remove(path.c_str());
}

// Clipping reads the gradients' norm, which a sharded group squares a
// slice per replica and adds up: the same on every replica, but summed in
// another order than one replica's, so the weights agree to rounding, not
// to the bit. With accumulation and f16's dynamic loss scaling too.
TEST(ShardedUpdateTest, ClippedAccumulatedF16StepsAgreeToRounding) {
  TrainerConfig sharded_config = config_for(OptimizerKind::kAdam, true);
  TrainerConfig whole_config = config_for(OptimizerKind::kAdam, false);
  for (TrainerConfig* c : {&sharded_config, &whole_config}) {
    c->clip_norm = 0.05;  // below these gradients' norm: every step clips
    c->accumulation_steps = 2;
    c->precision = Precision::kFp16;
  }
  ReplicatedTrainer sharded(mlp(40), sharded_config, 2), whole(mlp(40), whole_config, 2);
  Data data(16 * 12);
  train(sharded, data, 0, 12, 16);
  train(whole, data, 0, 12, 16);
  EXPECT_EQ(sharded.primary().optimizer_steps(), 6);
  EXPECT_GT(sharded.primary().last_grad_norm(), 0.05);
  const std::vector<uint8_t> first = bytes_of(sharded.primary().flat_params());
  sharded.for_each([&](Trainer& replica) { EXPECT_EQ(bytes_of(replica.flat_params()), first); });
  const Tensor &a = sharded.primary().flat_params(), &b = whole.primary().flat_params();
  for (int64_t i = 0; i < a.numel(); ++i)
    ASSERT_NEAR(a.as<float>()[i], b.as<float>()[i], 1e-5 * std::max(1.0f, std::abs(b.as<float>()[i]))) << i;
  const TrainerSnapshot sa = sharded.primary().snapshot(), sb = whole.primary().snapshot();
  EXPECT_EQ(sa.loss_scale, sb.loss_scale);
  EXPECT_EQ(sa.skipped_steps, sb.skipped_steps);
}

// An update that overflows only in the last replica's share (the last
// tensor, with a learning-rate factor of 1e40) is refused by all of them:
// the others' shares are finite, and they learn so from the group.
TEST(ShardedUpdateTest, AnOverflowInOneShareIsRefusedByEveryReplica) {
  auto make = [](bool shard) {
    TrainerConfig config = config_for(OptimizerKind::kAdamW, shard);
    config.nonfinite = NonFinitePolicy::kSkip;
    // A peer that took another branch would leave the others waiting: fail fast.
    return std::make_unique<ReplicatedTrainer>(mlp(40), config, 2, std::chrono::seconds(10));
  };
  std::unique_ptr<ReplicatedTrainer> sharded = make(true), whole = make(false);
  Data data(16 * 8);
  train(*sharded, data, 0, 2, 16);
  train(*whole, data, 0, 2, 16);
  const std::string last = sharded->primary().plan().params().back().name;
  const std::vector<uint8_t> before = bytes_of(sharded->primary().flat_params());
  for (ReplicatedTrainer* g : {sharded.get(), whole.get()})
    g->for_each([&](Trainer& t) { EXPECT_EQ(t.set_param_group(last, 1e40, 1.0), 1); });
  const StepResult refused = sharded->step(data.inputs(32, 16), data.targets(32, 16));
  EXPECT_FALSE(refused.applied);
  EXPECT_TRUE(refused.skipped);
  EXPECT_FALSE(whole->step(data.inputs(32, 16), data.targets(32, 16)).applied);
  EXPECT_EQ(bytes_of(sharded->primary().flat_params()), before);
  expect_identical(*sharded, *whole, "after one share's overflow");
  for (ReplicatedTrainer* g : {sharded.get(), whole.get()})
    g->for_each([&](Trainer& t) { t.set_param_group(last, 1.0, 0.0); });
  train(*sharded, data, 3, 3, 16);
  train(*whole, data, 3, 3, 16);
  expect_identical(*sharded, *whole, "after the overflow");
}

TEST(UpdateShardTest, SharesCoverEveryWeightOnceAndCutAtCacheLines) {
  // Three tensors train, with a frozen one (weights 100..149) between the
  // first two and one (weights 400..) after the last.
  UpdateLayout layout;
  layout.runs = {{0, 0, 100, 1, 0, 0}, {150, 100, 200, 1, 0, 0}, {350, 300, 50, 0.5, 0, 0}};
  layout.grad_count = 350;
  for (int ranks : {1, 2, 3, 5, 8}) {
    int64_t grads = 0, weights = 0;
    for (int r = 0; r < ranks; ++r) {
      const UpdateShard s = shard_of(layout, 420, r, ranks);
      ASSERT_EQ(s.grad_bounds.size(), static_cast<size_t>(ranks) + 1);
      EXPECT_EQ(s.grad_begin, grads) << ranks << " ranks, rank " << r;
      EXPECT_EQ(s.param_begin, weights) << ranks << " ranks, rank " << r;
      EXPECT_TRUE(s.grad_begin % 64 == 0 || s.grad_begin == 350);
      EXPECT_LE(s.grad_begin, s.grad_end);
      // Each gradient element's weight lies in its rank's weights.
      for (const UpdateRun& run : layout.runs)
        for (int64_t g = std::max(run.grad_offset, s.grad_begin); g < std::min(run.grad_offset + run.count, s.grad_end); ++g) {
          const int64_t w = run.param_offset + (g - run.grad_offset);
          ASSERT_TRUE(w >= s.param_begin && w < s.param_end) << "gradient " << g << ", weight " << w;
        }
      grads = s.grad_end;
      weights = s.param_end;
    }
    EXPECT_EQ(grads, 350);
    EXPECT_EQ(weights, 420);
  }
}

TEST(LocalGroupTest, GathersEveryReplicasSliceIntoEveryReplica) {
  const int n = 3;
  LocalGroup group(n, std::chrono::seconds(10));
  const std::vector<size_t> bounds = {0, 5, 5, 12};  // replica 1's slice is empty
  std::vector<std::vector<char>> data(n, std::vector<char>(12, '.'));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      for (size_t i = bounds[r]; i < bounds[r + 1]; ++i) data[r][i] = static_cast<char>('a' + r);
      group.communicator(r)->all_gather(data[r].data(), bounds);
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r) EXPECT_EQ(std::string(data[r].begin(), data[r].end()), "aaaaaccccccc") << r;
}

}  // namespace
}  // namespace tk
