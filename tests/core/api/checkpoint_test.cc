// Checkpoints: exact resume (bit for bit), round trips for every optimizer and
// precision, all-or-nothing loading, keep-last-N, data cursors, weight export.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/api/checkpoint.h"
#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/data/batcher.h"
#include "core/io/safetensors.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

constexpr int64_t kFeatures = 6, kClasses = 3;

std::string temp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

Graph mlp() {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(8, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_dropout(0.2), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Data {
  std::vector<float> x;
  std::vector<int32_t> y;
  Dataset dataset;
  Data() : x(96 * kFeatures), y(96) {
    Rng rng(2);
    for (float& v : x) v = static_cast<float>(2 * rng.uniform() - 1);
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % kClasses);
    dataset = Dataset::from_views({x.data(), DType::kF32, {96, kFeatures}, {}}, {y.data(), DType::kI32, {96}, {}});
  }
};

// Runs batches from the batcher (a new epoch when one ends) for `steps` steps.
void train(Trainer& t, Batcher& b, int steps) {
  HostView x, y;
  for (int s = 0; s < steps; ++s) {
    if (!b.next(&x, &y)) {
      b.reset(b.epoch() + 1);
      ASSERT_TRUE(b.next(&x, &y));
    }
    t.step(x, y);
  }
}

std::vector<char> state_bytes(Trainer& t) {
  TrainerSnapshot s = t.snapshot();
  std::vector<char> all;
  for (const auto& p : s.params) all.insert(all.end(), p.begin(), p.end());
  for (const auto& [name, tensors] : s.optimizer_state)
    for (const auto& p : tensors) all.insert(all.end(), p.begin(), p.end());
  for (const auto& p : s.accumulated) all.insert(all.end(), p.begin(), p.end());
  return all;
}

struct ResumeCase {
  std::string name;
  OptimizerKind optimizer;
  Precision precision;
  int accumulation;
};

class ResumeTest : public ::testing::TestWithParam<ResumeCase> {};

// 2N steps straight equal N steps, save, load into a fresh trainer and batcher,
// N more steps: bit for bit on the CPU.
TEST_P(ResumeTest, ResumedRunIsBitIdenticalToAStraightRun) {
  const ResumeCase& c = GetParam();
  TrainerConfig config;
  config.optimizer.kind = c.optimizer;
  config.optimizer.learning_rate = 0.05;
  config.optimizer.momentum = c.optimizer == OptimizerKind::kSgd ? 0.9 : 0.0;
  config.precision = c.precision;
  config.accumulation_steps = c.accumulation;
  config.schedule.kind = ScheduleKind::kCosine;
  config.schedule.total_steps = 40;
  config.seed = 11;
  config.threads = 2;
  Data data;
  const int n = 7;  // odd: with accumulation 2 the save lands mid-window

  Trainer straight(mlp(), config);
  Batcher straight_batches(data.dataset, 16, true, 5, false);
  train(straight, straight_batches, 2 * n);

  const std::string path = temp("resume-" + c.name + ".safetensors");
  {
    Trainer first(mlp(), config);
    Batcher batches(data.dataset, 16, true, 5, false);
    train(first, batches, n);
    first.properties()["note"] = "halfway";
    save_checkpoint(first, path, &batches);
  }
  TrainerConfig other_seed = config;
  other_seed.seed = 99;  // the checkpoint's seed wins
  Trainer resumed(mlp(), other_seed);
  Batcher batches(data.dataset, 16, true, 5, false);
  load_checkpoint(resumed, path, &batches);
  EXPECT_EQ(resumed.properties().at("note"), "halfway");
  train(resumed, batches, n);

  EXPECT_EQ(state_bytes(resumed), state_bytes(straight));
  EXPECT_EQ(resumed.optimizer_steps(), straight.optimizer_steps());
  EXPECT_EQ(resumed.micro_steps(), straight.micro_steps());
  EXPECT_EQ(resumed.loss_scaler().scale(), straight.loss_scaler().scale());
  EXPECT_EQ(resumed.loss_scaler().growth_tracker(), straight.loss_scaler().growth_tracker());
}

INSTANTIATE_TEST_SUITE_P(
    AllOptimizersAndPrecisions, ResumeTest,
    ::testing::Values(ResumeCase{"sgd_fp32", OptimizerKind::kSgd, Precision::kFp32, 1},
                      ResumeCase{"adam_fp32", OptimizerKind::kAdam, Precision::kFp32, 1},
                      ResumeCase{"adamw_fp32_accumulating", OptimizerKind::kAdamW, Precision::kFp32, 2},
                      ResumeCase{"adam_fp16", OptimizerKind::kAdam, Precision::kFp16, 1},
                      ResumeCase{"sgd_bf16", OptimizerKind::kSgd, Precision::kBf16, 1}),
    [](const auto& info) { return info.param.name; });

TEST(CheckpointTest, FailedLoadsChangeNothing) {
  Data data;
  TrainerConfig config;
  config.optimizer.kind = OptimizerKind::kAdam;
  Trainer t(mlp(), config);
  Batcher batches(data.dataset, 16, true, 5, false);
  train(t, batches, 3);
  const std::string good = temp("good.safetensors");
  save_checkpoint(t, good, &batches);
  train(t, batches, 2);
  const std::vector<char> before = state_bytes(t);
  const BatcherCursor cursor_before = batches.cursor();

  auto expect_refused = [&](const std::string& path, const std::string& why) {
    EXPECT_THROW(load_checkpoint(t, path, &batches), Error) << why;
    EXPECT_EQ(state_bytes(t), before) << why;
    EXPECT_EQ(batches.cursor().position, cursor_before.position) << why;
    EXPECT_EQ(t.optimizer_steps(), 5) << why;
  };
  // A damaged copy: truncated.
  std::ifstream in(good, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string truncated = temp("truncated.safetensors");
  std::ofstream(truncated, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 5));
  expect_refused(truncated, "truncated file");
  expect_refused(temp("missing.safetensors"), "missing file");

  // Another optimizer, another model, another batch size.
  TrainerConfig sgd;
  Trainer other_optimizer(mlp(), sgd);
  EXPECT_THROW(load_checkpoint(other_optimizer, good, nullptr), Error);
  Graph wider;
  int h = wider.add_input("x", {kFeatures});
  h = wider.add(make_linear(9, true, Init::kHeUniform), {h});
  h = wider.add(make_activation(Activation::kRelu), {h});
  h = wider.add(make_dropout(0.2), {h});
  h = wider.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  wider.set_output(h, "logits");
  Trainer other_model(wider, config);
  try {
    load_checkpoint(other_model, good, nullptr);
    FAIL() << "a checkpoint of another shape loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kShapeMismatch);
    EXPECT_NE(std::string(e.what()).find("linear_1.weight"), std::string::npos) << e.what();
  }
  Batcher other_batches(data.dataset, 32, true, 5, false);
  const std::vector<char> other_before = state_bytes(t);
  EXPECT_THROW(load_checkpoint(t, good, &other_batches), Error);
  EXPECT_EQ(state_bytes(t), other_before);
  // The good file still loads.
  load_checkpoint(t, good, &batches);
  EXPECT_EQ(t.optimizer_steps(), 3);
}

// Rewrites a saved file after `edit` changed its tensors or metadata.
void rewrite(const std::string& from, const std::string& to,
             const std::function<void(SafetensorsFile&)>& edit) {
  SafetensorsFile file = read_safetensors(from);
  edit(file);
  write_file_atomically(to, serialize_safetensors(file.tensors, file.metadata));
}

void set_state_field(SafetensorsFile& file, const char* name, const nlohmann::json& value) {
  nlohmann::json state = nlohmann::json::parse(file.metadata["state"]);
  state[name] = value;
  file.metadata["state"] = state.dump();
}

StoredTensor& tensor(SafetensorsFile& file, const std::string& name) {
  for (StoredTensor& t : file.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

TEST(CheckpointTest, MetadataValuesAndTensorsAreValidatedBeforeAnythingChanges) {
  Data data;
  TrainerConfig config;
  config.optimizer.kind = OptimizerKind::kAdam;
  Trainer t(mlp(), config);
  Batcher batches(data.dataset, 16, true, 5, false);
  train(t, batches, 3);
  const std::string good = temp("validated.safetensors");
  save_checkpoint(t, good, nullptr);
  train(t, batches, 2);
  const std::vector<char> before = state_bytes(t);
  auto expect_refused = [&](const std::function<void(SafetensorsFile&)>& edit, const std::string& needle) {
    const std::string bad = temp("edited.safetensors");
    rewrite(good, bad, edit);
    try {
      load_checkpoint(t, bad, nullptr);
      ADD_FAILURE() << "loaded a checkpoint with " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_EQ(state_bytes(t), before) << needle;
    EXPECT_EQ(t.optimizer_steps(), 5) << needle;
  };
  auto without_checksums = [](SafetensorsFile& f) { f.metadata.erase("checksums"); };

  expect_refused([&](SafetensorsFile& f) { set_state_field(f, "optimizer_steps", 1.5); }, "wrong type");
  expect_refused([&](SafetensorsFile& f) { set_state_field(f, "optimizer_steps", int64_t{1} << 62); }, "not in [0");
  expect_refused([&](SafetensorsFile& f) { set_state_field(f, "optimizer_steps", -1); }, "not in [0");
  expect_refused([&](SafetensorsFile& f) { set_state_field(f, "micro_steps", "3"); }, "wrong type");
  expect_refused([&](SafetensorsFile& f) { set_state_field(f, "loss_scale", -2.0); }, "loss scale");
  expect_refused([&](SafetensorsFile& f) { set_state_field(f, "accumulated_count", 4); }, "accumulated_count");
  expect_refused([&](SafetensorsFile& f) { set_state_field(f, "loss", "mse"); }, "loss mse");
  expect_refused([&](SafetensorsFile& f) { f.metadata["model_spec"] = "garbage"; }, "model_spec");
  expect_refused(
      [&](SafetensorsFile& f) {
        nlohmann::json spec = nlohmann::json::parse(f.metadata["model_spec"]);
        spec["nodes"][2]["op"] = "tanh";  // same shapes, another op
        f.metadata["model_spec"] = spec.dump();
      },
      "different model");
  // One flipped bit in a weight: the checksum catches it.
  expect_refused([&](SafetensorsFile& f) { tensor(f, "linear_1.weight").bytes[5] ^= 0x10; }, "checksum");
  // Without checksums (as files written before them), values are still checked.
  expect_refused(
      [&](SafetensorsFile& f) {
        without_checksums(f);
        const float nan = std::nanf("");
        std::memcpy(tensor(f, "linear_4.bias").bytes.data(), &nan, sizeof nan);
      },
      "non-finite");
  expect_refused(
      [&](SafetensorsFile& f) {
        without_checksums(f);
        const float negative = -1e-3f;
        std::memcpy(tensor(f, "optimizer.exp_avg_sq.linear_1.weight").bytes.data(), &negative, sizeof negative);
      },
      "negative variance");

  // A file without checksums and without a recorded loss (as older ones) loads.
  const std::string older = temp("older.safetensors");
  rewrite(good, older, [&](SafetensorsFile& f) {
    without_checksums(f);
    nlohmann::json state = nlohmann::json::parse(f.metadata["state"]);
    state.erase("loss");
    f.metadata["state"] = state.dump();
  });
  load_checkpoint(t, older, nullptr);
  EXPECT_EQ(t.optimizer_steps(), 3);

  // A cross-entropy checkpoint does not load into an MSE trainer.
  TrainerConfig mse = config;
  mse.loss = LossKind::kMse;
  Trainer regression(mlp(), mse);
  try {
    load_checkpoint(regression, good, nullptr);
    ADD_FAILURE() << "a cross-entropy checkpoint loaded into an MSE trainer";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("loss softmax_cross_entropy"), std::string::npos) << e.what();
  }
}

TEST(CheckpointTest, ParametersCannotBeSetToNonFiniteValues) {
  Trainer t(mlp(), TrainerConfig{});
  const ParamTensor& p = t.plan().params()[1];
  std::vector<float> values(static_cast<size_t>(p.count), 0.5f);
  values[2] = std::numeric_limits<float>::infinity();
  const std::vector<char> before = state_bytes(t);
  try {
    t.set_parameter(1, {values.data(), DType::kF32, p.spec.shape, {}});
    ADD_FAILURE() << "an infinite weight was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("element 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(state_bytes(t), before);
  // An f64 value beyond f32 would be stored as Inf.
  std::vector<double> wide(static_cast<size_t>(p.count), 0.5);
  wide[1] = 1e300;
  EXPECT_THROW(t.set_parameter(1, {wide.data(), DType::kF64, p.spec.shape, {}}), Error);
  EXPECT_EQ(state_bytes(t), before);
}

TEST(CheckpointTest, KeepLastDeletesTheOldest) {
  Data data;
  Trainer t(mlp(), TrainerConfig{});
  Batcher batches(data.dataset, 16, true, 5, false);
  const std::string prefix = temp("rotating");
  std::vector<std::string> written;
  for (int i = 0; i < 5; ++i) {
    train(t, batches, 1);
    written.push_back(save_checkpoint_keep_last(t, prefix, 2, nullptr));
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(access(written[i].c_str(), F_OK) == 0, i >= 3) << written[i];
  EXPECT_NE(written[4].find("rotating-0000000005.safetensors"), std::string::npos);
  // A run restarted from step 0 writes a lower step: that file stays, the oldest other goes.
  Trainer restarted(mlp(), TrainerConfig{});
  Batcher again(data.dataset, 16, true, 5, false);
  train(restarted, again, 1);
  const std::string low = save_checkpoint_keep_last(restarted, prefix, 2, nullptr);
  EXPECT_EQ(access(low.c_str(), F_OK), 0);
  EXPECT_NE(access(written[3].c_str(), F_OK), 0);
  EXPECT_EQ(access(written[4].c_str(), F_OK), 0);
}

TEST(WeightsTest, ExportAndImportInEveryFloatFormat) {
  Data data;
  Trainer t(mlp(), TrainerConfig{});
  Batcher batches(data.dataset, 16, true, 5, false);
  train(t, batches, 4);
  const std::vector<char> weights = [&] {
    TrainerSnapshot s = t.snapshot();
    std::vector<char> all;
    for (const auto& p : s.params) all.insert(all.end(), p.begin(), p.end());
    return all;
  }();
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const std::string path = temp(std::string("weights-") + dtype_name(dtype) + ".safetensors");
    export_weights(t, path, dtype);
    SafetensorsFile file = read_safetensors(path);
    EXPECT_EQ(file.metadata.at("format"), "trainkit-weights");
    EXPECT_EQ(file.find("linear_1.weight")->dtype, dtype);
    Trainer fresh(mlp(), TrainerConfig{});
    import_weights(fresh, path);
    // f32 is exact; half formats round each weight to nearest-even.
    for (size_t i = 0; i < t.plan().params().size(); ++i) {
      const Shape& shape = t.plan().params()[i].spec.shape;
      std::vector<float> a(shape_numel(shape)), b(a.size());
      t.get_parameter(i, {a.data(), DType::kF32, shape, {}});
      fresh.get_parameter(i, {b.data(), DType::kF32, shape, {}});
      const float tolerance = dtype == DType::kF32 ? 0.0f : (dtype == DType::kF16 ? 1e-3f : 8e-3f);
      for (size_t j = 0; j < a.size(); ++j) ASSERT_LE(std::abs(a[j] - b[j]), tolerance * std::abs(a[j]) + 1e-7f);
    }
  }
  EXPECT_THROW(export_weights(t, temp("w.safetensors"), DType::kI32), Error);
  EXPECT_THROW(load_checkpoint(t, temp("weights-f32.safetensors"), nullptr), Error);  // weights are not a checkpoint
  (void)weights;
}

}  // namespace
}  // namespace tk
