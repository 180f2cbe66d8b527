// Data parallel in one process: N replicas on a global batch B give the
// weights of one replica on B; an overflow on one replica skips the step on
// all; replicas stay identical.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "core/api/replicated_trainer.h"
#include "core/backend/device.h"
#include "core/base/error.h"
#include "core/dist/local_group.h"
#include "core/ops/ops.h"
#include "tests/core/dist/classification_data.h"

namespace tk {
namespace {

constexpr int64_t kFeatures = 6, kClasses = 3;

Graph mlp() {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(16, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kGelu), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Data : ClassificationData {
  explicit Data(int64_t n) : ClassificationData(n, kFeatures, kClasses, 3) {}
};

std::vector<float> weights(Trainer& t) {
  const Tensor& p = t.flat_params();
  return std::vector<float>(p.as<float>(), p.as<float>() + p.numel());
}

struct Case {
  std::string name;
  int replicas;
  OptimizerKind optimizer;
  Reduction reduction;
  int accumulation;
  int64_t batch;
};

class ReplicaEquivalenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReplicaEquivalenceTest, MatchesOneReplicaOnTheWholeBatch) {
  const Case& c = GetParam();
  TrainerConfig config;
  config.optimizer.kind = c.optimizer;
  config.optimizer.learning_rate = 0.05;
  config.optimizer.momentum = c.optimizer == OptimizerKind::kSgd ? 0.9 : 0.0;
  config.reduction = c.reduction;
  config.accumulation_steps = c.accumulation;
  config.clip_norm = 5.0;
  config.seed = 4;
  config.bucket_bytes = 256;  // several buckets even for this small model
  Data data(c.batch * 6);
  ReplicatedTrainer single(mlp(), config, 1), group(mlp(), config, c.replicas);
  for (int s = 0; s < 6; ++s) {
    StepResult a = single.step(data.inputs(s * c.batch, c.batch), data.targets(s * c.batch, c.batch));
    StepResult b = group.step(data.inputs(s * c.batch, c.batch), data.targets(s * c.batch, c.batch));
    EXPECT_NEAR(b.loss, a.loss, 1e-5 * std::abs(a.loss)) << "step " << s;
  }
  const std::vector<float> expected = weights(single.primary());
  group.for_each([&](Trainer& replica) {
    const std::vector<float> got = weights(replica);
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_NEAR(got[i], expected[i], 1e-5 * std::max(1.0f, std::abs(expected[i]))) << c.name << " weight " << i;
  });
  EXPECT_EQ(group.primary().optimizer_steps(), single.primary().optimizer_steps());
  // Buckets were summed while backward still ran: every applied step started
  // at least the last layer's bucket before the first layer's backward.
  if (c.replicas > 1) {
    EXPECT_GE(group.primary().overlapped_buckets(), group.primary().optimizer_steps());
  }
}

INSTANTIATE_TEST_SUITE_P(
    ReplicaCounts, ReplicaEquivalenceTest,
    ::testing::Values(Case{"two_sgd_mean", 2, OptimizerKind::kSgd, Reduction::kMean, 1, 32},
                      Case{"four_adam_mean", 4, OptimizerKind::kAdam, Reduction::kMean, 1, 32},
                      Case{"four_uneven_rows", 4, OptimizerKind::kAdam, Reduction::kMean, 1, 30},
                      Case{"two_sum_reduction", 2, OptimizerKind::kSgd, Reduction::kSum, 1, 32},
                      Case{"two_accumulating", 2, OptimizerKind::kAdamW, Reduction::kMean, 2, 16}),
    [](const auto& info) { return info.param.name; });

// GPU replicas take one GPU each, through NCCL; without enough GPUs the
// trainer says how many it needs instead of falling back silently.
TEST(ReplicatedTrainerTest, GpuReplicasWithoutEnoughGpusFailClearly) {
  if (cuda_devices().size() >= 2) GTEST_SKIP() << "this machine has the GPUs (tests/cuda covers it)";
  TrainerConfig config;
  config.device = 0;
  try {
    ReplicatedTrainer group(mlp(), config, 2);
    FAIL() << "two GPU replicas were made without two GPUs";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("need 2 GPUs"), std::string::npos) << e.what();
  }
  config.device = kDeviceAuto;  // auto with too few GPUs: CPU replicas
  ReplicatedTrainer group(mlp(), config, 2);
  EXPECT_EQ(std::string(group.primary().backend().name()), "cpu");
}

TEST(ReplicatedTrainerTest, UnequalMicroBatchesInAWindowMatchOneReplica) {
  TrainerConfig config;
  config.optimizer.kind = OptimizerKind::kAdam;
  config.accumulation_steps = 2;
  Data data(120);
  ReplicatedTrainer single(mlp(), config, 1), group(mlp(), config, 2);
  int64_t at = 0;
  for (int64_t rows : {8, 4, 12, 6, 10, 2}) {  // windows of unequal halves, odd shard splits
    single.step(data.inputs(at, rows), data.targets(at, rows));
    group.step(data.inputs(at, rows), data.targets(at, rows));
    at += rows;
  }
  const std::vector<float> expected = weights(single.primary()), got = weights(group.primary());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], expected[i], 1e-5 * std::max(1.0f, std::abs(expected[i]))) << "weight " << i;
}

TEST(ReplicatedTrainerTest, OverflowOnOneReplicaSkipsTheStepOnAll) {
  TrainerConfig config;
  config.precision = Precision::kFp16;
  config.optimizer.kind = OptimizerKind::kAdam;
  Data data(64);
  ReplicatedTrainer group(mlp(), config, 2);
  group.step(data.inputs(0, 32), data.targets(0, 32));
  const std::vector<float> before = weights(group.primary());
  data.x[40 * kFeatures] = 1e6f;  // row 40 of rows 32..63: replica 1's half; Inf in f16
  StepResult r = group.step(data.inputs(32, 32), data.targets(32, 32));
  EXPECT_TRUE(r.skipped);
  group.for_each([&](Trainer& replica) {
    EXPECT_EQ(weights(replica), before);
    EXPECT_EQ(replica.skipped_steps(), 1);
    EXPECT_EQ(replica.loss_scaler().scale(), 32768.0f);
  });
}

TEST(ReplicatedTrainerTest, AnOverflowInsideAnAccumulationWindowKeepsReplicasInStep) {
  TrainerConfig config;
  config.precision = Precision::kFp16;
  config.accumulation_steps = 2;
  Data data(64);
  ReplicatedTrainer group(mlp(), config, 2);
  data.x[12 * kFeatures] = 1e6f;  // row 12 of rows 8..15: replica 1, first micro-batch of the window
  EXPECT_TRUE(group.step(data.inputs(8, 8), data.targets(8, 8)).skipped);
  // Both replicas dropped the window and go on together.
  for (int s = 0; s < 4; ++s) group.step(data.inputs(16 + 8 * s, 8), data.targets(16 + 8 * s, 8));
  const std::vector<float> reference = weights(group.primary());
  group.for_each([&](Trainer& replica) {
    EXPECT_EQ(weights(replica), reference);
    EXPECT_EQ(replica.optimizer_steps(), 2);
    EXPECT_EQ(replica.skipped_steps(), 1);
  });
}

TEST(LocalGroupTest, ReplicasCallingDifferentCollectivesFailInsteadOfCorruptingMemory) {
  LocalGroup group(2, std::chrono::seconds(10));
  float small[2] = {1, 2};
  float large[8] = {0};
  ErrorCode codes[2] = {ErrorCode::kInternal, ErrorCode::kInternal};
  std::thread other([&] {
    try {
      group.communicator(1)->all_reduce_sum(DType::kF32, large, 8);
    } catch (const Error& e) {
      codes[1] = e.code();
    }
  });
  try {
    group.communicator(0)->all_reduce_sum(DType::kF32, small, 2);
  } catch (const Error& e) {
    codes[0] = e.code();
  }
  other.join();
  EXPECT_EQ(codes[0], ErrorCode::kCommunication);
  EXPECT_EQ(codes[1], ErrorCode::kCommunication);
  EXPECT_EQ(small[0], 1.0f);
  EXPECT_EQ(large[0], 0.0f);
}

TEST(ReplicatedTrainerTest, ABadBatchFailsBeforeAnyReplicaStartsAndTheGroupGoesOn) {
  TrainerConfig config;
  Data data(64);
  ReplicatedTrainer group(mlp(), config, 2);
  std::vector<float> wide(4 * (kFeatures + 1));
  EXPECT_THROW(group.step(HostView{wide.data(), DType::kF32, {4, kFeatures + 1}, {}}, data.targets(0, 4)), Error);
  EXPECT_THROW(group.step(data.inputs(0, 1), data.targets(0, 1)), Error);  // 1 row, 2 replicas
  EXPECT_NO_THROW(group.step(data.inputs(0, 8), data.targets(0, 8)));
}

// 5 rows train one replica with batch norm; over 3 replicas the first slice
// has one row, too few to normalize: the error says which replica, which rows
// and why, and the group trains the next batch.
TEST(ReplicatedTrainerTest, ASliceTooSmallForBatchNormSaysWhichReplicaAndWhy) {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(8, true, Init::kHeUniform), {h});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  TrainerConfig config;
  Data data(64);
  ReplicatedTrainer one(g, config, 1), three(g, config, 3);
  EXPECT_NO_THROW(one.step(data.inputs(0, 5), data.targets(0, 5)));
  try {
    three.step(data.inputs(0, 5), data.targets(0, 5));
    FAIL() << "a one-row slice was normalized";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(message.find("replica 0 of 3 (rows 0 to 0 of a batch of 5"), std::string::npos) << message;
    EXPECT_NE(message.find("batch_norm"), std::string::npos) << message;
  }
  EXPECT_NO_THROW(three.step(data.inputs(0, 9), data.targets(0, 9)));
}

// Batch norm twice: over the 8 units of a Linear (then the fused ReLU), and
// per channel of a 2-channel image from a convolution (BatchNorm2d). The
// layers before them have no bias: its gradient would be zero but for
// rounding, which Adam scales up to full steps of either sign.
Graph batch_norm_model() {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(8, false, Init::kHeUniform), {h});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_reshape({2, 2, 2}), {h});
  h = g.add(make_conv2d(2, 3, 1, 1, 1, 1, false, Init::kHeUniform), {h});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  h = g.add(make_flatten(), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

std::vector<float> running_statistics(Trainer& t) {
  const Tensor& s = t.flat_state();
  return std::vector<float>(s.as<float>(), s.as<float>() + s.numel());
}

// The largest difference of two replicated runs' weights and running
// statistics after `steps` batches of `batch` rows.
double batch_norm_drift(int replicas, bool sync, OptimizerKind optimizer, int64_t batch, int steps) {
  TrainerConfig config;
  config.optimizer.kind = optimizer;
  config.optimizer.learning_rate = 0.05;
  config.optimizer.momentum = optimizer == OptimizerKind::kSgd ? 0.9 : 0.0;
  config.seed = 9;
  config.bucket_bytes = 128;
  config.sync_batch_norm = sync;
  Data data(batch * steps);
  ReplicatedTrainer single(batch_norm_model(), config, 1), group(batch_norm_model(), config, replicas);
  double drift = 0;
  for (int s = 0; s < steps; ++s) {
    const StepResult a = single.step(data.inputs(s * batch, batch), data.targets(s * batch, batch));
    const StepResult b = group.step(data.inputs(s * batch, batch), data.targets(s * batch, batch));
    drift = std::max(drift, std::abs(a.loss - b.loss) / std::max(1.0, std::abs(a.loss)));
  }
  const std::vector<float> w = weights(single.primary()), r = running_statistics(single.primary());
  group.for_each([&](Trainer& replica) {
    const std::vector<float> gw = weights(replica), gr = running_statistics(replica);
    for (size_t i = 0; i < w.size(); ++i) drift = std::max(drift, std::abs(double{gw[i]} - w[i]) / std::max(1.0f, std::abs(w[i])));
    for (size_t i = 0; i < r.size(); ++i) drift = std::max(drift, std::abs(double{gr[i]} - r[i]) / std::max(1.0f, std::abs(r[i])));
  });
  return drift;
}

// Sync batch norm: replicas normalize over every replica's rows, so they
// train (weights, running statistics, losses) as one replica on the whole
// batch, with even and uneven slices, SGD with momentum and Adam; without
// it they drift apart (the test would notice a sync that did nothing).
TEST(ReplicatedTrainerTest, SyncBatchNormMatchesOneReplicaOnTheWholeBatch) {
  EXPECT_LT(batch_norm_drift(2, true, OptimizerKind::kSgd, 32, 8), 1e-5);
  EXPECT_LT(batch_norm_drift(4, true, OptimizerKind::kAdam, 30, 8), 1e-5);
  EXPECT_LT(batch_norm_drift(3, true, OptimizerKind::kSgd, 7, 8), 1e-5);
  EXPECT_GT(batch_norm_drift(2, false, OptimizerKind::kSgd, 32, 8), 1e-4);
}

// With sync, a one-row slice is normalized with the other replicas' rows:
// the 5-row batch that fails over 3 replicas without it trains.
TEST(ReplicatedTrainerTest, SyncBatchNormTrainsSlicesOfOneRow) {
  EXPECT_LT(batch_norm_drift(3, true, OptimizerKind::kAdam, 5, 4), 1e-5);
  EXPECT_LT(batch_norm_drift(4, true, OptimizerKind::kSgd, 4, 4), 1e-5);
}

// With sync batch norm a replica whose own loss is not finite (a NaN target
// in its rows) still runs backward, so its batch norm sums meet its peers':
// every replica skips the step, nothing fails, and the group then trains on
// exactly as one replica that skipped the same batch.
TEST(ReplicatedTrainerTest, SyncBatchNormSkipsAStepWhoseLossIsNotFiniteOnOneReplica) {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(8, false, Init::kHeUniform), {h});
  h = g.add(make_batch_norm(1e-5, 0.1), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_linear(1, true, Init::kHeUniform), {h});
  g.set_output(h, "y");
  TrainerConfig config;
  config.loss = LossKind::kMse;
  config.nonfinite = NonFinitePolicy::kSkip;
  config.sync_batch_norm = true;
  config.seed = 3;
  Data data(16);
  std::vector<float> y(16);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(data.y[i]);
  std::vector<float> poisoned = y;
  poisoned[6] = std::nanf("");  // row 6: the second replica's slice
  auto targets = [](std::vector<float>& v) { return HostView{v.data(), DType::kF32, {8, 1}, {}}; };
  ReplicatedTrainer single(g, config, 1), group(g, config, 2);
  for (ReplicatedTrainer* t : {&single, &group}) {
    const StepResult skipped = t->step(data.inputs(0, 8), targets(poisoned));
    EXPECT_TRUE(skipped.skipped);
    EXPECT_FALSE(skipped.applied);
    for (int s = 0; s < 3; ++s) {
      const StepResult r = t->step(data.inputs(0, 8), targets(y));
      EXPECT_TRUE(r.applied) << (t == &single ? "one replica" : "two replicas") << ", step " << s << ", loss "
                             << r.loss << (r.skipped ? ", skipped" : "");
    }
  }
  const std::vector<float> expected = weights(single.primary());
  group.for_each([&](Trainer& replica) {
    const std::vector<float> got = weights(replica);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], expected[i], 1e-5 * std::max(1.0f, std::abs(expected[i])));
    EXPECT_EQ(replica.skipped_steps(), 1);
  });
}

// Batch norm with both its tensors frozen under sync batch norm: each
// frozen tensor's discarded gradient has its own scratch (the op sums them
// across replicas together), so two replicas still train the rest as one
// replica on the whole batch.
TEST(ReplicatedTrainerTest, SyncBatchNormWithFrozenNormTensorsMatchesOneReplica) {
  TrainerConfig config;
  config.optimizer.learning_rate = 0.05;
  config.seed = 9;
  config.sync_batch_norm = true;
  const int64_t batch = 16;
  Data data(batch * 6);
  ReplicatedTrainer single(batch_norm_model(), config, 1), group(batch_norm_model(), config, 2);
  int64_t frozen = 0;
  for (ReplicatedTrainer* t : {&single, &group})
    t->for_each([&](Trainer& replica) {
      for (const ParamTensor& p : replica.plan().params())
        if (p.name.find("batch_norm") != std::string::npos) frozen += replica.set_frozen(p.name, true);
    });
  ASSERT_EQ(frozen, 3 * 4);  // two norms of two tensors, on three trainers
  for (int s = 0; s < 6; ++s) {
    const StepResult a = single.step(data.inputs(s * batch, batch), data.targets(s * batch, batch));
    const StepResult b = group.step(data.inputs(s * batch, batch), data.targets(s * batch, batch));
    ASSERT_NEAR(a.loss, b.loss, 1e-5 * std::max(1.0, std::abs(a.loss))) << "step " << s;
  }
  const std::vector<float> w = weights(single.primary());
  group.for_each([&](Trainer& replica) {
    const std::vector<float> got = weights(replica);
    for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(got[i], w[i], 1e-5 * std::max(1.0f, std::abs(w[i]))) << i;
  });
}

// Replicas that froze different tensors fail the next step on all of them,
// before summing gradients of different layouts; freezing the rest alike
// brings the group back.
TEST(ReplicatedTrainerTest, ReplicasThatFreezeDifferentlyFailTheStepClearly) {
  TrainerConfig config;
  config.seed = 2;
  Data data(16);
  ReplicatedTrainer group(mlp(), config, 2);
  group.step(data.inputs(0, 8), data.targets(0, 8));
  int replica = 0;
  group.for_each([&](Trainer& t) {
    if (replica++ == 0) t.set_frozen("*.bias", true);
  });
  try {
    group.step(data.inputs(8, 8), data.targets(8, 8));
    FAIL() << "replicas with different frozen tensors stepped";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different tensors"), std::string::npos) << e.what();
  }
  group.for_each([&](Trainer& t) { t.set_frozen("*.bias", true); });
  EXPECT_TRUE(group.step(data.inputs(8, 8), data.targets(8, 8)).applied);
}

TEST(LocalGroupTest, APeerThatNeverArrivesTimesOut) {
  LocalGroup group(2, std::chrono::milliseconds(200));
  const auto start = std::chrono::steady_clock::now();
  float value = 1;
  try {
    group.communicator(0)->all_reduce_sum(DType::kF32, &value, 1);
    FAIL() << "a lone replica finished an all-reduce";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kCommunication);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);
}

TEST(LocalGroupTest, SumsAndBroadcastsAcrossThreads) {
  const int n = 4;
  LocalGroup group(n, std::chrono::seconds(10));
  std::vector<std::vector<double>> data(n, std::vector<double>(1001));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r)
    threads.emplace_back([&, r] {
      for (size_t i = 0; i < data[r].size(); ++i) data[r][i] = r + 0.5 * static_cast<double>(i);
      group.communicator(r)->all_reduce_sum(DType::kF64, data[r].data(), 1001);
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r)
    for (size_t i = 0; i < data[r].size(); ++i) ASSERT_EQ(data[r][i], 6 + 2.0 * static_cast<double>(i));
}

}  // namespace
}  // namespace tk
