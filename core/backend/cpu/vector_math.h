// exp, tanh and erf in f32 as branch-free arithmetic, so that a loop calling
// them vectorizes (libm's are scalar calls, the larger part of a GELU or
// softmax pass). Accuracy, measured against the f64 functions in
// tests/core/backend/cpu_vector_math_test.cc: exp and tanh within 3e-7
// relative, erf within 3e-7 absolute (Abramowitz and Stegun 7.1.26); NaN
// passes, and infinities and overflow behave as libm's. Comparisons and
// selects rather than fmin/fmax, which the compiler does not vectorize.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/base/half.h"

namespace tk::cpu::vector_math {

#define TK_VECTOR_INLINE inline __attribute__((always_inline))

// 2^n for an integer-valued float n in [-126, 127], from its exponent bits.
TK_VECTOR_INLINE float exp2_integer(float n) {
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float result;
  std::memcpy(&result, &bits, sizeof result);
  return result;
}

// e^x: x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor polynomial to r^7
// (truncation below 1e-8 relative), and 2^n applied as two halves so that
// results down to the subnormals and up to FLT_MAX need no special case.
TK_VECTOR_INLINE float exp(float x) {
  const float clamped = !(x >= -104.0f) ? -104.0f : x > 89.0f ? 89.0f : x;  // NaN: -104, then put back
  const float n = std::floor(clamped * 1.44269504088896341f + 0.5f);
  const float r = (clamped - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float half = std::floor(n * 0.5f);
  const float result = p * exp2_integer(half) * exp2_integer(n - half);
  return x != x ? x : result;  // NaN stays NaN (the clamp would lose it)
}

// tanh: its Taylor series to x^11 below 0.3 (no cancellation where tanh x ~ x),
// 1 - 2 / (e^2|x| + 1) above, saturating to +-1 from 10 on.
TK_VECTOR_INLINE float tanh(float x) {
  const float a = std::fabs(x);
  const float x2 = x * x;
  float series = -1382.0f / 155925;
  series = series * x2 + 62.0f / 2835;
  series = series * x2 - 17.0f / 315;
  series = series * x2 + 2.0f / 15;
  series = series * x2 - 1.0f / 3;
  series = x * (1.0f + x2 * series);  // a product keeps -0's sign
  const float e = exp(2.0f * (a < 10.0f ? a : 10.0f));
  // 1 - 2 / (e + 1) rather than (e - 1) / (e + 1): near 1 it is within an
  // ulp, so 1 + tanh (GELU's tail) keeps its digits.
  const float large = std::copysign(1.0f - 2.0f / (e + 1.0f), x);
  return x != x ? x : a < 0.3f ? series : large;
}

// erf: its Taylor series to x^17 below 0.8 (where 7.1.26 would subtract
// nearly equal numbers), else Abramowitz and Stegun 7.1.26: 1 - t P(t) e^-x^2
// with t = 1 / (1 + p|x|).
TK_VECTOR_INLINE float erf(float x) {
  const float a = std::fabs(x);
  const float x2 = x * x;
  float series = 1.0f / 685440;
  series = series * x2 - 1.0f / 75600;
  series = series * x2 + 1.0f / 9360;
  series = series * x2 - 1.0f / 1320;
  series = series * x2 + 1.0f / 216;
  series = series * x2 - 1.0f / 42;
  series = series * x2 + 1.0f / 10;
  series = series * x2 - 1.0f / 3;
  series = 1.12837916709551257f * x * (1.0f + x2 * series);
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float y = 1.0f - p * t * exp(-a * a);
  return x != x ? x : a < 0.8f ? series : std::copysign(y, x);
}

// What a kernel templated on its compute type calls: the forms above in
// f32, libm's in f64 (gradient checks).
TK_VECTOR_INLINE float exp_of(float x) { return exp(x); }
TK_VECTOR_INLINE double exp_of(double x) { return std::exp(x); }
TK_VECTOR_INLINE float tanh_of(float x) { return tanh(x); }
TK_VECTOR_INLINE double tanh_of(double x) { return std::tanh(x); }
TK_VECTOR_INLINE float erf_of(float x) { return erf(x); }
TK_VECTOR_INLINE double erf_of(double x) { return std::erf(x); }

// sum over c < n of exp(x[c] - shift), x of storage S read as T: eight
// interleaved partial sums (SIMD lanes), added in a fixed order at the end,
// so the result depends on n alone, not on the machine or the threads.
template <typename T, typename S>
TK_VECTOR_INLINE T sum_exp(const S* x, int64_t n, T shift) {
  constexpr int kLanes = 8;
  T partial[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int lane = 0; lane < kLanes; ++lane) partial[lane] += exp_of(static_cast<T>(load(x[c + lane])) - shift);
  for (int lane = 0; c < n; ++c, ++lane) partial[lane] += exp_of(static_cast<T>(load(x[c])) - shift);
  T total = 0;
  for (int lane = 0; lane < kLanes; ++lane) total += partial[lane];
  return total;
}

#undef TK_VECTOR_INLINE

}  // namespace tk::cpu::vector_math
