// Every op's and every loss's backward against central finite differences in
// float64. To add an op: add a row to OpCases() below.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/rng.h"
#include "core/ops/dropout/dropout_kernels.h"
#include "core/ops/loss/loss.h"
#include "core/ops/norm/norm_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

constexpr double kStep = 1e-6;
constexpr double kTolerance = 1e-6;

double relative_error(double analytic, double numeric) {
  return std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), 1e-2});
}

// Values in +-[0.1, 1]: away from ReLU's kink at 0 by far more than kStep.
std::vector<double> random_values(size_t n, Rng& rng) {
  std::vector<double> v(n);
  for (double& x : v) x = (rng.uniform() < 0.5 ? -1 : 1) * (0.1 + 0.9 * rng.uniform());
  return v;
}

struct OpCase {
  std::string name;
  OpPtr op;
  std::vector<Shape> input_shapes;  // per sample
  int64_t batch;
  bool training;
};

std::vector<OpCase> OpCases() {
  return {
      {"linear", make_linear(3, true, Init::kHeUniform), {{4}}, 5, true},
      {"linear_no_bias", make_linear(2, false, Init::kXavierNormal), {{3}}, 4, true},
      {"linear_over_last_dim", make_linear(3, true, Init::kHeNormal), {{2, 4}}, 3, true},
      {"relu", make_activation(Activation::kRelu), {{6}}, 3, true},
      {"gelu", make_activation(Activation::kGelu), {{6}}, 3, true},
      {"tanh", make_activation(Activation::kTanh), {{6}}, 3, true},
      {"sigmoid", make_activation(Activation::kSigmoid), {{6}}, 3, true},
      {"silu", make_activation(Activation::kSilu), {{6}}, 3, true},
      {"dropout_training", make_dropout(0.4), {{10}}, 4, true},
      {"dropout_eval", make_dropout(0.4), {{10}}, 4, false},
      {"flatten", make_flatten(), {{2, 3, 2}}, 2, true},
      {"add", make_add(), {{5}, {5}}, 3, true},
      {"reshape", make_reshape({3, 4}), {{12}}, 2, true},
      {"conv2d", make_conv2d(3, 3, 1, 1, 1, 1, true, Init::kHeUniform), {{2, 5, 5}}, 2, true},
      {"conv2d_stride2_odd", make_conv2d(2, 3, 2, 0, 1, 1, true, Init::kHeNormal), {{2, 7, 6}}, 2, true},
      {"conv2d_dilation2_padding2", make_conv2d(2, 3, 1, 2, 2, 1, true, Init::kHeUniform), {{1, 6, 6}}, 2, true},
      {"conv2d_groups2_no_bias", make_conv2d(6, 2, 1, 0, 1, 2, false, Init::kXavierUniform), {{4, 5, 5}}, 2, true},
      {"conv2d_1x1_stride3", make_conv2d(3, 1, 3, 0, 1, 1, true, Init::kHeUniform), {{2, 7, 7}}, 2, true},
      // Several images per matrix product, with a short last chunk.
      {"conv2d_two_images_per_product", make_conv2d(3, 3, 1, 1, 1, 1, true, Init::kHeUniform, 2), {{2, 5, 4}}, 3,
       true},
      {"conv2d_groups_one_image_per_product", make_conv2d(4, 3, 2, 1, 1, 2, true, Init::kHeNormal, 1), {{2, 6, 5}}, 3,
       true},
      {"max_pool2d", make_max_pool2d(2, 2, 0), {{2, 4, 5}}, 2, true},
      {"max_pool2d_overlapping_padded", make_max_pool2d(3, 1, 1), {{1, 5, 5}}, 2, true},
      {"avg_pool2d_padded", make_avg_pool2d(2, 1, 1), {{2, 5, 4}}, 2, true},
      {"global_avg_pool", make_global_avg_pool(), {{3, 4, 5}}, 2, true},
      {"batch_norm2d_training", make_batch_norm(1e-5, 0.1), {{3, 4, 5}}, 2, true},
      {"batch_norm1d_training", make_batch_norm(1e-3, 0.1), {{6}}, 5, true},
      {"batch_norm_eval", make_batch_norm(1e-5, 0.1), {{3, 2, 3}}, 2, false},
      {"layer_norm", make_layer_norm(1, 1e-5), {{7}}, 3, true},
      {"layer_norm_two_axes", make_layer_norm(2, 1e-5), {{2, 3, 4}}, 2, true},
      {"dropout2d_training", make_dropout2d(0.4), {{4, 3, 3}}, 3, true},
      {"dropout2d_eval", make_dropout2d(0.4), {{4, 3, 3}}, 3, false},
  };
}

class OpGradientTest : public ::testing::TestWithParam<OpCase> {};

// Runs forward and returns sum(weights * output).
// Non-trainable state (running statistics): means in +-1, variances in [0.5, 1.5].
std::vector<std::vector<double>> random_state(const OpCase& c, Rng& rng) {
  std::vector<std::vector<double>> state;
  for (const ParamSpec& spec : c.op->state_specs(c.input_shapes)) {
    std::vector<double> v = random_values(shape_numel(spec.shape), rng);
    if (spec.init == Init::kOnes)
      for (double& x : v) x = 1.0 + 0.5 * x;
    state.push_back(v);
  }
  return state;
}

double weighted_output(const OpCase& c, cpu::CpuBackend& backend, std::vector<std::vector<double>>& inputs,
                       std::vector<std::vector<double>>& params, const std::vector<std::vector<double>>& state,
                       const std::vector<double>& weights) {
  OpContext ctx;
  ctx.backend = &backend;
  ctx.dtype = ctx.param_dtype = ctx.grad_dtype = DType::kF64;
  ctx.batch = c.batch;
  ctx.training = c.training;
  ctx.seed = 7;
  ctx.stream = 3;
  ctx.input_shapes = c.input_shapes;
  for (auto& in : inputs) ctx.inputs.push_back(in.data());
  for (auto& p : params) ctx.params.push_back(p.data());
  for (auto& v : state) ctx.state.push_back(v.data());
  ctx.next_state.assign(state.size(), nullptr);
  std::vector<double> workspace(c.op->workspace_elements(c.input_shapes) + 1);
  ctx.workspace = workspace.data();
  std::vector<double> saved_values(c.op->saved_elements(c.input_shapes) + 1);
  ctx.saved = saved_values.data();
  std::vector<double> out(weights.size());
  ctx.output_shape = c.op->infer_shape(c.input_shapes);
  ctx.output = out.data();
  c.op->forward(ctx);
  double total = 0;
  for (size_t i = 0; i < out.size(); ++i) total += weights[i] * out[i];
  return total;
}

void check_op(const OpCase& c, bool accumulate) {
  cpu::CpuBackend backend(1);
  Rng rng(11);
  const Shape out_shape = c.op->infer_shape(c.input_shapes);
  std::vector<std::vector<double>> inputs, params;
  for (const Shape& s : c.input_shapes) inputs.push_back(random_values(c.batch * shape_numel(s), rng));
  for (const ParamSpec& spec : c.op->param_specs(c.input_shapes)) params.push_back(random_values(shape_numel(spec.shape), rng));
  std::vector<double> weights = random_values(c.batch * shape_numel(out_shape), rng);
  const std::vector<std::vector<double>> state = random_state(c, rng);

  // Analytic gradients; dinputs start at `prior` to check overwrite vs add.
  const double prior = 0.25;
  OpContext ctx;
  ctx.backend = &backend;
  ctx.dtype = ctx.param_dtype = ctx.grad_dtype = DType::kF64;
  ctx.batch = c.batch;
  ctx.training = c.training;
  ctx.seed = 7;
  ctx.stream = 3;
  ctx.input_shapes = c.input_shapes;
  std::vector<double> workspace(c.op->workspace_elements(c.input_shapes) + 1);
  ctx.workspace = workspace.data();
  // Forward then backward, as in a plan: what forward saves, backward reads.
  std::vector<double> saved_values(c.op->saved_elements(c.input_shapes) + 1);
  ctx.saved = saved_values.data();
  std::vector<double> out(weights.size());
  std::vector<std::vector<double>> dinputs, dparams;
  for (auto& in : inputs) {
    ctx.inputs.push_back(in.data());
    dinputs.push_back(std::vector<double>(in.size(), prior));
  }
  for (auto& p : params) {
    ctx.params.push_back(p.data());
    dparams.push_back(std::vector<double>(p.size(), 99.0));  // must be overwritten
  }
  for (auto& v : state) ctx.state.push_back(v.data());
  ctx.next_state.assign(state.size(), nullptr);
  ctx.output_shape = out_shape;
  ctx.output = out.data();
  c.op->forward(ctx);
  ctx.doutput = weights.data();
  for (auto& d : dinputs) {
    ctx.dinputs.push_back(d.data());
    ctx.accumulate.push_back(accumulate);
  }
  for (auto& d : dparams) ctx.dparams.push_back(d.data());
  c.op->backward(ctx);

  auto numeric = [&](std::vector<double>& values, size_t i) {
    const double saved = values[i];
    values[i] = saved + kStep;
    const double plus = weighted_output(c, backend, inputs, params, state, weights);
    values[i] = saved - kStep;
    const double minus = weighted_output(c, backend, inputs, params, state, weights);
    values[i] = saved;
    return (plus - minus) / (2 * kStep);
  };
  for (size_t k = 0; k < inputs.size(); ++k)
    for (size_t i = 0; i < inputs[k].size(); ++i) {
      const double analytic = dinputs[k][i] - (accumulate ? prior : 0.0);
      const double expected = numeric(inputs[k], i);
      EXPECT_LT(relative_error(analytic, expected), kTolerance)
          << c.name << " input " << k << " element " << i << ": analytic " << analytic << " numeric " << expected;
    }
  for (size_t k = 0; k < params.size(); ++k)
    for (size_t i = 0; i < params[k].size(); ++i) {
      const double expected = numeric(params[k], i);
      EXPECT_LT(relative_error(dparams[k][i], expected), kTolerance)
          << c.name << " param " << k << " element " << i << ": analytic " << dparams[k][i] << " numeric " << expected;
    }
}

TEST_P(OpGradientTest, BackwardOverwritesMatchFiniteDifferences) { check_op(GetParam(), false); }
TEST_P(OpGradientTest, BackwardAccumulatesMatchFiniteDifferences) { check_op(GetParam(), true); }

INSTANTIATE_TEST_SUITE_P(AllOps, OpGradientTest, ::testing::ValuesIn(OpCases()),
                         [](const auto& info) { return info.param.name; });

TEST(OpGradientTest, DropoutDropsAboutPAndScalesTheRest) {
  cpu::CpuBackend backend(1);
  const int64_t n = 100000;
  std::vector<double> x(n, 1.0), y(n);
  kernels::dropout(backend, DType::kF64, n, 1, 0.3, 1, 2, x.data(), y.data(), false);
  int64_t dropped = std::count(y.begin(), y.end(), 0.0);
  EXPECT_NEAR(static_cast<double>(dropped) / n, 0.3, 0.01);
  for (double v : y) ASSERT_TRUE(v == 0.0 || std::abs(v - 1.0 / 0.7) < 1e-12) << v;
}

TEST(OpGradientTest, Dropout2dDropsWholeChannels) {
  cpu::CpuBackend backend(1);
  const int64_t planes = 4000, plane = 9;
  std::vector<double> x(planes * plane, 1.0), y(x.size());
  kernels::dropout(backend, DType::kF64, planes * plane, plane, 0.25, 5, 6, x.data(), y.data(), false);
  int64_t dropped = 0;
  for (int64_t p = 0; p < planes; ++p) {
    const double first = y[p * plane];
    for (int64_t s = 1; s < plane; ++s) ASSERT_EQ(y[p * plane + s], first) << "plane " << p;
    dropped += first == 0.0;
  }
  EXPECT_NEAR(static_cast<double>(dropped) / planes, 0.25, 0.02);
}

TEST(OpGradientTest, BatchNormTrainingNormalizesEachChannel) {
  cpu::CpuBackend backend(2);
  const int64_t batch = 4, channels = 3, spatial = 10;
  Rng rng(3);
  std::vector<float> x(batch * channels * spatial), y(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(5.0 + 3.0 * rng.normal() + (i / spatial) % channels);
  std::vector<float> gamma(channels, 1.0f), beta(channels, 0.0f), mean(channels), var(channels);
  kernels::batch_norm_statistics(backend, DType::kF32, DType::kF32, batch, channels, spatial, x.data(), mean.data(), var.data());
  kernels::batch_norm_apply(backend, DType::kF32, DType::kF32, batch, channels, spatial, 1e-5, x.data(), mean.data(), var.data(),
                           gamma.data(), beta.data(), y.data());
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0, squares = 0;
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t s = 0; s < spatial; ++s) {
        const double v = y[(n * channels + c) * spatial + s];
        sum += v;
        squares += v * v;
      }
    EXPECT_NEAR(sum / (batch * spatial), 0.0, 1e-5) << "channel " << c;
    EXPECT_NEAR(squares / (batch * spatial), 1.0, 1e-3) << "channel " << c;
  }
}

// ---- Losses ----------------------------------------------------------------

struct LossCase {
  std::string name;
  LossKind kind;
  Shape output_shape;
  int64_t batch;
};

class LossGradientTest : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossGradientTest, GradientMatchesFiniteDifferences) {
  const LossCase& c = GetParam();
  cpu::CpuBackend backend(1);
  Rng rng(5);
  auto loss = make_loss(c.kind);
  const int64_t cols = shape_numel(c.output_shape);
  std::vector<double> logits = random_values(c.batch * cols, rng);
  for (double& v : logits) v *= 3;
  std::vector<int32_t> labels(c.batch);
  std::vector<double> values(c.batch * cols);
  for (int64_t r = 0; r < c.batch; ++r) labels[r] = static_cast<int32_t>(r % cols);
  for (double& v : values) v = rng.uniform();
  const void* target = loss->targets_are_class_indices() ? static_cast<const void*>(labels.data()) : values.data();
  const double scale = 0.37;

  std::vector<double> row_loss(c.batch), dlogits(logits.size());
  loss->compute(&backend, DType::kF64, DType::kF64, c.batch, c.output_shape, logits.data(), target, row_loss.data(),
                dlogits.data(), scale);
  auto total = [&] {
    std::vector<double> rows(c.batch);
    loss->compute(&backend, DType::kF64, DType::kF64, c.batch, c.output_shape, logits.data(), target, rows.data(), nullptr, 0);
    double sum = 0;
    for (double r : rows) sum += r;
    return scale * sum;
  };
  for (size_t i = 0; i < logits.size(); ++i) {
    const double saved = logits[i];
    logits[i] = saved + kStep;
    const double plus = total();
    logits[i] = saved - kStep;
    const double minus = total();
    logits[i] = saved;
    const double numeric = (plus - minus) / (2 * kStep);
    EXPECT_LT(relative_error(dlogits[i], numeric), kTolerance)
        << c.name << " logit " << i << ": analytic " << dlogits[i] << " numeric " << numeric;
  }
}

INSTANTIATE_TEST_SUITE_P(AllLosses, LossGradientTest,
                         ::testing::Values(LossCase{"softmax_cross_entropy", LossKind::kSoftmaxCrossEntropy, {5}, 4},
                                           LossCase{"mse", LossKind::kMse, {3}, 4},
                                           LossCase{"mse_2d", LossKind::kMse, {2, 3}, 2},
                                           LossCase{"bce_with_logits", LossKind::kBceWithLogits, {3}, 4}),
                         [](const auto& info) { return info.param.name; });

TEST(LossValueTest, CrossEntropyOfUniformLogitsIsLogClasses) {
  cpu::CpuBackend backend(1);
  std::vector<double> logits(2 * 4, 0.5), rows(2);
  std::vector<int32_t> labels = {1, 3};
  make_softmax_cross_entropy()->compute(&backend, DType::kF64, DType::kF64, 2, {4}, logits.data(), labels.data(), rows.data(),
                                        nullptr, 0);
  EXPECT_NEAR(rows[0], std::log(4.0), 1e-12);
  EXPECT_NEAR(rows[1], std::log(4.0), 1e-12);
}

TEST(LossValueTest, BceWithLogitsIsStableForLargeLogits) {
  cpu::CpuBackend backend(1);
  std::vector<double> logits = {1000.0, -1000.0}, target = {0.0, 1.0}, rows(1);
  make_bce_with_logits()->compute(&backend, DType::kF64, DType::kF64, 1, {2}, logits.data(), target.data(), rows.data(), nullptr, 0);
  EXPECT_NEAR(rows[0], 2000.0, 1e-9);
}

}  // namespace
}  // namespace tk
