// The CPU kernels that reduce (sums, batch and layer norm gradients, bias
// gradients) give the same bits whatever the thread count, so a run repeats
// exactly on another machine.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/rng.h"
#include "core/kernels/reduce_kernels.h"
#include "core/ops/norm/norm_kernels.h"

namespace tk {
namespace {

std::vector<float> random(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>(2 * rng.uniform() - 1);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(CpuThreadsTest, ReductionsGiveTheSameBitsForOneAndFourThreads) {
  cpu::CpuBackend one(1), four(4);
  const int64_t rows = 97, cols = 300;
  const std::vector<float> x = random(rows * cols, 1), dy = random(rows * cols, 2), gamma = random(cols, 3);
  struct Out {
    std::vector<float> dx, dgamma, dbeta, column_sums;
    double sum;
  };
  auto run = [&](cpu::CpuBackend& b) {
    Out o{random(rows * cols, 4), std::vector<float>(cols), std::vector<float>(cols), std::vector<float>(cols), 0};
    kernels::layer_norm_backward(b, DType::kF32, DType::kF32, rows, cols, 1e-5, x.data(), dy.data(), gamma.data(), o.dx.data(),
                          true, o.dgamma.data(), o.dbeta.data());
    kernels::column_sum(b, DType::kF32, DType::kF32, rows, cols, dy.data(), o.column_sums.data(), false);
    o.sum = kernels::sum(b, DType::kF32, rows * cols, x.data());
    return o;
  };
  const Out a = run(one), b = run(four);
  EXPECT_TRUE(same_bits(a.dx, b.dx)) << "layer norm dx";
  EXPECT_TRUE(same_bits(a.dgamma, b.dgamma)) << "layer norm dgamma";
  EXPECT_TRUE(same_bits(a.dbeta, b.dbeta)) << "layer norm dbeta";
  EXPECT_TRUE(same_bits(a.column_sums, b.column_sums)) << "column sums";
  EXPECT_EQ(a.sum, b.sum);
}

}  // namespace
}  // namespace tk
