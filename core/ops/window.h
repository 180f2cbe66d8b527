// Shared by the convolution and pooling ops: the output size of a sliding
// window and the Window2d the backend kernels take.
#pragma once

#include "core/backend/backend.h"
#include "core/base/error.h"

namespace tk {

// [channels, height, width] -> Window2d, or kShapeMismatch naming `op`.
inline Window2d make_window(const char* op, const Shape& input, int64_t kernel, int64_t stride, int64_t padding,
                            int64_t dilation) {
  if (input.size() != 3)
    fail(ErrorCode::kShapeMismatch, op, " needs an input of shape [channels, height, width], got ", shape_to_string(input));
  Window2d w{input[0], input[1], input[2], kernel, kernel, stride, stride, padding, padding, dilation, dilation, 0, 0};
  const int64_t reach = dilation * (kernel - 1) + 1;
  if (input[1] + 2 * padding < reach || input[2] + 2 * padding < reach)
    fail(ErrorCode::kShapeMismatch, op, " window of ", reach, " does not fit the padded input ", shape_to_string(input));
  w.out_h = (input[1] + 2 * padding - reach) / stride + 1;
  w.out_w = (input[2] + 2 * padding - reach) / stride + 1;
  return w;
}

inline void check_window_arguments(const char* op, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  if (kernel < 1 || stride < 1 || padding < 0 || dilation < 1 || kernel > 4096 || stride > 4096 || padding > 4096 ||
      dilation > 4096)
    fail(ErrorCode::kInvalidArgument, op, " needs kernel, stride, dilation >= 1 and padding >= 0 (at most 4096); got ",
         kernel, ", ", stride, ", ", dilation, ", ", padding);
}

}  // namespace tk
