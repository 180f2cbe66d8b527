// Freezing and parameter groups: frozen tensors stay bit for bit, get no
// gradient or moments (the memory drop), and the trainable ones learn as if
// the frozen ones were constants; unfrozen, a tensor's Adam moments start
// fresh; a learning-rate factor and per-group decay act as stated; biases and
// norm parameters get no decay by default; checkpoints of frozen trainers
// resume exactly; bad requests change nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/api/checkpoint.h"
#include "core/api/trainer.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/io/safetensors.h"
#include "core/ops/ops.h"
#include "tests/core/error_code.h"

namespace tk {
namespace {

constexpr int64_t kFeatures = 12, kClasses = 3, kBatch = 16;

Graph mlp() {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(64, true, Init::kHeUniform), {h}, "body1");
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_layer_norm(1, 1e-5), {h}, "norm");
  h = g.add(make_linear(64, true, Init::kHeUniform), {h}, "body2");
  h = g.add(make_activation(Activation::kGelu), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h}, "head");
  g.set_output(h, "logits");
  return g;
}

// Convolutions (which get discarded scratch for a frozen weight) and batch norm.
Graph cnn() {
  Graph g;
  int h = g.add_input("x", {1, 6, 6});
  h = g.add(make_conv2d(4, 3, 1, 1, 1, 1, true, Init::kHeUniform), {h}, "conv");
  h = g.add(make_batch_norm(1e-5, 0.1), {h}, "bn");
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_flatten(), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h}, "head");
  g.set_output(h, "logits");
  return g;
}

struct Data {
  std::vector<float> x;
  std::vector<double> x64;
  std::vector<int32_t> y;
  int64_t width;
  Data(int64_t rows, int64_t width) : x(rows * width), x64(rows * width), y(rows), width(width) {
    Rng rng(5);
    for (size_t i = 0; i < x.size(); ++i) x64[i] = x[i] = static_cast<float>(2 * rng.uniform() - 1);
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % kClasses);
  }
  HostView inputs(const Shape& sample, int64_t batch, DType dtype = DType::kF32) {
    Shape shape = {kBatch};
    shape.insert(shape.end(), sample.begin(), sample.end());
    void* data = dtype == DType::kF64 ? static_cast<void*>(x64.data() + batch * kBatch * width)
                                      : static_cast<void*>(x.data() + batch * kBatch * width);
    return {data, dtype, shape, {}};
  }
  HostView targets(int64_t batch) { return {y.data() + batch * kBatch, DType::kI32, {kBatch}, {}}; }
};

TrainerConfig adam(DType dtype = DType::kF32) {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kAdam;
  c.optimizer.learning_rate = 0.01;
  c.compute_dtype = dtype;
  c.threads = 1;
  c.seed = 4;
  return c;
}

std::vector<double> weights(const Trainer& t, size_t index) {
  std::vector<double> out(static_cast<size_t>(t.plan().params()[index].count));
  t.get_parameter(index, {out.data(), DType::kF64, t.plan().params()[index].spec.shape, {}});
  return out;
}

size_t index_of(const Trainer& t, const std::string& name) {
  for (size_t i = 0; i < t.plan().params().size(); ++i)
    if (t.plan().params()[i].name == name) return i;
  ADD_FAILURE() << "no tensor " << name;
  return 0;
}

void train(Trainer& t, Data& data, const Shape& sample, int steps, DType dtype = DType::kF32) {
  for (int s = 0; s < steps; ++s) t.step(data.inputs(sample, s % 4, dtype), data.targets(s % 4));
}

TEST(Freeze, FrozenTensorsStayBitForBitAndTheRestLearn) {
  Data data(4 * kBatch, kFeatures);
  Trainer t(mlp(), adam());
  EXPECT_EQ(t.set_frozen("body*", true), 4);
  EXPECT_EQ(t.set_frozen("norm.*", true), 2);
  std::vector<std::vector<double>> before;
  for (size_t i = 0; i < t.plan().params().size(); ++i) before.push_back(weights(t, i));
  train(t, data, {kFeatures}, 8);
  for (size_t i = 0; i < t.plan().params().size(); ++i) {
    const std::string& name = t.plan().params()[i].name;
    if (name.rfind("head", 0) == 0)
      EXPECT_NE(weights(t, i), before[i]) << name;
    else
      EXPECT_EQ(weights(t, i), before[i]) << name;
  }
}

// A frozen tensor is a constant: the head learns exactly as it does when the
// body trains at rate 0 (whose gradients are computed and then unused).
TEST(Freeze, HeadLearnsAsWithABodyAtRateZero) {
  for (DType dtype : {DType::kF32, DType::kF64}) {
    Data data(4 * kBatch, kFeatures);
    Trainer frozen(mlp(), adam(dtype)), still(mlp(), adam(dtype));
    frozen.set_frozen("body*", true);
    frozen.set_frozen("norm.*", true);
    still.set_param_group("body*", 0.0, std::nullopt);
    still.set_param_group("norm.*", 0.0, std::nullopt);
    train(frozen, data, {kFeatures}, 6, dtype);
    train(still, data, {kFeatures}, 6, dtype);
    for (size_t i = 0; i < frozen.plan().params().size(); ++i)
      EXPECT_EQ(weights(frozen, i), weights(still, i)) << frozen.plan().params()[i].name << " " << dtype_name(dtype);
  }
}

// A linear layer with only its weight, or only its bias, trainable computes
// that gradient as the full backward does (the bias alone is a column sum).
TEST(Freeze, HalfFrozenLinearGradientsMatchTheFullBackward) {
  for (const char* frozen_part : {"head.weight", "head.bias"}) {
    Data data(4 * kBatch, kFeatures);
    TrainerConfig c = adam(DType::kF64);
    c.optimizer.kind = OptimizerKind::kSgd;
    c.optimizer.learning_rate = 0.5;
    Trainer half(mlp(), c), full(mlp(), c);
    half.set_frozen("body*", true);
    half.set_frozen("norm.*", true);
    half.set_frozen(frozen_part, true);
    full.set_param_group("*", 0.0, std::nullopt);
    full.set_param_group("head.*", 1.0, std::nullopt);
    full.set_param_group(frozen_part, 0.0, std::nullopt);
    train(half, data, {kFeatures}, 3, DType::kF64);
    train(full, data, {kFeatures}, 3, DType::kF64);
    for (const char* name : {"head.weight", "head.bias"}) {
      const std::vector<double> a = weights(half, index_of(half, name)), b = weights(full, index_of(full, name));
      for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-13) << name << " with " << frozen_part << " frozen";
    }
  }
}

TEST(Freeze, GradientsAndMomentsOfFrozenTensorsAreNotKept) {
  Data data(4 * kBatch, kFeatures);
  Trainer frozen(mlp(), adam()), full(mlp(), adam());
  frozen.set_frozen("body*", true);
  frozen.set_frozen("norm.*", true);
  train(frozen, data, {kFeatures}, 1);
  train(full, data, {kFeatures}, 1);
  int64_t body = 0;
  for (const ParamTensor& p : frozen.plan().params())
    if (p.grad_offset < 0) body += p.count;
  EXPECT_LT(frozen.plan().flat_grad_count(), frozen.plan().flat_param_count());
  EXPECT_LE(frozen.plan().flat_grad_count() + body, frozen.plan().flat_param_count());
  for (const OptimizerState& s : frozen.optimizer().state())
    EXPECT_EQ(s.tensor->numel(), frozen.plan().flat_grad_count()) << s.name;
  // Gradients and two Adam moments of the frozen tensors at least, plus the
  // activation gradients backward no longer needs.
  const int64_t drop = static_cast<int64_t>(full.memory_bytes()) - static_cast<int64_t>(frozen.memory_bytes());
  EXPECT_GE(drop, 3 * body * static_cast<int64_t>(sizeof(float)))
      << full.memory_bytes() << " vs " << frozen.memory_bytes();
}

// Convolutions and batch norm cannot skip a parameter's gradient: a frozen
// one is written to scratch and dropped, while the layer's other tensors
// train. Batch norm's running statistics still follow the data.
TEST(Freeze, ConvolutionAndBatchNormTensorsStayFrozen) {
  Data data(4 * kBatch, 36);
  Trainer t(cnn(), adam());
  t.set_frozen("conv.weight", true);
  t.set_frozen("bn.*", true);
  std::vector<std::vector<double>> before;
  for (size_t i = 0; i < t.plan().params().size(); ++i) before.push_back(weights(t, i));
  std::vector<double> mean(4);
  train(t, data, {1, 6, 6}, 5);
  for (size_t i = 0; i < t.plan().params().size(); ++i) {
    const std::string& name = t.plan().params()[i].name;
    if (name == "conv.bias" || name.rfind("head", 0) == 0)
      EXPECT_NE(weights(t, i), before[i]) << name;
    else
      EXPECT_EQ(weights(t, i), before[i]) << name;
  }
  t.get_state(0, {mean.data(), DType::kF64, {4}, {}});
  EXPECT_NE(mean, std::vector<double>(4, 0.0));
}

// Unfrozen at step k, a tensor's Adam moments start from zero with their
// own bias correction: its first update moves each weight by at most lr (as
// Adam's first step does), not by up to lr * (1 - b1) / sqrt(1 - b2) ~ 3.2 lr.
TEST(Freeze, UnfrozenTensorsStartFreshMoments) {
  Data data(4 * kBatch, kFeatures);
  TrainerConfig c = adam(DType::kF64);
  c.optimizer.eps = 1e-12;
  Trainer t(mlp(), c);
  t.set_frozen("body1.*", true);
  train(t, data, {kFeatures}, 20, DType::kF64);
  EXPECT_EQ(t.set_frozen("body1.*", false), 2);
  EXPECT_EQ(t.tensor_settings(index_of(t, "body1.weight")).moments_since, 20);
  const size_t w = index_of(t, "body1.weight");
  const std::vector<double> before = weights(t, w);
  train(t, data, {kFeatures}, 1, DType::kF64);
  const std::vector<double> after = weights(t, w);
  double largest = 0;
  for (size_t i = 0; i < before.size(); ++i) largest = std::max(largest, std::abs(after[i] - before[i]));
  EXPECT_LE(largest, 0.01 * (1 + 1e-9));
  EXPECT_GT(largest, 0.0099);
}

TEST(ParamGroups, RateFactorScalesTheUpdate) {
  Data data(4 * kBatch, kFeatures);
  TrainerConfig slow = adam(DType::kF64), fast = adam(DType::kF64);
  slow.optimizer.kind = fast.optimizer.kind = OptimizerKind::kSgd;
  slow.optimizer.learning_rate = 0.05;
  fast.optimizer.learning_rate = 0.1;
  Trainer scaled(mlp(), slow), plain(mlp(), fast);
  EXPECT_EQ(scaled.set_param_group("*", 2.0, std::nullopt), 8);
  train(scaled, data, {kFeatures}, 4, DType::kF64);
  train(plain, data, {kFeatures}, 4, DType::kF64);
  for (size_t i = 0; i < plain.plan().params().size(); ++i) {
    const std::vector<double> a = weights(scaled, i), b = weights(plain, i);
    for (size_t j = 0; j < a.size(); ++j) ASSERT_NEAR(a[j], b[j], 1e-12);
  }
}

TEST(ParamGroups, BiasesAndNormsGetNoDecayByDefault) {
  TrainerConfig c = adam();
  c.optimizer.kind = OptimizerKind::kAdamW;  // decay 0.01 by default
  Trainer t(mlp(), c);
  for (size_t i = 0; i < t.plan().params().size(); ++i) {
    const std::string& name = t.plan().params()[i].name;
    const bool decays = name.find(".weight") != std::string::npos && name.rfind("norm", 0) != 0;
    EXPECT_EQ(t.weight_decay_of(i), decays ? 0.01 : 0.0) << name;
  }
  t.set_param_group("head.bias", 1.0, 0.5);
  EXPECT_EQ(t.weight_decay_of(index_of(t, "head.bias")), 0.5);
  c.decay_bias_and_norm = true;
  Trainer all(mlp(), c);
  for (size_t i = 0; i < all.plan().params().size(); ++i) EXPECT_EQ(all.weight_decay_of(i), 0.01);
}

// SGD's L2 decay of one group's tensor, after one step against the same
// step without it; every other tensor steps as without the group.
TEST(ParamGroups, GroupDecayActsOnItsTensorsAlone) {
  Data data(4 * kBatch, kFeatures);
  TrainerConfig c = adam(DType::kF64);
  c.optimizer.kind = OptimizerKind::kSgd;
  c.optimizer.learning_rate = 0.1;
  Trainer decayed(mlp(), c), plain(mlp(), c);
  decayed.set_param_group("body1.weight", 1.0, 0.5);
  train(decayed, data, {kFeatures}, 1, DType::kF64);
  train(plain, data, {kFeatures}, 1, DType::kF64);
  Trainer start(mlp(), c);
  const size_t w = index_of(start, "body1.weight");
  const std::vector<double> w0 = weights(start, w), a = weights(decayed, w), b = weights(plain, w);
  // One step: a = w0 - lr (g + wd w0) = b - lr wd w0.
  for (size_t i = 0; i < w0.size(); ++i) ASSERT_NEAR(a[i], b[i] - 0.1 * 0.5 * w0[i], 1e-12);
  for (size_t i = 0; i < plain.plan().params().size(); ++i)
    if (i != w) {
      EXPECT_EQ(weights(decayed, i), weights(plain, i)) << plain.plan().params()[i].name;
    }
}

TEST(Freeze, CheckpointOfAFrozenTrainerResumesExactly) {
  Data data(4 * kBatch, kFeatures);
  const std::string path = ::testing::TempDir() + "/frozen.safetensors";
  Trainer straight(mlp(), adam()), first(mlp(), adam());
  for (Trainer* t : {&straight, &first}) t->set_frozen("body1.*", true);
  train(straight, data, {kFeatures}, 3);
  straight.set_frozen("body1.*", false);
  train(straight, data, {kFeatures}, 5);

  train(first, data, {kFeatures}, 3);
  first.set_frozen("body1.*", false);
  train(first, data, {kFeatures}, 2);
  save_checkpoint(first, path, nullptr);
  Trainer resumed(mlp(), adam());
  load_checkpoint(resumed, path, nullptr);
  // The batches the second train() call of `straight` went on with.
  for (int s = 2; s < 5; ++s) resumed.step(data.inputs({kFeatures}, s % 4), data.targets(s % 4));
  for (size_t i = 0; i < straight.plan().params().size(); ++i)
    EXPECT_EQ(weights(resumed, i), weights(straight, i)) << straight.plan().params()[i].name;

  // Saved while frozen: no moments in the file for the frozen tensors; a
  // trainer that trains them loads it and starts their moments fresh.
  Trainer frozen(mlp(), adam());
  frozen.set_frozen("body1.*", true);
  train(frozen, data, {kFeatures}, 2);
  save_checkpoint(frozen, path, nullptr);
  Trainer same(mlp(), adam()), unfrozen(mlp(), adam());
  same.set_frozen("body1.*", true);
  load_checkpoint(same, path, nullptr);
  load_checkpoint(unfrozen, path, nullptr);
  EXPECT_EQ(unfrozen.tensor_settings(index_of(unfrozen, "body1.weight")).moments_since, 2);
  train(same, data, {kFeatures}, 1);
  train(frozen, data, {kFeatures}, 1);
  for (size_t i = 0; i < same.plan().params().size(); ++i) EXPECT_EQ(weights(same, i), weights(frozen, i));
  std::remove(path.c_str());
}

TEST(Freeze, BadRequestsChangeNothing) {
  Data data(4 * kBatch, kFeatures);
  Trainer t(mlp(), adam());
  try {
    t.set_frozen("encoder.*", true);
    FAIL() << "a pattern matching nothing was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("body1.weight"), std::string::npos) << e.what();
  }
  // Everything frozen: no step until something trains again.
  EXPECT_EQ(t.set_frozen("*", true), 8);
  const std::vector<double> kept = weights(t, 0);
  EXPECT_EQ(code_of([&] { t.step(data.inputs({kFeatures}, 0), data.targets(0)); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.evaluate(data.inputs({kFeatures}, 0), data.targets(0)).samples, kBatch);
  EXPECT_EQ(t.plan().flat_grad_count(), 0);
  EXPECT_EQ(t.set_frozen("*", false), 8);
  EXPECT_EQ(weights(t, 0), kept);
  EXPECT_EQ(code_of([&] { t.set_param_group("head.*", -1.0, std::nullopt); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { t.set_param_group("head.*", 1.0, NAN); }), ErrorCode::kInvalidArgument);
  for (size_t i = 0; i < t.plan().params().size(); ++i) {
    EXPECT_FALSE(t.plan().frozen(static_cast<int64_t>(i)));
    EXPECT_EQ(t.tensor_settings(i).lr_scale, 1.0);
  }
  EXPECT_EQ(t.plan().flat_grad_count(), t.plan().flat_param_count());

  TrainerConfig c = adam();
  c.accumulation_steps = 2;
  Trainer accumulating(mlp(), c);
  accumulating.step(data.inputs({kFeatures}, 0), data.targets(0));  // half a window
  EXPECT_EQ(code_of([&] { accumulating.set_frozen("body1.*", true); }), ErrorCode::kInvalidArgument);
  accumulating.step(data.inputs({kFeatures}, 1), data.targets(1));
  EXPECT_EQ(accumulating.set_frozen("body1.*", true), 2);
  train(accumulating, data, {kFeatures}, 4);  // trains on with the new layout
}

// A frozen layer between trainable ones passes gradients through to the
// layers below as a layer at rate 0 does.
TEST(Freeze, AFrozenMiddleLayerPassesGradientsOn) {
  for (DType dtype : {DType::kF32, DType::kF64}) {
    Data data(4 * kBatch, kFeatures);
    Trainer frozen(mlp(), adam(dtype)), still(mlp(), adam(dtype));
    frozen.set_frozen("body2.*", true);
    still.set_param_group("body2.*", 0.0, std::nullopt);
    train(frozen, data, {kFeatures}, 6, dtype);
    train(still, data, {kFeatures}, 6, dtype);
    Trainer start(mlp(), adam(dtype));
    EXPECT_NE(weights(frozen, index_of(frozen, "body1.weight")), weights(start, index_of(start, "body1.weight")));
    for (size_t i = 0; i < frozen.plan().params().size(); ++i)
      EXPECT_EQ(weights(frozen, i), weights(still, i)) << frozen.plan().params()[i].name << " " << dtype_name(dtype);
  }
}

// Under mixed precision the half copy follows each update run: after
// training with frozen tensors and a group at its own rate, the trainer's
// loss equals that of a fresh trainer given its weights (whose half copy is
// made whole from them).
TEST(Freeze, MixedPrecisionHalfCopyFollowsEveryRun) {
  for (Precision precision : {Precision::kBf16, Precision::kFp16}) {
    Data data(4 * kBatch, kFeatures);
    TrainerConfig c = adam();
    c.precision = precision;
    Trainer t(mlp(), c);
    t.set_frozen("norm.*", true);
    t.set_param_group("body1.*", 0.5, 0.0);
    t.set_param_group("head.bias", 2.0, std::nullopt);
    train(t, data, {kFeatures}, 6);
    Trainer copy(mlp(), c);
    for (size_t i = 0; i < t.plan().params().size(); ++i) {
      std::vector<double> w = weights(t, i);
      copy.set_parameter(i, {w.data(), DType::kF64, t.plan().params()[i].spec.shape, {}});
    }
    for (int b = 0; b < 4; ++b)
      EXPECT_EQ(t.evaluate(data.inputs({kFeatures}, b), data.targets(b)).loss,
                copy.evaluate(data.inputs({kFeatures}, b), data.targets(b)).loss)
          << "batch " << b;
  }
}

// A checkpoint written before freezing existed (no "frozen" or
// "moments_since" in its state) loads and resumes as before.
TEST(Freeze, CheckpointWithoutFreezingMetadataLoads) {
  Data data(4 * kBatch, kFeatures);
  const std::string path = ::testing::TempDir() + "/old.safetensors";
  Trainer first(mlp(), adam());
  train(first, data, {kFeatures}, 2);
  save_checkpoint(first, path, nullptr);
  SafetensorsFile file = read_safetensors(path);
  EXPECT_EQ(file.metadata.at("format_version"), "1");
  nlohmann::json state = nlohmann::json::parse(file.metadata.at("state"));
  ASSERT_TRUE(state.contains("frozen"));
  state.erase("frozen");
  state.erase("moments_since");
  file.metadata["state"] = state.dump();
  write_file_atomically(path, serialize_safetensors(file.tensors, file.metadata));
  Trainer resumed(mlp(), adam());
  load_checkpoint(resumed, path, nullptr);
  train(resumed, data, {kFeatures}, 2);
  train(first, data, {kFeatures}, 2);
  for (size_t i = 0; i < first.plan().params().size(); ++i) EXPECT_EQ(weights(resumed, i), weights(first, i));
  // Saved with a tensor frozen: version 2, which older builds refuse by number.
  first.set_frozen("body1.*", true);
  save_checkpoint(first, path, nullptr);
  EXPECT_EQ(read_safetensors(path).metadata.at("format_version"), "2");
  std::remove(path.c_str());
}

// An accumulation window resumes only under the freezing it was gathered
// with; a tensor whose moments were saved in part is refused.
TEST(Freeze, CheckpointsThatDoNotFitTheFreezingAreRefused) {
  Data data(4 * kBatch, kFeatures);
  const std::string path = ::testing::TempDir() + "/window.safetensors";
  TrainerConfig c = adam();
  c.accumulation_steps = 2;
  Trainer t(mlp(), c);
  t.step(data.inputs({kFeatures}, 0), data.targets(0));  // half a window
  save_checkpoint(t, path, nullptr);
  Trainer frozen(mlp(), c);
  frozen.set_frozen("body1.*", true);
  const std::vector<double> kept = weights(frozen, 0);
  EXPECT_EQ(code_of([&] { load_checkpoint(frozen, path, nullptr); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(weights(frozen, 0), kept);
  Trainer same(mlp(), c);
  load_checkpoint(same, path, nullptr);

  TrainerSnapshot s = t.snapshot();
  s.optimizer_state.begin()->second[0].clear();  // one of Adam's moments only
  Trainer other(mlp(), c);
  EXPECT_EQ(code_of([&] { other.restore(s); }), ErrorCode::kInvalidArgument);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace tk
