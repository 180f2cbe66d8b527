#include "core/amp/precision.h"

#include <array>

#include "core/base/error.h"

namespace tk {
PrecisionPolicy make_precision_policy(Precision precision, DType master) {
  switch (precision) {
    case Precision::kFp32: return {master, master};
    case Precision::kFp16:
    case Precision::kBf16:
      if (master != DType::kF32)
        fail(ErrorCode::kInvalidArgument, "mixed precision keeps f32 master weights; the compute dtype must be f32, not ",
             dtype_name(master));
      return {DType::kF32, precision == Precision::kFp16 ? DType::kF16 : DType::kBF16};
  }
  fail(ErrorCode::kInvalidArgument, "unknown precision ", static_cast<int>(precision));
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return "fp32";
    case Precision::kFp16: return "fp16";
    case Precision::kBf16: return "bf16";
  }
  return "unknown";
}

}  // namespace tk
