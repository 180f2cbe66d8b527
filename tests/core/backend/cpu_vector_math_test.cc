// The vectorizable f32 exp, tanh and erf against the f64 libm functions over
// their whole useful range, with NaN, infinities and the limits of overflow.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "core/backend/cpu/vector_math.h"

namespace tk::cpu {
namespace {

// Every 97th float bit pattern between -limit and limit (about 1.6e7 values), plus the edges.
std::vector<float> samples(float limit) {
  std::vector<float> xs;
  const float inf = std::numeric_limits<float>::infinity();
  for (float x = 0; x <= limit; x = std::nextafter(x, inf)) {
    xs.push_back(x);
    xs.push_back(-x);
    for (int skip = 0; skip < 96 && x <= limit; ++skip) x = std::nextafter(x, inf);
  }
  xs.push_back(limit);
  xs.push_back(-limit);
  return xs;
}

double relative(double got, double want) {
  return got == want ? 0 : std::abs(got - want) / std::max(std::abs(want), 1e-300);
}

TEST(VectorMathTest, ExpIsWithin3e7RelativeWhereAFloatHoldsIt) {
  double worst = 0;
  for (float x : samples(88.7f)) {
    const double want = std::exp(static_cast<double>(x));
    if (want < 1.1754944e-38) continue;  // subnormal results keep fewer digits
    worst = std::max(worst, relative(vector_math::exp(x), want));
  }
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(vector_math::exp(0.0f), 1.0f);
  EXPECT_EQ(vector_math::exp(89.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(vector_math::exp(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  EXPECT_EQ(vector_math::exp(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(vector_math::exp(-200.0f), 0.0f);
  EXPECT_GT(vector_math::exp(-100.0f), 0.0f);  // a subnormal, not flushed
  EXPECT_TRUE(std::isnan(vector_math::exp(std::nanf(""))));
}

TEST(VectorMathTest, TanhIsWithin3e7Relative) {
  double worst = 0;
  for (float x : samples(20.0f)) worst = std::max(worst, relative(vector_math::tanh(x), std::tanh(static_cast<double>(x))));
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(vector_math::tanh(1e-30f), 1e-30f);
  EXPECT_EQ(vector_math::tanh(-0.0f), -0.0f);
  EXPECT_TRUE(std::signbit(vector_math::tanh(-0.0f)));
  EXPECT_EQ(vector_math::tanh(std::numeric_limits<float>::infinity()), 1.0f);
  EXPECT_EQ(vector_math::tanh(-std::numeric_limits<float>::infinity()), -1.0f);
  EXPECT_TRUE(std::isnan(vector_math::tanh(std::nanf(""))));
}

TEST(VectorMathTest, ErfIsWithin3e7Absolute) {
  double worst = 0;
  for (float x : samples(10.0f))
    worst = std::max(worst, std::abs(vector_math::erf(x) - std::erf(static_cast<double>(x))));
  EXPECT_LT(worst, 3e-7);
  EXPECT_EQ(vector_math::erf(std::numeric_limits<float>::infinity()), 1.0f);
  EXPECT_EQ(vector_math::erf(-std::numeric_limits<float>::infinity()), -1.0f);
  EXPECT_TRUE(std::isnan(vector_math::erf(std::nanf(""))));
}

}  // namespace
}  // namespace tk::cpu
