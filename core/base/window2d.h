// A 2-D window sliding over [channels, height, width] planes: the geometry
// convolution and pooling share, and the output size it gives.
#pragma once

#include <cstdint>

#include "core/base/error.h"
#include "core/base/shape.h"

namespace tk {

// The output is out_h x out_w.
struct Window2d {
  int64_t channels, height, width;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int64_t out_h, out_w;
};

// A whole batch's convolution: x [batch, channels, height, width] as
// `window` describes one image (all input channels), weight [out_channels,
// channels / groups, kernel_h, kernel_w], y [batch, out_channels, out_h, out_w].
struct Conv2dShape {
  int64_t batch, out_channels, groups;
  Window2d window;
};

// [channels, height, width] -> Window2d, or kShapeMismatch naming `op`.
inline Window2d make_window(const char* op, const Shape& input, int64_t kernel, int64_t stride, int64_t padding,
                            int64_t dilation) {
  if (input.size() != 3)
    fail(ErrorCode::kShapeMismatch, op, " needs an input of shape [channels, height, width], got ",
         shape_to_string(input));
  Window2d w{input[0], input[1], input[2], kernel, kernel, stride, stride, padding, padding, dilation, dilation, 0, 0};
  const int64_t reach = dilation * (kernel - 1) + 1;
  if (input[1] + 2 * padding < reach || input[2] + 2 * padding < reach)
    fail(ErrorCode::kShapeMismatch, op, " window of ", reach, " does not fit the padded input ",
         shape_to_string(input));
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
