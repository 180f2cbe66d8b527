// Element types a tensor can hold. f64 exists for gradient checks; f16/bf16 are
// storage types for mixed precision.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tk {

// Values mirror tk_dtype in capi/trainkit.h.
enum class DType : int32_t {
  kF32 = 0,
  kF64 = 1,
  kF16 = 2,
  kBF16 = 3,
  kI32 = 4,
  kU8 = 5,
};

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
bool dtype_is_valid(int32_t value);
bool dtype_is_float(DType dtype);

}  // namespace tk
