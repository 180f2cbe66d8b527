#include "core/base/shape.h"

#include <limits>

#include "core/base/error.h"

namespace tk {

int64_t shape_numel(const Shape& shape) {
  int64_t count = 1;
  for (int64_t extent : shape) {
    if (extent < 0) fail(ErrorCode::kInvalidArgument, "negative extent in shape ", shape_to_string(shape));
    if (extent != 0 && count > std::numeric_limits<int64_t>::max() / extent)
      fail(ErrorCode::kInvalidArgument, "shape ", shape_to_string(shape), " has too many elements");
    count *= extent;
  }
  return count;
}

int64_t checked_size(int64_t a, int64_t b, const char* what) {
  int64_t product = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &product) || product > kMaxBytes)
    fail(ErrorCode::kOutOfMemory, what, " needs more than 2^56 bytes (", a, " x ", b, ")");
  return product;
}

std::string shape_to_string(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

}  // namespace tk
