// Every op's and every loss's backward against central finite differences in
// float64. To add an op: add a row to OpCases() below.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/rng.h"
#include "core/ops/attention/attention_kernels.h"
#include "core/ops/dropout/dropout_kernels.h"
#include "core/ops/embedding/embedding_kernels.h"
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

// An input that is not random values in +-[0.1, 1]: int32 indices in
// [0, index_limit), or the given values (a mask), checked against finite
// differences only when `differentiable`.
struct GivenInput {
  int input;
  int64_t index_limit = 0;  // > 0: indices
  std::vector<double> values = {};
  bool differentiable = false;
};

struct OpCase {
  std::string name;
  OpPtr op;
  std::vector<Shape> input_shapes;  // per sample
  int64_t batch;
  bool training;
  std::vector<GivenInput> given = {};
};

const GivenInput* given_input(const OpCase& c, size_t k) {
  for (const GivenInput& g : c.given)
    if (g.input == static_cast<int>(k)) return &g;
  return nullptr;
}

std::vector<OpCase> OpCases() {
  return {
      {"linear", make_linear(3, true, Init::kHeUniform), {{4}}, 5, true},
      {"linear_no_bias", make_linear(2, false, Init::kXavierNormal), {{3}}, 4, true},
      {"linear_over_last_dim", make_linear(3, true, Init::kHeNormal), {{2, 4}}, 3, true},
      {"relu", make_activation(Activation::kRelu), {{6}}, 3, true},
      {"gelu", make_activation(Activation::kGelu), {{6}}, 3, true},
      {"gelu_tanh", make_activation(Activation::kGeluTanh), {{6}}, 3, true},
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
      {"embedding", make_embedding(7, 3, -1), {{4}}, 3, true, {{0, 7}}},
      {"embedding_of_a_matrix_of_ids", make_embedding(5, 2, -1), {{2, 3}}, 2, true, {{0, 5}}},
      {"learned_positions_shorter_than_table", make_learned_positions(5), {{3, 4}}, 2, true},
      {"sinusoidal_positions_odd_dim", make_sinusoidal_positions(), {{3, 5}}, 2, true},
      {"softmax", make_softmax(false), {{2, 5}}, 3, true},
      {"log_softmax", make_softmax(true), {{6}}, 3, true},
      {"attention_cross_odd_lengths", make_attention(2, false, 0, false), {{3, 4}, {5, 4}, {5, 4}}, 2, true},
      {"attention_causal_three_heads", make_attention(3, true, 0, false), {{4, 6}, {4, 6}, {4, 6}}, 2, true},
      {"attention_causal_more_keys", make_attention(1, true, 0.7, false), {{2, 3}, {5, 3}, {5, 3}}, 2, true},
      {"attention_additive_mask", make_attention(2, false, 0, true), {{3, 4}, {3, 4}, {3, 4}, {3}}, 2, true},
      // Sample 0 hides keys 1 and 3; sample 1 hides every key (its rows are zeros).
      {"attention_keep_mask", make_attention(2, false, 0, true, true), {{3, 4}, {4, 4}, {4, 4}, {4}}, 2, true,
       {{3, 0, {1, 0, 1, 0, 0, 0, 0, 0}}}},
      {"attention_causal_keep_mask", make_attention(1, true, 0, true, true), {{3, 2}, {3, 2}, {3, 2}, {3}}, 2, true,
       {{3, 0, {1, 1, 0, 0, 1, 1}}}},
      {"mean_pool", make_mean_pool(false), {{4, 3}}, 2, true},
      {"masked_mean_pool", make_mean_pool(true), {{4, 3}, {4}}, 2, true,
       {{1, 0, {1, 0.5, 0.2, 0.9, 0.3, 1, 0.7, 0.1}, true}}},
      {"masked_mean_pool_all_masked", make_mean_pool(true), {{3, 2}, {3}}, 2, true, {{1, 0, {1, 0, 1, 0, 0, 0}}}},
      {"l2_normalize", make_l2_normalize(1e-12), {{5}}, 3, true},
      {"l2_normalize_rows_of_a_matrix", make_l2_normalize(1e-12), {{2, 3}}, 2, true},
      {"concat_last_axis", make_concat(-1), {{2, 3}, {2, 2}}, 2, true},
      {"concat_first_axis", make_concat(0), {{1, 3}, {3, 3}}, 3, true},
      {"concat_middle_axis", make_concat(1), {{2, 1, 2}, {2, 3, 2}}, 2, true},
      {"slice_last_axis", make_slice(-1, 1, 2), {{3, 5}}, 2, true},
      {"slice_first_axis", make_slice(0, 2, 1), {{4, 3}}, 3, true},
      {"slice_middle_axis_to_the_end", make_slice(1, 1, 2), {{2, 3, 2}}, 2, true},
      {"cls_pool", make_cls_pool(), {{4, 3}}, 2, true},
      {"cls_pool_of_token_matrices", make_cls_pool(), {{3, 2, 2}}, 2, true},
      {"matmul", make_matmul(false), {{3, 4}, {4, 2}}, 2, true},
      {"matmul_transposed_b", make_matmul(true), {{3, 4}, {5, 4}}, 2, true},
      {"matmul_over_heads", make_matmul(false), {{2, 3, 2}, {2, 2, 4}}, 2, true},
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

// Indices inputs as int32 (the values hold whole numbers); others empty.
std::vector<std::vector<int32_t>> index_inputs(const OpCase& c, const std::vector<std::vector<double>>& inputs) {
  std::vector<std::vector<int32_t>> ids(inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    const GivenInput* g = given_input(c, k);
    if (g && g->index_limit > 0)
      for (double v : inputs[k]) ids[k].push_back(static_cast<int32_t>(v));
  }
  return ids;
}

void* input_data(std::vector<std::vector<double>>& inputs, std::vector<std::vector<int32_t>>& ids, size_t k) {
  return ids[k].empty() ? static_cast<void*>(inputs[k].data()) : static_cast<void*>(ids[k].data());
}

size_t saved_size(const OpCase& c) {
  return static_cast<size_t>(c.op->saved_elements(c.input_shapes) +
                             c.batch * c.op->saved_elements_per_sample(c.input_shapes) + 1);
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
  std::vector<std::vector<int32_t>> ids = index_inputs(c, inputs);
  for (size_t k = 0; k < inputs.size(); ++k) ctx.inputs.push_back(input_data(inputs, ids, k));
  for (auto& p : params) ctx.params.push_back(p.data());
  for (auto& v : state) ctx.state.push_back(v.data());
  ctx.next_state.assign(state.size(), nullptr);
  std::vector<double> workspace(c.op->workspace_elements(c.input_shapes) + 1);
  ctx.workspace = workspace.data();
  std::vector<double> saved_values(saved_size(c));
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
  for (size_t k = 0; k < c.input_shapes.size(); ++k) {
    std::vector<double> values = random_values(c.batch * shape_numel(c.input_shapes[k]), rng);
    if (const GivenInput* g = given_input(c, k)) {
      if (g->index_limit > 0)
        for (double& v : values) v = std::floor(rng.uniform() * static_cast<double>(g->index_limit));
      else
        values = g->values;
    }
    inputs.push_back(values);
  }
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
  std::vector<double> scratch(c.batch * c.op->backward_scratch_elements(c.input_shapes) + 1);
  ctx.backward_scratch = scratch.data();
  // Forward then backward, as in a plan: what forward saves, backward reads.
  std::vector<double> saved_values(saved_size(c));
  ctx.saved = saved_values.data();
  std::vector<double> out(weights.size());
  std::vector<std::vector<double>> dinputs, dparams;
  std::vector<std::vector<int32_t>> ids = index_inputs(c, inputs);
  for (size_t k = 0; k < inputs.size(); ++k) {
    ctx.inputs.push_back(input_data(inputs, ids, k));
    dinputs.push_back(std::vector<double>(inputs[k].size(), prior));
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
  for (size_t k = 0; k < dinputs.size(); ++k) {
    // Indices get no gradient: the plan passes null for them.
    const GivenInput* g = given_input(c, k);
    ctx.dinputs.push_back(g && g->index_limit > 0 ? nullptr : dinputs[k].data());
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
      const GivenInput* g = given_input(c, k);
      if (g && !g->differentiable) continue;
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
  size_t ignore_every = 0;  // every n-th class-index target is kIgnoreIndex
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
  // One class index per row of the loss: per sample, or per token.
  const int64_t rows_per_sample = loss->rows_per_sample(c.output_shape);
  const int64_t classes = c.output_shape.back();
  std::vector<int32_t> labels(c.batch * rows_per_sample);
  std::vector<double> values(c.batch * cols);
  for (size_t r = 0; r < labels.size(); ++r) labels[r] = static_cast<int32_t>(r % classes);
  if (c.ignore_every > 0)
    for (size_t r = 1; r < labels.size(); r += c.ignore_every) labels[r] = kIgnoreIndex;
  for (double& v : values) v = rng.uniform();
  const void* target = loss->targets_are_class_indices() ? static_cast<const void*>(labels.data()) : values.data();
  const double scale = 0.37;

  std::vector<double> row_loss(labels.size()), dlogits(logits.size());
  loss->compute(&backend, DType::kF64, DType::kF64, c.batch, c.output_shape, logits.data(), target, row_loss.data(),
                dlogits.data(), scale);
  auto total = [&] {
    std::vector<double> rows(labels.size());
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
    // An ignored target's logits get no gradient and change no loss.
    if (c.ignore_every > 0 && labels[i / classes] == kIgnoreIndex) {
      EXPECT_EQ(dlogits[i], 0.0) << c.name << " logit " << i;
      EXPECT_EQ(row_loss[i / classes], 0.0);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllLosses, LossGradientTest,
                         ::testing::Values(LossCase{"softmax_cross_entropy", LossKind::kSoftmaxCrossEntropy, {5}, 4},
                                           LossCase{"per_token_cross_entropy", LossKind::kSoftmaxCrossEntropy,
                                                    {3, 5}, 2},
                                           LossCase{"per_token_cross_entropy_ignore_index",
                                                    LossKind::kSoftmaxCrossEntropy, {5, 4}, 3, 3},
                                           LossCase{"cross_entropy_ignore_index", LossKind::kSoftmaxCrossEntropy,
                                                    {4}, 5, 2},
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

namespace tk {
namespace {

// Attention against its definition, composed step by step in float64:
// scores = scale q k^T + mask, causal keys hidden, softmax, times v.
TEST(AttentionTest, ForwardEqualsTheNaiveComposition) {
  cpu::CpuBackend backend(2);
  Rng rng(5);
  const int64_t batch = 2, heads = 2, seq_q = 5, seq_k = 5, head_dim = 3, width = heads * head_dim;
  for (bool causal : {false, true}) {
    std::vector<double> q = random_values(batch * seq_q * width, rng), k = random_values(batch * seq_k * width, rng),
                        v = random_values(batch * seq_k * width, rng), mask = random_values(batch * seq_k, rng);
    std::vector<double> out(q.size()), lse(batch * heads * seq_q);
    const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
    kernels::attention_forward(backend, DType::kF64, DType::kF64,
                               {batch, heads, seq_q, seq_k, head_dim, scale, causal, false}, q.data(), k.data(),
                               v.data(), mask.data(), out.data(), lse.data());
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < seq_q; ++i) {
          std::vector<double> p(seq_k, 0.0);
          double top = -1e300, sum = 0;
          for (int64_t j = 0; j < seq_k; ++j) {
            if (causal && j > i) continue;
            double s = mask[b * seq_k + j];
            for (int64_t d = 0; d < head_dim; ++d)
              s += scale * q[(b * seq_q + i) * width + h * head_dim + d] * k[(b * seq_k + j) * width + h * head_dim + d];
            p[j] = s;
            top = std::max(top, s);
          }
          for (int64_t j = 0; j < seq_k; ++j) {
            p[j] = causal && j > i ? 0.0 : std::exp(p[j] - top);
            sum += p[j];
          }
          for (int64_t d = 0; d < head_dim; ++d) {
            double expected = 0;
            for (int64_t j = 0; j < seq_k; ++j) expected += p[j] / sum * v[(b * seq_k + j) * width + h * head_dim + d];
            EXPECT_NEAR(out[(b * seq_q + i) * width + h * head_dim + d], expected, 1e-14)
                << "causal " << causal << " sample " << b << " head " << h << " query " << i;
          }
          EXPECT_NEAR(lse[(b * heads + h) * seq_q + i], top + std::log(sum), 1e-13);
        }
  }
}

// A keep mask of 1/0 hides the same keys as an additive mask of 0/-inf.
TEST(AttentionTest, KeepMaskEqualsAnAdditiveMaskOfMinusInfinity) {
  cpu::CpuBackend backend(1);
  Rng rng(8);
  const int64_t batch = 2, seq = 4, width = 4;
  std::vector<double> q = random_values(batch * seq * width, rng), k = random_values(batch * seq * width, rng),
                      v = random_values(batch * seq * width, rng);
  const std::vector<double> keep = {1, 1, 0, 1, 0, 1, 1, 1};
  std::vector<double> additive;
  for (double m : keep) additive.push_back(m == 0 ? -std::numeric_limits<double>::infinity() : 0.0);
  std::vector<double> a(q.size()), b(q.size());
  kernels::attention_forward(backend, DType::kF64, DType::kF64, {batch, 2, seq, seq, 2, 0.5, false, true}, q.data(),
                             k.data(), v.data(), keep.data(), a.data(), nullptr);
  kernels::attention_forward(backend, DType::kF64, DType::kF64, {batch, 2, seq, seq, 2, 0.5, false, false}, q.data(),
                             k.data(), v.data(), additive.data(), b.data(), nullptr);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-15) << i;
}

// A padding index gets no gradient; every other row gets the same as without one.
TEST(EmbeddingTest, PaddingRowGetsNoGradient) {
  cpu::CpuBackend backend(2);
  Rng rng(4);
  const int64_t vocab = 5, dim = 3, rows = 8;
  const std::vector<int32_t> ids = {0, 2, 0, 4, 1, 2, 0, 3};
  const std::vector<double> dy = random_values(rows * dim, rng);
  std::vector<double> with_padding(vocab * dim, 9.0), without(vocab * dim, 9.0);
  kernels::embedding_backward(backend, DType::kF64, DType::kF64, rows, dim, vocab, 0, ids.data(), dy.data(),
                              with_padding.data());
  kernels::embedding_backward(backend, DType::kF64, DType::kF64, rows, dim, vocab, -1, ids.data(), dy.data(),
                              without.data());
  for (int64_t d = 0; d < dim; ++d) EXPECT_EQ(with_padding[d], 0.0);
  for (int64_t i = dim; i < vocab * dim; ++i) EXPECT_EQ(with_padding[i], without[i]) << i;
  EXPECT_NE(without[0], 0.0);
}

// A LayerNorm over [seq, dim] normalizes each token (the last axis) alone.
TEST(LayerNormTest, NormalizesEachTokenOfASequence) {
  cpu::CpuBackend backend(1);
  const std::vector<double> x = {1, 2, 3, 10, 20, 30};  // two tokens of three values
  const std::vector<double> gamma = {1, 1, 1}, beta = {0, 0, 0};
  std::vector<double> y(x.size());
  kernels::layer_norm_forward(backend, DType::kF64, DType::kF64, 2, 3, 1e-5, x.data(), gamma.data(), beta.data(),
                              y.data());
  for (int t = 0; t < 2; ++t) {
    double mean = 0, squares = 0;
    for (int d = 0; d < 3; ++d) mean += y[t * 3 + d] / 3;
    for (int d = 0; d < 3; ++d) squares += (y[t * 3 + d] - mean) * (y[t * 3 + d] - mean) / 3;
    EXPECT_NEAR(mean, 0.0, 1e-12);
    EXPECT_NEAR(squares, 1.0, 1e-3);
  }
}

}  // namespace
}  // namespace tk
