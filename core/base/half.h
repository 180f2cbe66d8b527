// 16-bit floating-point storage types. Arithmetic happens in float: values are
// widened on load and rounded to nearest-even on store.
// - Half: IEEE binary16 through the compiler's _Float16 (F16C instructions
//   where the CPU has them), so Inf, NaN, subnormals and overflow follow IEEE.
// - BFloat16: the top half of a binary32, rounded to nearest-even by hand.
#pragma once

#include <cstdint>
#include <cstring>

namespace tk {

constexpr double kF16Max = 65504.0;  // the largest finite binary16

struct Half {
  uint16_t bits;
};

struct BFloat16 {
  uint16_t bits;
};

inline float half_to_float(Half h) {
  _Float16 value;
  std::memcpy(&value, &h.bits, 2);
  return static_cast<float>(value);
}

inline Half float_to_half(float f) {
  _Float16 value = static_cast<_Float16>(f);
  Half h;
  std::memcpy(&h.bits, &value, 2);
  return h;
}

inline float bfloat16_to_float(BFloat16 b) {
  uint32_t bits = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline BFloat16 float_to_bfloat16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return {static_cast<uint16_t>((bits >> 16) | 0x0040u)};  // quiet NaN
  bits += 0x7FFFu + ((bits >> 16) & 1u);  // round to nearest, ties to even; overflow carries into Inf
  return {static_cast<uint16_t>(bits >> 16)};
}

// Storage type -> the type its arithmetic runs in, and the conversions.
template <typename S>
struct StorageTraits {
  using Compute = S;
  static Compute load(S v) { return v; }
  static S store(Compute v) { return v; }
};

template <>
struct StorageTraits<Half> {
  using Compute = float;
  static float load(Half v) { return half_to_float(v); }
  static Half store(float v) { return float_to_half(v); }
};

template <>
struct StorageTraits<BFloat16> {
  using Compute = float;
  static float load(BFloat16 v) { return bfloat16_to_float(v); }
  static BFloat16 store(float v) { return float_to_bfloat16(v); }
};

template <typename S>
using compute_t = typename StorageTraits<S>::Compute;

template <typename S>
inline compute_t<S> load(S v) { return StorageTraits<S>::load(v); }

template <typename S>
inline S store(compute_t<S> v) { return StorageTraits<S>::store(v); }

}  // namespace tk
