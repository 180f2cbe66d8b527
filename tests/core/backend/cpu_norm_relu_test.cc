// The CPU's one-pass batch norm + ReLU (forward and backward) against the
// Backend's default two passes, which the CUDA backend runs: the same values;
// and bf16 batch norm (f32 arithmetic within a plane) against f64.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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
// same (rounded) values in f64, the statistics and the parameters' gradients
// are f32-accurate and dx is off by no more than its own rounding to bf16.
TEST(CpuNormReluTest, Bf16BatchNormMatchesF64OnTheSameValues) {
  cpu::CpuBackend cpu(2);
  const int64_t batch = 8, channels = 3, spatial = 196, n = batch * channels * spatial;
  std::vector<double> x_values = random(n, 11);
  for (double& v : x_values) v = 3 + 2 * v;  // a mean well away from 0
  // Gradients with a mean and a part along x: both terms of dx count.
  std::vector<double> dy_values = random(n, 12);
  for (int64_t i = 0; i < n; ++i) dy_values[i] += 0.5 + 0.3 * x_values[i];
  Buffer x16(cpu, x_values, DType::kBF16), dy16(cpu, dy_values, DType::kBF16);
  Buffer x64(cpu, x16.values(), DType::kF64), dy64(cpu, dy16.values(), DType::kF64);
  for (bool accumulate : {false, true}) {
    SCOPED_TRACE(accumulate ? "accumulate" : "overwrite");
    auto run = [&](DType dt, Buffer& x, Buffer& dy, const std::vector<double>& dx_before) {
      Buffer mean(cpu, std::vector<double>(channels), dt == DType::kF64 ? DType::kF64 : DType::kF32),
          var(cpu, std::vector<double>(channels), mean.dtype), gamma(cpu, random(channels, 13), mean.dtype),
          dgamma(cpu, std::vector<double>(channels), mean.dtype), dbeta(cpu, std::vector<double>(channels), mean.dtype),
          dx(cpu, dx_before, dt);
      kernels::batch_norm_statistics(cpu, dt, mean.dtype, batch, channels, spatial, x.data, mean.data, var.data);
      kernels::batch_norm_backward(cpu, dt, mean.dtype, batch, channels, spatial, 1e-5, true, x.data, dy.data, mean.data,
                                   var.data, gamma.data, dx.data, accumulate, dgamma.data, dbeta.data);
      return std::vector<std::vector<double>>{mean.values(), var.values(), dgamma.values(), dbeta.values(), dx.values()};
    };
    Buffer before(cpu, accumulate ? random(n, 14) : std::vector<double>(n), DType::kBF16);
    const auto got = run(DType::kBF16, x16, dy16, before.values());
    const auto want = run(DType::kF64, x64, dy64, before.values());
    const char* names[] = {"mean", "variance", "dgamma", "dbeta"};
    for (int k = 0; k < 4; ++k)
      for (int64_t c = 0; c < channels; ++c)
        EXPECT_NEAR(got[k][c], want[k][c], 2e-6 * std::max(1.0, std::abs(want[k][c]))) << names[k] << " " << c;
    double largest = 0;
    for (double v : want[4]) largest = std::max(largest, std::abs(v));
    for (int64_t i = 0; i < n; ++i)
      ASSERT_NEAR(got[4][i], want[4][i], std::ldexp(std::abs(want[4][i]), -8) + 1e-5 * largest) << "dx " << i;
  }
}

}  // namespace
}  // namespace tk
