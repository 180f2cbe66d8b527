// The CPU backend's matrix products against a naive f64 product, for every
// transpose, with and without beta, including the one-row shapes that run as
// matrix-vector products.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/backend/cpu/cpu_backend.h"
#include "core/base/rng.h"

namespace tk {
namespace {

struct Case {
  int64_t m, n, k;
};

TEST(CpuGemmTest, EveryTransposeAndShapeMatchesANaiveProduct) {
  cpu::CpuBackend backend(1);
  Rng rng(7);
  for (const Case& c : {Case{1, 7, 5}, Case{1, 1, 9}, Case{3, 4, 6}, Case{1, 300, 200}, Case{5, 1, 3}}) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        for (double beta : {0.0, 0.5}) {
          std::vector<float> a(c.m * c.k), b(c.k * c.n), out(c.m * c.n);
          for (float& v : a) v = static_cast<float>(rng.uniform() - 0.5);
          for (float& v : b) v = static_cast<float>(rng.uniform() - 0.5);
          for (float& v : out) v = static_cast<float>(rng.uniform() - 0.5);
          std::vector<double> expected(out.begin(), out.end());
          for (int64_t i = 0; i < c.m; ++i)
            for (int64_t j = 0; j < c.n; ++j) {
              double sum = 0;
              for (int64_t l = 0; l < c.k; ++l)
                sum += double{ta ? a[l * c.m + i] : a[i * c.k + l]} * double{tb ? b[j * c.k + l] : b[l * c.n + j]};
              expected[i * c.n + j] = 1.5 * sum + beta * expected[i * c.n + j];
            }
          backend.gemm(DType::kF32, DType::kF32, DType::kF32, ta, tb, c.m, c.n, c.k, 1.5, a.data(), b.data(), beta,
                       out.data());
          for (size_t i = 0; i < out.size(); ++i)
            ASSERT_NEAR(out[i], expected[i], 1e-4) << "m " << c.m << " n " << c.n << " k " << c.k << " ta " << ta
                                                   << " tb " << tb << " beta " << beta << " at " << i;
        }
      }
    }
  }
}

TEST(CpuGemmTest, F64OneRowProductsMatchToRounding) {
  cpu::CpuBackend backend(1);
  std::vector<double> a = {1, 2, 3}, b = {1, 0, 2, 1, 3, -1}, out(2, 0.0);  // a [1,3], b [3,2]
  backend.gemm(DType::kF64, DType::kF64, DType::kF64, false, false, 1, 2, 3, 1.0, a.data(), b.data(), 0.0,
               out.data());
  EXPECT_DOUBLE_EQ(out[0], 1 * 1 + 2 * 2 + 3 * 3);
  EXPECT_DOUBLE_EQ(out[1], 1 * 0 + 2 * 1 + 3 * -1);
}

}  // namespace
}  // namespace tk
