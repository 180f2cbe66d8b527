// A per-sample tensor seen around one axis: [outer, extent, inner], where
// outer takes in the batch. Concat and slice move [outer] blocks of
// extent x inner elements between tensors with copy_2d.
#pragma once

#include <cstdint>

#include "core/base/error.h"
#include "core/base/shape.h"

namespace tk {

struct AxisBlocks {
  int64_t outer = 1, extent = 1, inner = 1;
};

// `axis` counts the per-sample axes (negative from the end).
inline int resolve_axis(const char* op, int64_t axis, const Shape& shape) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t resolved = axis < 0 ? axis + rank : axis;
  if (resolved < 0 || resolved >= rank)
    fail(ErrorCode::kInvalidArgument, op, " axis ", axis, " is outside a per-sample shape ", shape_to_string(shape));
  return static_cast<int>(resolved);
}

inline AxisBlocks axis_blocks(int64_t batch, const Shape& shape, int axis) {
  AxisBlocks b;
  b.outer = batch;
  for (int d = 0; d < axis; ++d) b.outer *= shape[d];
  b.extent = shape[axis];
  for (size_t d = axis + 1; d < shape.size(); ++d) b.inner *= shape[d];
  return b;
}

}  // namespace tk
