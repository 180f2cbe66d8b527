// The CPU's one-pass batch norm + ReLU (forward and backward) against the
// Backend's default two passes, which the CUDA backend runs: the same values;
// and bf16 batch norm (f32 arithmetic within a plane) against f64.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/rng.h"
#include "core/ops/norm/norm_kernels.h"

namespace tk {
namespace {

std::vector<double> random(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = 2 * rng.uniform() - 1;
  return v;
}

// Loads f64 values into a backend buffer of dtype dt.
struct Buffer {
  Buffer(Backend& b, const std::vector<double>& values, DType dt) : backend(b), dtype(dt), count(values.size()) {
    data = b.allocate(values.size() * dtype_size(dt));
    b.load_host({const_cast<double*>(values.data()), DType::kF64, {static_cast<int64_t>(values.size())}, {}}, dt,
                data);
  }
  ~Buffer() { backend.deallocate(data, 0); }
  std::vector<double> values() const {
    std::vector<double> out(count);
    backend.store_host(dtype, data, {out.data(), DType::kF64, {static_cast<int64_t>(count)}, {}});
    return out;
  }
  Backend& backend;
  DType dtype;
  size_t count;
  void* data;
};

TEST(CpuNormReluTest, OnePassMatchesTheDefaultTwoPasses) {
  cpu::CpuBackend cpu(2);
  const int64_t batch = 3, channels = 4, spatial = 10, n = batch * channels * spatial;
  for (DType dt : {DType::kF32, DType::kBF16})
    for (bool batch_statistics : {true, false})
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(testing::Message() << dtype_name(dt) << (batch_statistics ? " batch" : " running")
                                        << (accumulate ? " accumulate" : ""));
        Buffer x(cpu, random(n, 1), dt), dy(cpu, random(n, 2), dt), gamma(cpu, random(channels, 3), DType::kF32),
            beta(cpu, random(channels, 4), DType::kF32), mean(cpu, random(channels, 5), DType::kF32);
        std::vector<double> var_values = random(channels, 6);
        for (double& v : var_values) v = 0.5 + v * v;
        Buffer var(cpu, var_values, DType::kF32);

        Buffer fused_y(cpu, std::vector<double>(n, 7.0), dt), split_y(cpu, std::vector<double>(n, 7.0), dt);
        kernels::batch_norm_apply_relu(cpu, dt, DType::kF32, batch, channels, spatial, 1e-5, x.data, mean.data, var.data,
                                  gamma.data, beta.data, fused_y.data);
        kernels::batch_norm_apply_relu_two_pass(cpu, dt, DType::kF32, batch, channels, spatial, 1e-5, x.data, mean.data,
                                            var.data, gamma.data, beta.data, split_y.data);
        EXPECT_EQ(fused_y.values(), split_y.values());

        const std::vector<double> dx_before = random(n, 8);
        Buffer fused_dx(cpu, dx_before, dt), split_dx(cpu, dx_before, dt), scratch(cpu, std::vector<double>(n), dt);
        Buffer fused_dgamma(cpu, std::vector<double>(channels), DType::kF32),
            fused_dbeta(cpu, std::vector<double>(channels), DType::kF32),
            split_dgamma(cpu, std::vector<double>(channels), DType::kF32),
            split_dbeta(cpu, std::vector<double>(channels), DType::kF32);
        Buffer untouched(cpu, std::vector<double>(n, 7.0), dt);
        kernels::batch_norm_relu_backward(cpu, dt, DType::kF32, batch, channels, spatial, 1e-5, batch_statistics, x.data,
                                     fused_y.data, dy.data, untouched.data, mean.data, var.data, gamma.data,
                                     fused_dx.data, accumulate, fused_dgamma.data, fused_dbeta.data);
        // The one-pass kernel ran (the default writes the ReLU's gradient to the scratch).
        EXPECT_EQ(untouched.values(), std::vector<double>(n, 7.0));
        kernels::batch_norm_relu_backward_two_pass(cpu, dt, DType::kF32, batch, channels, spatial, 1e-5, batch_statistics,
                                               x.data, split_y.data, dy.data, scratch.data, mean.data, var.data,
                                               gamma.data, split_dx.data, accumulate, split_dgamma.data,
                                               split_dbeta.data);
        // dy * relu'(y) is exact in any dtype (a product with 0 or 1), so the
        // two agree to the bit.
        EXPECT_EQ(fused_dx.values(), split_dx.values());
        EXPECT_EQ(fused_dgamma.values(), split_dgamma.values());
        EXPECT_EQ(fused_dbeta.values(), split_dbeta.values());
        // And the ReLU did something: some outputs are zero, some are not.
        int zeros = 0;
        for (double v : fused_y.values()) zeros += v == 0.0;
        EXPECT_GT(zeros, 0);
        EXPECT_LT(zeros, n);
      }
}

// Half storage sums each plane in f32 lanes and forms dx in f32: against the
// same (rounded) values in f64, the statistics and, from the same
// statistics, the parameters' gradients are f32-accurate, and dx is off by no
// more than its own rounding. bf16 on
// the CNN's small planes; f16 on planes of 112 x 112 (far more terms than
// one f32 lane may take exactly) around a mean of 100 (x_hat from a large
// mean and a small spread).
struct HalfNormCase {
  DType dtype;
  int64_t batch, channels, spatial;
  double center, spread;
  int dx_bits;  // the storage's significand bits: dx's rounding
};

class CpuHalfNormTest : public ::testing::TestWithParam<HalfNormCase> {};

TEST_P(CpuHalfNormTest, MatchesF64OnTheSameValues) {
  const HalfNormCase& c = GetParam();
  cpu::CpuBackend cpu(2);
  const int64_t batch = c.batch, channels = c.channels, spatial = c.spatial, n = batch * channels * spatial;
  std::vector<double> x_values = random(n, 11);
  for (double& v : x_values) v = c.center + c.spread * v;
  // Gradients with a mean and a part along x: both terms of dx count.
  std::vector<double> dy_values = random(n, 12);
  for (int64_t i = 0; i < n; ++i) dy_values[i] += 0.5 + 0.3 * (x_values[i] - c.center);
  Buffer x16(cpu, x_values, c.dtype), dy16(cpu, dy_values, c.dtype);
  Buffer x64(cpu, x16.values(), DType::kF64), dy64(cpu, dy16.values(), DType::kF64);
  for (bool accumulate : {false, true}) {
    SCOPED_TRACE(accumulate ? "accumulate" : "overwrite");
    // The statistics against f64's; then the backward of both from the half
    // run's statistics (f32 parameters: their own rounding is not the kernel's).
    const DType param = DType::kF32;
    Buffer mean16(cpu, std::vector<double>(channels), param), var16(cpu, std::vector<double>(channels), param);
    Buffer mean64(cpu, std::vector<double>(channels), DType::kF64), var64(cpu, std::vector<double>(channels), DType::kF64);
    kernels::batch_norm_statistics(cpu, c.dtype, param, batch, channels, spatial, x16.data, mean16.data, var16.data);
    kernels::batch_norm_statistics(cpu, DType::kF64, DType::kF64, batch, channels, spatial, x64.data, mean64.data,
                                   var64.data);
    for (int64_t ch = 0; ch < channels; ++ch) {
      EXPECT_NEAR(mean16.values()[ch], mean64.values()[ch], 2e-6 * std::max(1.0, std::abs(mean64.values()[ch])));
      EXPECT_NEAR(var16.values()[ch], var64.values()[ch], 2e-6 * var64.values()[ch]);
    }
    Buffer mean_given(cpu, mean16.values(), DType::kF64), var_given(cpu, var16.values(), DType::kF64);
    auto backward = [&](DType dt, DType param_dt, Buffer& x, Buffer& dy, Buffer& mean, Buffer& var,
                        const std::vector<double>& dx_before) {
      Buffer gamma(cpu, random(channels, 13), param_dt), dgamma(cpu, std::vector<double>(channels), param_dt),
          dbeta(cpu, std::vector<double>(channels), param_dt), dx(cpu, dx_before, dt);
      kernels::batch_norm_backward(cpu, dt, param_dt, batch, channels, spatial, 1e-5, true, x.data, dy.data, mean.data,
                                   var.data, gamma.data, dx.data, accumulate, dgamma.data, dbeta.data);
      return std::vector<std::vector<double>>{dgamma.values(), dbeta.values(), dx.values()};
    };
    Buffer before(cpu, accumulate ? random(n, 14) : std::vector<double>(n), c.dtype);
    const auto got = backward(c.dtype, param, x16, dy16, mean16, var16, before.values());
    const auto want = backward(DType::kF64, DType::kF64, x64, dy64, mean_given, var_given, before.values());
    const char* names[] = {"dgamma", "dbeta"};
    for (int k = 0; k < 2; ++k)
      for (int64_t ch = 0; ch < channels; ++ch)
        EXPECT_NEAR(got[k][ch], want[k][ch], 2e-6 * std::max(1.0, std::abs(want[k][ch]))) << names[k] << " " << ch;
    double largest = 0;
    for (double v : want[2]) largest = std::max(largest, std::abs(v));
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(got[2][i], want[2][i], std::ldexp(std::abs(want[2][i]), -c.dx_bits) + 1e-5 * largest) << "dx " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(HalfStorage, CpuHalfNormTest,
                         ::testing::Values(HalfNormCase{DType::kBF16, 8, 3, 196, 3.0, 2.0, 8},
                                           HalfNormCase{DType::kF16, 16, 2, 112 * 112, 100.0, 2.0, 11}),
                         [](const auto& info) { return std::string(dtype_name(info.param.dtype)); });

}  // namespace
}  // namespace tk
