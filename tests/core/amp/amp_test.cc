// Mixed precision: bit-exact half conversions, the loss scaler's sequence,
// overflow detection, the precision policy, and AMP training end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/amp/loss_scaler.h"
#include "core/amp/precision.h"
#include "core/api/trainer.h"
#include "core/backend/cpu/cpu_backend.h"
#include "core/base/error.h"
#include "core/ops/ops.h"
#include "core/base/half.h"
#include "core/base/rng.h"
#include "core/kernels/reduce_kernels.h"
#include "core/ops/ops.h"

namespace tk {
namespace {

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

TEST(HalfConversionTest, Fp16KnownValues) {
  struct Case { float value; uint16_t bits; };
  const Case cases[] = {
      {1.0f, 0x3C00},           {-2.0f, 0xC000},         {0.0f, 0x0000},          {-0.0f, 0x8000},
      {65504.0f, 0x7BFF},       // largest finite
      {65519.0f, 0x7BFF},       // rounds down to the largest finite
      {65520.0f, 0x7C00},       // halfway to the next binade: ties to even overflow to Inf
      {1e6f, 0x7C00},           {-1e6f, 0xFC00},         {INFINITY, 0x7C00},      {-INFINITY, 0xFC00},
      {std::ldexp(1.0f, -14), 0x0400},  // smallest normal
      {std::ldexp(1.0f, -24), 0x0001},  // smallest subnormal
      {std::ldexp(1.0f, -25), 0x0000},  // half of it: tie to even (0)
      {std::ldexp(3.0f, -25), 0x0002},  // 1.5 ulp: tie to even (2)
      {std::ldexp(1.0f, -26), 0x0000},  // underflows to zero
      {1.0f + std::ldexp(1.0f, -11), 0x3C00},       // tie between 1 and 1+2^-10: even (1)
      {1.0f + std::ldexp(3.0f, -11), 0x3C02},       // tie: even (1+2^-9)
      {0.1f, 0x2E66},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(float_to_half(c.value).bits, c.bits) << c.value;
    if ((c.bits & 0x7C00) != 0x7C00 || (c.bits & 0x03FF) == 0) {
      // Exactly representable halves widen back to themselves.
      float back = half_to_float({c.bits});
      EXPECT_EQ(float_to_half(back).bits, c.bits);
    }
  }
  Half nan = float_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan.bits & 0x7C00, 0x7C00);
  EXPECT_NE(nan.bits & 0x03FF, 0);
  EXPECT_TRUE(std::isnan(half_to_float({0x7E00})));
  EXPECT_EQ(half_to_float({0x0001}), std::ldexp(1.0f, -24));
  EXPECT_EQ(half_to_float({0x7BFF}), 65504.0f);
}

TEST(HalfConversionTest, Bf16KnownValues) {
  struct Case { float value; uint16_t bits; };
  const Case cases[] = {
      {1.0f, 0x3F80},
      {-2.0f, 0xC000},
      {from_bits(0x3F808000), 0x3F80},  // tie: even (1.0)
      {from_bits(0x3F818000), 0x3F82},  // tie: even, rounds up
      {from_bits(0x3F808001), 0x3F81},  // just above the tie: up
      {from_bits(0x7F7FFFFF), 0x7F80},  // FLT_MAX overflows to Inf
      {from_bits(0x7F7F7FFF), 0x7F7F},  // below the tie: largest finite bf16
      {INFINITY, 0x7F80},
      {-INFINITY, 0xFF80},
      {from_bits(0x00000001), 0x0000},  // smallest f32 subnormal rounds to zero
      {from_bits(0x00010000), 0x0001},  // smallest bf16 subnormal is exact
      {from_bits(0x00018000), 0x0002},  // tie between subnormals: even
      {-0.0f, 0x8000},
  };
  for (const Case& c : cases) EXPECT_EQ(float_to_bfloat16(c.value).bits, c.bits) << std::hexfloat << c.value;
  BFloat16 nan = float_to_bfloat16(from_bits(0x7F800001));  // a signalling NaN whose payload would truncate to Inf
  EXPECT_EQ(nan.bits & 0x7F80, 0x7F80);
  EXPECT_NE(nan.bits & 0x007F, 0);
  EXPECT_EQ(bfloat16_to_float({0x3F80}), 1.0f);
}

TEST(LossScalerTest, GrowsAfterTheIntervalAndBacksOffOnOverflow) {
  LossScalerConfig c;
  c.enabled = true;
  c.init_scale = 4;
  c.growth_factor = 2;
  c.backoff_factor = 0.25;
  c.growth_interval = 2;
  LossScaler scaler(c);
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 4.0f);
  EXPECT_EQ(scaler.growth_tracker(), 1);
  scaler.update(false);
  EXPECT_EQ(scaler.scale(), 8.0f);
  EXPECT_EQ(scaler.growth_tracker(), 0);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 2.0f);
  EXPECT_EQ(scaler.growth_tracker(), 0);
}

TEST(LossScalerTest, NeverBecomesInfOrNaN) {
  LossScalerConfig c;
  c.enabled = true;
  c.init_scale = 1e38;
  c.growth_factor = 16;
  c.growth_interval = 1;
  LossScaler scaler(c);
  for (int i = 0; i < 100; ++i) {
    scaler.update(false);
    ASSERT_TRUE(std::isfinite(scaler.scale())) << "after " << i + 1 << " clean steps";
  }
  EXPECT_EQ(scaler.scale(), 1e38f);
}

TEST(LossScalerTest, BacksOffNoFurtherThanTheSmallestNormalFloat) {
  LossScalerConfig c;
  c.enabled = true;
  LossScaler scaler(c);
  for (int i = 0; i < 1000; ++i) scaler.update(true);
  EXPECT_EQ(scaler.scale(), std::numeric_limits<float>::min());
}

TEST(LossScalerTest, DisabledScaleIsOne) {
  LossScaler scaler(LossScalerConfig{});
  EXPECT_EQ(scaler.scale(), 1.0f);
  scaler.update(true);
  EXPECT_EQ(scaler.scale(), 1.0f);
}

TEST(LossScalerTest, RejectsBadSettings) {
  LossScalerConfig c;
  c.growth_factor = 1.0;
  EXPECT_THROW(validate(c), Error);
  c = LossScalerConfig{};
  c.backoff_factor = 1.0;
  EXPECT_THROW(validate(c), Error);
  c = LossScalerConfig{};
  c.growth_interval = 0;
  EXPECT_THROW(validate(c), Error);
  c = LossScalerConfig{};
  c.init_scale = INFINITY;
  EXPECT_THROW(validate(c), Error);
}

// The check that decides whether to skip finds one bad value anywhere.
class OverflowDetectionTest : public ::testing::TestWithParam<DType> {};

TEST_P(OverflowDetectionTest, FindsASingleInfOrNaNAnywhere) {
  const DType dt = GetParam();
  cpu::CpuBackend backend(2);
  const int64_t n = 100003;  // several reduction blocks and a ragged tail
  std::vector<float> ones(n, 1.0f);
  std::vector<char> buffer(n * dtype_size(dt));
  backend.load_host({ones.data(), DType::kF32, {n}, {}}, dt, buffer.data());
  ASSERT_TRUE(kernels::all_finite(backend, dt, n, buffer.data()));
  ASSERT_TRUE(std::isfinite(kernels::sum_squares(backend, dt, n, buffer.data())));
  Rng rng(3);
  std::vector<int64_t> positions = {0, 1, 7, 8, 4095, 4096, n / 2, n - 8, n - 1};
  for (int i = 0; i < 20; ++i) positions.push_back(static_cast<int64_t>(rng.next_u64() % n));
  for (float bad : {INFINITY, -INFINITY, std::numeric_limits<float>::quiet_NaN()}) {
    for (int64_t at : positions) {
      std::vector<char> copy = buffer;
      backend.load_host({&bad, DType::kF32, {1}, {}}, dt, copy.data() + at * dtype_size(dt));
      EXPECT_FALSE(kernels::all_finite(backend, dt, n, copy.data())) << dtype_name(dt) << " " << bad << " at " << at;
      EXPECT_FALSE(std::isfinite(kernels::sum_squares(backend, dt, n, copy.data()))) << dtype_name(dt) << " at " << at;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, OverflowDetectionTest,
                         ::testing::Values(DType::kF32, DType::kF64, DType::kF16, DType::kBF16),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(PrecisionPolicyTest, OnlyMatrixProductsRunInHalf) {
  PrecisionPolicy fp16 = make_precision_policy(Precision::kFp16, DType::kF32);
  EXPECT_EQ(fp16.activation, DType::kF16);
  EXPECT_EQ(fp16.master, DType::kF32);
  const OpPtr linear = make_linear(4, true, Init::kHeUniform), relu = make_activation(Activation::kRelu);
  EXPECT_TRUE(linear->computes_in_half());
  EXPECT_TRUE(make_conv2d(4, 3, 1, 1, 1, 1, true, Init::kHeUniform)->computes_in_half());
  EXPECT_FALSE(relu->computes_in_half());
  EXPECT_EQ(fp16.param_dtype(linear->computes_in_half()), DType::kF16);
  EXPECT_EQ(fp16.param_dtype(relu->computes_in_half()), DType::kF32);
  PrecisionPolicy fp32 = make_precision_policy(Precision::kFp32, DType::kF32);
  EXPECT_EQ(fp32.param_dtype(linear->computes_in_half()), DType::kF32);
  EXPECT_EQ(make_precision_policy(Precision::kBf16, DType::kF32).activation, DType::kBF16);
  EXPECT_THROW(make_precision_policy(Precision::kFp16, DType::kF64), Error);
}

// ---- Training under AMP ------------------------------------------------------

constexpr int64_t kFeatures = 8, kClasses = 4;

Graph mlp() {
  Graph g;
  int h = g.add_input("x", {kFeatures});
  h = g.add(make_linear(16, true, Init::kHeUniform), {h});
  h = g.add(make_activation(Activation::kRelu), {h});
  h = g.add(make_linear(kClasses, true, Init::kHeUniform), {h});
  g.set_output(h, "logits");
  return g;
}

struct Batch {
  std::vector<float> x;
  std::vector<int32_t> y;
  Batch(int64_t n, uint64_t seed) : x(n * kFeatures), y(n) {
    Rng rng(seed);
    for (float& v : x) v = static_cast<float>(2 * rng.uniform() - 1);
    for (int32_t& v : y) v = static_cast<int32_t>(rng.next_u64() % kClasses);
  }
  HostView inputs() { return {x.data(), DType::kF32, {static_cast<int64_t>(y.size()), kFeatures}, {}}; }
  HostView targets() { return {y.data(), DType::kI32, {static_cast<int64_t>(y.size())}, {}}; }
};

std::vector<float> parameters(const Trainer& t) {
  const Tensor& p = t.flat_params();
  return std::vector<float>(p.as<float>(), p.as<float>() + p.numel());
}

std::vector<std::vector<char>> optimizer_state(Trainer& t) {
  std::vector<std::vector<char>> state;
  for (const OptimizerState& s : t.optimizer().state())
    state.emplace_back(s.tensor->as<char>(), s.tensor->as<char>() + s.tensor->bytes());
  return state;
}

TEST(AmpTrainingTest, SkippedOverflowStepChangesNothingAndScaleFollowsGradScaler) {
  TrainerConfig c;
  c.optimizer.kind = OptimizerKind::kSgd;
  c.optimizer.learning_rate = 0.1;
  c.optimizer.momentum = 0.9;
  c.seed = 7;
  TrainerConfig amp = c;
  amp.precision = Precision::kFp16;
  amp.scaler.init_scale = 1024;
  amp.scaler.growth_factor = 2;
  amp.scaler.backoff_factor = 0.5;
  amp.scaler.growth_interval = 1;
  Trainer half(mlp(), amp), full(mlp(), c);
  ASSERT_TRUE(half.loss_scaler().enabled());

  Batch clean1(32, 1), clean2(32, 2), clean3(32, 3), overflow(32, 4);
  overflow.x[5] = 1e6f;  // beyond f16's 65504: Inf once stored as half

  half.step(clean1.inputs(), clean1.targets());
  full.step(clean1.inputs(), clean1.targets());
  const std::vector<float> before = parameters(half);
  const auto moments = optimizer_state(half);
  StepResult skipped = half.step(overflow.inputs(), overflow.targets());
  EXPECT_TRUE(skipped.skipped);
  EXPECT_FALSE(skipped.applied);
  EXPECT_EQ(parameters(half), before);
  EXPECT_EQ(optimizer_state(half), moments);
  for (Batch* b : {&clean2, &clean3}) {
    EXPECT_TRUE(half.step(b->inputs(), b->targets()).applied);
    full.step(b->inputs(), b->targets());
  }
  EXPECT_EQ(half.loss_scaler().scale(), 1024.0f * 2 * 2 * 2 * 0.5f);
  EXPECT_EQ(half.skipped_steps(), 1);
  EXPECT_EQ(half.optimizer_steps(), 3);

  const std::vector<float> a = parameters(half), b = parameters(full);
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max<double>(worst, std::abs(a[i] - b[i]) / std::max(std::abs(b[i]), 1e-2f));
  EXPECT_LT(worst, 1e-3) << "fp16 AMP parameters drifted from the fp32 run";
}

TEST(AmpTrainingTest, Bf16DefaultsToNoLossScaling) {
  TrainerConfig c;
  c.precision = Precision::kBf16;
  Trainer t(mlp(), c);
  EXPECT_FALSE(t.loss_scaler().enabled());
  EXPECT_EQ(t.loss_scaler().scale(), 1.0f);
  c.loss_scaling = LossScaling::kDynamic;
  Trainer scaled(mlp(), c);
  EXPECT_TRUE(scaled.loss_scaler().enabled());
  EXPECT_EQ(scaled.loss_scaler().scale(), 65536.0f);
}

TEST(AmpTrainingTest, HalfActivationsHalveTheArena) {
  cpu::CpuBackend backend(1);
  Plan fp32(mlp(), LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend, DType::kF32);
  Plan fp16(mlp(), LossKind::kSoftmaxCrossEntropy, Reduction::kMean, &backend,
            make_precision_policy(Precision::kFp16, DType::kF32));
  fp32.reserve(256);
  fp16.reserve(256);
  EXPECT_LT(fp16.arena_bytes(), 0.6 * fp32.arena_bytes()) << fp16.arena_bytes() << " vs " << fp32.arena_bytes();
}

TEST(AmpTrainingTest, LossFallsUnderEveryPrecision) {
  for (Precision p : {Precision::kFp16, Precision::kBf16}) {
    TrainerConfig c;
    c.optimizer.kind = OptimizerKind::kAdam;
    c.optimizer.learning_rate = 0.01;
    c.precision = p;
    Trainer t(mlp(), c);
    Batch data(256, 9);
    for (int64_t i = 0; i < 256; ++i) data.y[i] = data.x[i * kFeatures] > 0 ? 1 : 2;
    const double before = t.evaluate(data.inputs(), data.targets()).loss;
    for (int s = 0; s < 100; ++s) t.step(data.inputs(), data.targets());
    Evaluation after = t.evaluate(data.inputs(), data.targets());
    EXPECT_LT(after.loss, before * 0.3) << precision_name(p);
    EXPECT_GT(after.accuracy, 0.95) << precision_name(p);
  }
}

}  // namespace
}  // namespace tk
